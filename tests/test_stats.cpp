// Latency statistics against values computed by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "tools/bench/stats.h"

TEST(Stats, PercentilesInterpolateBetweenRanks) {
  // sorted: 1 2 3 4 10; p50 = 3; p90 at rank 3.6 = 4 + 0.6*6 = 7.6
  std::vector<double> v = {10, 1, 3, 2, 4};
  auto s = vedge::summarize(v);
  EXPECT_EQ(s.n, 5);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_DOUBLE_EQ(s.p50, 3.0);
  EXPECT_NEAR(s.p90, 7.6, 1e-12);
  EXPECT_NEAR(s.p95, 8.8, 1e-12);  // rank 3.8
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  // sample std: sum of squares of deviations = 9+1+4+0+36 = 50 -> sqrt(50/4)
  EXPECT_NEAR(s.std, std::sqrt(12.5), 1e-12);
}

TEST(Stats, EmptyAndSingle) {
  EXPECT_EQ(vedge::summarize({}).n, 0);
  auto s = vedge::summarize({2.5});
  EXPECT_DOUBLE_EQ(s.p99, 2.5);
  EXPECT_DOUBLE_EQ(s.std, 0.0);
}

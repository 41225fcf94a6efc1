// Arena planner: live buffers never overlap, dead ones are reused, and the
// plan is aligned. Checked by brute force over random lifetimes.
#include <gtest/gtest.h>

#include <random>

#include "runtime/planner.h"

using vedge::BufferRequest;
using vedge::plan_arena;

TEST(Planner, ChainReusesMemory) {
  // a -> b -> c -> d, each read only by the next step: two slots suffice.
  std::vector<BufferRequest> r = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  auto p = plan_arena(r, 64);
  EXPECT_EQ(p.total, 2u * 1024u);
  EXPECT_NE(p.offsets[0], p.offsets[1]);
  EXPECT_EQ(p.offsets[0], p.offsets[2]);
}

TEST(Planner, RandomLifetimesNeverOverlapWhileAlive) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferRequest> r(1 + rng() % 40);
    for (auto& b : r) {
      b.first = static_cast<int>(rng() % 30) - 1;
      b.last = b.first + static_cast<int>(rng() % 10);
      b.bytes = 1 + rng() % 5000;
    }
    auto p = plan_arena(r, 64);
    size_t sum = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      EXPECT_EQ(p.offsets[i] % 64, 0u);
      EXPECT_LE(p.offsets[i] + r[i].bytes, p.total);
      sum += (r[i].bytes + 63) / 64 * 64;
      for (size_t j = i + 1; j < r.size(); ++j) {
        bool live_together = r[i].first <= r[j].last && r[j].first <= r[i].last;
        bool bytes_overlap = p.offsets[i] < p.offsets[j] + r[j].bytes &&
                             p.offsets[j] < p.offsets[i] + r[i].bytes;
        EXPECT_FALSE(live_together && bytes_overlap) << "trial " << trial << " buffers " << i
                                                     << "," << j;
      }
    }
    EXPECT_LE(p.total, sum);
  }
}

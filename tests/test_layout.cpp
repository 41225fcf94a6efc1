// Stride arithmetic behind zero-copy Reshape/Transpose views, checked
// against an explicit element-by-element reshape.
#include <gtest/gtest.h>

#include <random>

#include "runtime/kernel.h"
#include "runtime/layout.h"

using namespace vedge;

namespace {
// Offset of the i-th element (row-major logical order) of a strided tensor.
int64_t offset_of(const Shape& s, const std::vector<int64_t>& st, int64_t i) {
  int64_t off = 0;
  for (size_t d = s.size(); d-- > 0;) {
    off += (i % s[d]) * st[d];
    i /= s[d];
  }
  return off;
}
}  // namespace

TEST(Layout, SsdHeadChainOnNhwcIsAView) {
  // NCHW [1, A*K, H, W] stored NHWC -> view [1, A, K, H, W] -> permute
  // (0,3,4,1,2) gives [1, H, W, A, K] which must be plain.
  const int64_t A = 6, K = 4, H = 5, W = 3;
  Shape s0 = {1, A * K, H, W};
  std::vector<int64_t> st;
  ASSERT_TRUE(view_strides(s0, nhwc_strides(s0), {1, A, K, H, W}, &st));
  std::vector<int64_t> perm = {0, 3, 4, 1, 2}, pst(5);
  Shape s2(5);
  Shape s1 = {1, A, K, H, W};
  for (int d = 0; d < 5; ++d) pst[d] = st[perm[d]], s2[d] = s1[perm[d]];
  EXPECT_TRUE(same_strides(s2, pst, plain_strides(s2)));
}

TEST(Layout, FlattenOfPlainIsPlain) {
  std::vector<int64_t> st;
  ASSERT_TRUE(view_strides({2, 3, 4}, plain_strides({2, 3, 4}), {6, 4}, &st));
  EXPECT_EQ(st, plain_strides({6, 4}));
}

TEST(Layout, NhwcFlattenOfSpatialIsNotAView) {
  std::vector<int64_t> st;
  Shape s = {1, 8, 2, 2};
  EXPECT_FALSE(view_strides(s, nhwc_strides(s), {1, 32}, &st));
  // ...but with 1x1 spatial it is.
  Shape s1 = {1, 8, 1, 1};
  EXPECT_TRUE(view_strides(s1, nhwc_strides(s1), {1, 8}, &st));
}

TEST(Layout, RandomViewsMatchElementwiseReshape) {
  std::mt19937 rng(3);
  int views = 0;
  for (int trial = 0; trial < 500; ++trial) {
    // A random permuted layout of a random shape, then a random regrouping.
    int rank = 1 + static_cast<int>(rng() % 4);
    Shape s(rank);
    for (auto& d : s) d = 1 + rng() % 4;
    std::vector<size_t> order(rank);
    for (int i = 0; i < rank; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<int64_t> st(rank);
    int64_t acc = 1;
    for (int k = rank; k-- > 0;) st[order[k]] = acc, acc *= s[order[k]];
    int64_t n = numel(s);
    Shape ns;
    int64_t left = n;
    while (left > 1) {
      int64_t f = 1 + rng() % left;
      while (left % f) --f;
      ns.push_back(f);
      left /= f;
    }
    if (ns.empty() || rng() % 3 == 0) ns.push_back(1);
    std::vector<int64_t> nst;
    if (!view_strides(s, st, ns, &nst)) continue;
    ++views;
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(offset_of(ns, nst, i), offset_of(s, st, i)) << "trial " << trial;
  }
  EXPECT_GT(views, 100);
}

TEST(Layout, Dense) {
  Shape s = {1, 8, 2, 2};
  EXPECT_TRUE(is_dense(s, nhwc_strides(s)));
  EXPECT_TRUE(is_dense(s, plain_strides(s)));
  EXPECT_FALSE(is_dense({4, 4}, {8, 1}));  // a padded row
}

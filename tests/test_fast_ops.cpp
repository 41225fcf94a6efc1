// test_fast_ops.cpp: every fast kernel (make_fast_kernel) against its
// reference kernel (make_ref_kernel) through tests/kernel_harness.h, on many
// seeded random shapes, strides, pads, dilations, groups and layouts, with 1
// and 2 threads. Also the configs for which the fast family must defer to
// the reference (nullptr) and the ones it must reject with a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernel_harness.h"
#include "runtime/error.h"
#include "runtime/kernel.h"

namespace vedge {
namespace {

using harness::Layout;
using harness::OpCase;
using Ints = std::vector<int64_t>;

// Checks the case with 1 and 2 threads.
void expect_matches(OpCase c) {
  for (int t : {1, 2}) {
    const harness::Report r = harness::check_fast_against_ref(c.with_threads(t));
    EXPECT_TRUE(r.ok) << r.message;
  }
}

int64_t rnd(std::mt19937& g, int64_t lo, int64_t hi) {  // inclusive
  return std::uniform_int_distribution<int64_t>(lo, hi)(g);
}

// ------------------------------------------------------------------ Conv

struct ConvCfg {
  int64_t n = 1, c = 8, h = 9, w = 9, m = 8, group = 1, kh = 3, kw = 3;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  Ints pads{1, 1, 1, 1};
  bool bias = true;
  std::string act;
  int64_t in_pad = 0, out_pad = 0;  // extra elements per NHWC pixel
};

OpCase conv_case(const ConvCfg& k, uint64_t seed) {
  const int64_t oh = (k.h + k.pads[0] + k.pads[2] - k.dh * (k.kh - 1) - 1) / k.sh + 1;
  const int64_t ow = (k.w + k.pads[1] + k.pads[3] - k.dw * (k.kw - 1) - 1) / k.sw + 1;
  OpCase c("Conv");
  c.attr("strides", Ints{k.sh, k.sw})
      .attr("pads", k.pads)
      .attr("dilations", Ints{k.dh, k.dw})
      .attr("group", k.group);
  if (!k.act.empty()) c.attr("activation", k.act);
  if (k.act == "clip") c.attr("act_min", -0.25f).attr("act_max", 0.5f);
  // Weights scaled like a fan-in initializer so outputs stay O(1).
  const float s = 1.f / std::sqrt(static_cast<float>(k.c / k.group * k.kh * k.kw));
  c.input({k.n, k.c, k.h, k.w}, Layout::nhwc().padded(k.in_pad))
      .constant(harness::random_tensor({k.m, k.c / k.group, k.kh, k.kw}, seed + 7, -s, s));
  if (k.bias) c.constant(harness::random_tensor({k.m}, seed + 11, -0.5f, 0.5f));
  c.output({k.n, k.m, oh, ow}, Layout::nhwc().padded(k.out_pad));
  return c.with_seed(seed);
}

TEST(FastConv, MobileNetBlocks) {
  for (int64_t stride : {1, 2})
    for (int64_t k : {3, 5}) {  // depthwise 3x3 / 5x5 as in MobileNetV3
      ConvCfg d;
      d.c = d.m = d.group = 24;
      d.h = d.w = 17;
      d.kh = d.kw = k;
      d.sh = d.sw = stride;
      d.pads = Ints(4, k / 2);
      d.act = "relu";
      expect_matches(conv_case(d, 1));
      d.act = "hardswish";
      expect_matches(conv_case(d, 2));
    }
  ConvCfg pw;  // 1x1 expansion / projection
  pw.c = 16, pw.m = 72, pw.kh = pw.kw = 1, pw.pads = {0, 0, 0, 0}, pw.h = pw.w = 10;
  expect_matches(conv_case(pw, 3));
  pw.act = "relu6";
  expect_matches(conv_case(pw, 4));
  ConvCfg stem;  // 3 -> 16, 3x3 stride 2, hardswish
  stem.c = 3, stem.m = 16, stem.h = stem.w = 32, stem.sh = stem.sw = 2, stem.act = "hardswish";
  expect_matches(conv_case(stem, 5));
  ConvCfg head;  // SSD head: 3x3 conv, odd map, sigmoid
  head.c = 12, head.m = 6, head.h = 5, head.w = 3, head.act = "sigmoid";
  expect_matches(conv_case(head, 6));
}

TEST(FastConv, ChannelMultiplierAndGroups) {
  ConvCfg m2;  // depthwise with channel multiplier 2
  m2.c = 4, m2.m = 8, m2.group = 4;
  expect_matches(conv_case(m2, 10));
  ConvCfg g;  // grouped, 2 groups of 3 -> 5
  g.c = 6, g.m = 10, g.group = 2, g.h = 7, g.w = 11;
  expect_matches(conv_case(g, 11));
}

TEST(FastConv, PixelStridedViews) {
  ConvCfg k;  // reads and writes channel slices of wider NHWC buffers
  k.in_pad = 5, k.out_pad = 3, k.act = "clip";
  expect_matches(conv_case(k, 20));
  k.c = k.m = k.group = 8, k.act = "hardswish";
  expect_matches(conv_case(k, 21));
}

TEST(FastConv, UnitSpatialTensorsInEitherLayout) {
  ConvCfg k;  // SE block: 1x1 conv on [N,C,1,1], which is plain and NHWC at once
  k.n = 2, k.c = 16, k.m = 4, k.h = k.w = 1, k.kh = k.kw = 1, k.pads = {0, 0, 0, 0}, k.act = "relu";
  OpCase c = conv_case(k, 3);
  c.in[0].layout = Layout::plain();
  expect_matches(c);
  OpCase hs("HardSigmoid");
  hs.input({2, 16, 1, 1}, Layout::plain()).output({2, 16, 1, 1}, Layout::nhwc());
  expect_matches(hs);
}

TEST(FastConv, RandomConfigs) {
  std::mt19937 g(1234);
  const char* acts[] = {"", "relu", "relu6", "clip", "hardswish", "sigmoid"};
  for (int it = 0; it < 120; ++it) {
    ConvCfg k;
    const int kind = static_cast<int>(rnd(g, 0, 2));  // 0 dense, 1 depthwise, 2 grouped
    k.group = kind == 0 ? 1 : kind == 1 ? rnd(g, 1, 12) : rnd(g, 2, 3);
    k.c = kind == 1 ? k.group : k.group * rnd(g, 1, 4);
    k.m = kind == 1 ? k.group * rnd(g, 1, 2) : k.group * rnd(g, 1, 5);
    k.n = rnd(g, 1, 2);
    k.kh = rnd(g, 1, 5), k.kw = rnd(g, 1, 5);
    k.sh = rnd(g, 1, 3), k.sw = rnd(g, 1, 3);
    k.dh = rnd(g, 1, 2), k.dw = rnd(g, 1, 2);
    k.pads = {rnd(g, 0, k.kh - 1), rnd(g, 0, k.kw - 1), rnd(g, 0, k.kh - 1), rnd(g, 0, k.kw - 1)};
    k.h = rnd(g, k.dh * (k.kh - 1) + 1, 14), k.w = rnd(g, k.dw * (k.kw - 1) + 1, 14);
    k.bias = rnd(g, 0, 1) == 1;
    k.act = acts[rnd(g, 0, 5)];
    k.in_pad = rnd(g, 0, 3) == 0 ? rnd(g, 1, 4) : 0;
    k.out_pad = rnd(g, 0, 3) == 0 ? rnd(g, 1, 4) : 0;
    expect_matches(conv_case(k, static_cast<uint64_t>(100 + it)));
  }
}

TEST(FastConv, RejectsPlainLayoutAndMutableWeights) {
  ConvCfg k;
  OpCase plain = conv_case(k, 1);
  plain.in[0].layout = Layout::plain();
  harness::Report r = harness::check_fast_against_ref(plain);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("NHWC"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("Conv_case"), std::string::npos) << r.message;  // names the node

  OpCase runtime_w("Conv");  // weights that are not a constant of the graph
  runtime_w.input({1, 4, 5, 5}, Layout::nhwc()).input({4, 4, 1, 1}).output({1, 4, 5, 5}, Layout::nhwc());
  r = harness::check_fast_against_ref(runtime_w);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("constant"), std::string::npos) << r.message;
}

// ----------------------------------------------------------- activations

TEST(FastUnary, AllOpsLayoutsAndInPlace) {
  struct U {
    const char* op;
    std::vector<std::pair<std::string, float>> attrs;
  };
  const U ops[] = {{"Relu", {}},
                   {"Sigmoid", {}},
                   {"HardSwish", {}},
                   {"HardSigmoid", {}},
                   {"HardSigmoid", {{"alpha", 0.5f}, {"beta", 0.25f}}},
                   {"Clip", {{"min", 0.f}, {"max", 6.f}}},
                   {"Clip", {{"min", -1.5f}}},
                   {"Clip", {{"min", 2.f}, {"max", 1.f}}}};  // min > max: everything becomes max
  const Shape shapes[] = {{1, 16, 7, 5}, {2, 3, 1, 33}, {1, 1, 1, 1}, {1, 40, 20, 20}};
  uint64_t seed = 1;
  for (const U& u : ops)
    for (const Shape& s : shapes)
      for (int variant = 0; variant < 3; ++variant) {
        const Layout l = variant == 0 ? Layout::plain() : Layout::nhwc();
        OpCase c(u.op);
        for (auto& [k, v] : u.attrs) c.attr(k, v);
        c.input(s, l, -7.f, 7.f).output(s, l).with_seed(seed++);
        if (variant == 2) c.inplace();
        expect_matches(c);
      }
  OpCase r3("Relu");  // rank-3, permuted dense layout
  r3.input({4, 5, 6}, Layout::perm({2, 0, 1})).output({4, 5, 6}, Layout::perm({2, 0, 1}));
  expect_matches(r3);
}

TEST(FastUnary, RejectsMismatchedLayouts) {
  OpCase c("Relu");
  c.input({1, 4, 3, 3}, Layout::plain()).output({1, 4, 3, 3}, Layout::nhwc());
  harness::Report r = harness::check_fast_against_ref(c);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("layout"), std::string::npos) << r.message;
  OpCase gap("Sigmoid");  // non-dense view
  gap.input({1, 4, 3, 3}, Layout::nhwc().padded(2)).output({1, 4, 3, 3}, Layout::nhwc().padded(2));
  EXPECT_FALSE(harness::check_fast_against_ref(gap).ok);
}

// ---------------------------------------------------------------- binary

TEST(FastBinary, BroadcastAndLayouts) {
  const char* ops[] = {"Add", "Sub", "Mul", "Div"};
  uint64_t seed = 1;
  for (const char* op : ops) {
    const float lo = std::string(op) == "Div" ? 0.5f : -2.f;  // keep divisors away from 0
    auto make = [&](Shape a, Layout la, Shape b, Layout lb, Shape y, Layout ly) {
      OpCase c(op);
      c.input(std::move(a), std::move(la)).input(std::move(b), std::move(lb), lo, 2.f);
      c.output(std::move(y), std::move(ly)).with_seed(seed++);
      return c;
    };
    const Layout P = Layout::plain(), H = Layout::nhwc();
    // Same shape, NHWC everywhere (residual add).
    expect_matches(make({1, 24, 10, 10}, H, {1, 24, 10, 10}, H, {1, 24, 10, 10}, H));
    // SE block: [N,C,H,W] NHWC * [N,C,1,1] (plain == NHWC for 1x1), both orders.
    expect_matches(make({2, 40, 5, 7}, H, {2, 40, 1, 1}, P, {2, 40, 5, 7}, H));
    expect_matches(make({2, 40, 1, 1}, H, {2, 40, 5, 7}, H, {2, 40, 5, 7}, H));
    // Per-channel constant [C,1,1] against NHWC.
    expect_matches(make({1, 16, 6, 6}, H, {16, 1, 1}, P, {1, 16, 6, 6}, H));
    // Scalars and rank-1.
    expect_matches(make({1, 8, 3, 3}, H, {}, P, {1, 8, 3, 3}, H));
    expect_matches(make({3, 4, 5}, P, {5}, P, {3, 4, 5}, P));
    // Two-sided broadcast, plain.
    expect_matches(make({2, 1, 4}, P, {3, 1}, P, {2, 3, 4}, P));
    // Mixed layouts (NHWC with plain, full shape): the strided loop.
    expect_matches(make({1, 6, 4, 5}, H, {1, 6, 4, 5}, P, {1, 6, 4, 5}, H));
    expect_matches(make({1, 6, 4, 5}, H, {1, 6, 4, 5}, P, {1, 6, 4, 5}, P));
    // Non-dense inputs (padded pixel stride, permuted + padded).
    expect_matches(make({1, 6, 4, 5}, H.padded(3), {1, 6, 4, 5}, H, {1, 6, 4, 5}, H));
    expect_matches(make({2, 3, 4}, Layout::perm({1, 2, 0}).padded(1), {3, 1}, P, {2, 3, 4}, P));
    // Broadcast input against NHWC output along W only.
    expect_matches(make({1, 5, 4, 6}, H, {6}, P, {1, 5, 4, 6}, H));
    // Large enough to be split across threads.
    expect_matches(make({1, 64, 40, 40}, H, {1, 64, 1, 1}, P, {1, 64, 40, 40}, H));
    expect_matches(make({1, 64, 40, 40}, H, {1, 64, 40, 40}, P, {1, 64, 40, 40}, H));
    // In place on input 0.
    OpCase ip = make({1, 12, 5, 5}, H, {1, 12, 1, 1}, P, {1, 12, 5, 5}, H);
    expect_matches(ip.inplace());
  }
}

TEST(FastBinary, RandomBroadcasts) {
  std::mt19937 g(99);
  for (int it = 0; it < 60; ++it) {
    const int64_t r = rnd(g, 1, 5);
    Shape y(static_cast<size_t>(r)), a, b;
    for (auto& d : y) d = rnd(g, 1, 6);
    for (int64_t d = 0; d < r; ++d) {
      a.push_back(rnd(g, 0, 2) == 0 ? 1 : y[d]);
      b.push_back(rnd(g, 0, 2) == 0 ? 1 : y[d]);
    }
    const int64_t dropped = rnd(g, 0, r - 1);  // b loses leading dims (numpy broadcasting)
    b.erase(b.begin(), b.begin() + dropped);
    for (int64_t k = 0; k < r; ++k) y[k] = k < dropped ? a[k] : std::max(a[k], b[k - dropped]);
    auto layout_of = [&](const Shape& s) {
      if (s.size() == 4 && rnd(g, 0, 1)) return Layout::nhwc();
      std::vector<int> o(s.size());
      for (size_t i = 0; i < o.size(); ++i) o[i] = static_cast<int>(i);
      std::shuffle(o.begin(), o.end(), g);
      return Layout::perm(o).padded(rnd(g, 0, 2) == 0 ? 1 : 0);
    };
    const Layout ly = y.size() == 4 && rnd(g, 0, 1) ? Layout::nhwc() : Layout::plain();
    OpCase c(it % 2 ? "Mul" : "Sub");
    c.input(a, layout_of(a)).input(b, layout_of(b)).output(y, ly).with_seed(static_cast<uint64_t>(it));
    expect_matches(c);
  }
}

// ----------------------------------------------------------------- pools

OpCase pool_case(const std::string& op, Shape x, Ints k, Ints s, Ints p, Ints d, bool ceil, bool include_pad,
                 int64_t in_pad, int64_t out_pad) {
  Shape y = x;
  for (int i = 0; i < 2; ++i) {
    const int64_t span = x[2 + i] + p[i] + p[2 + i] - (d[i] * (k[i] - 1) + 1);
    y[2 + i] = (ceil ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
    if (ceil && (y[2 + i] - 1) * s[i] >= x[2 + i] + p[i]) --y[2 + i];  // last window must start inside
  }
  OpCase c(op);
  c.attr("kernel_shape", k).attr("strides", s).attr("pads", p);
  if (op == "MaxPool") c.attr("dilations", d);
  if (op == "AveragePool") c.attr("count_include_pad", int64_t{include_pad});
  c.input(x, Layout::nhwc().padded(in_pad)).output(y, Layout::nhwc().padded(out_pad));
  return c;
}

TEST(FastPool, MaxAndAverage) {
  const Ints one{1, 1}, two{2, 2}, three{3, 3}, none{0, 0, 0, 0}, pad1{1, 1, 1, 1};
  for (const char* op : {"MaxPool", "AveragePool"}) {
    expect_matches(pool_case(op, {1, 16, 8, 8}, two, two, none, one, false, false, 0, 0));
    expect_matches(pool_case(op, {2, 8, 9, 7}, three, two, pad1, one, false, false, 0, 0));
    expect_matches(pool_case(op, {1, 8, 9, 7}, three, two, pad1, one, true, false, 0, 0));     // ceil_mode
    expect_matches(pool_case(op, {1, 8, 9, 7}, three, two, pad1, one, true, true, 0, 0));      // include pad
    expect_matches(pool_case(op, {1, 5, 6, 6}, one, two, none, one, false, false, 2, 1));      // 1x1 window
    expect_matches(pool_case(op, {1, 5, 10, 10}, two, three, none, one, false, false, 0, 0));  // stride > k
    expect_matches(pool_case(op, {1, 8, 7, 9}, three, one, pad1, one, false, true, 3, 0));
  }
  expect_matches(pool_case("MaxPool", {1, 6, 11, 11}, three, one, pad1, two, false, false, 0, 0));  // dilated
}

TEST(FastPool, RandomConfigs) {
  std::mt19937 g(7);
  for (int it = 0; it < 60; ++it) {
    const std::string op = it % 2 ? "MaxPool" : "AveragePool";
    Ints k{rnd(g, 1, 4), rnd(g, 1, 4)}, s{rnd(g, 1, 3), rnd(g, 1, 3)};
    Ints d = op == "MaxPool" ? Ints{rnd(g, 1, 2), rnd(g, 1, 2)} : Ints{1, 1};
    Ints p{rnd(g, 0, k[0] - 1), rnd(g, 0, k[1] - 1), rnd(g, 0, k[0] - 1), rnd(g, 0, k[1] - 1)};
    Shape x{rnd(g, 1, 2), rnd(g, 1, 20), rnd(g, d[0] * (k[0] - 1) + 1, 15),
            rnd(g, d[1] * (k[1] - 1) + 1, 15)};
    OpCase c = pool_case(op, x, k, s, p, d, rnd(g, 0, 1) == 1, rnd(g, 0, 1) == 1, rnd(g, 0, 1) * 2, 0);
    expect_matches(c.with_seed(static_cast<uint64_t>(it)));
  }
}

TEST(FastPool, GlobalAverage) {
  const Shape shapes[] = {{1, 16, 7, 7}, {2, 96, 10, 10}, {1, 3, 1, 1}, {1, 576, 5, 3}};
  for (const Shape& x : shapes) {
    OpCase c("GlobalAveragePool");
    c.input(x, Layout::nhwc()).output({x[0], x[1], 1, 1}, Layout::nhwc());
    expect_matches(c);
  }
  OpCase strided("GlobalAveragePool");
  strided.input({2, 10, 4, 4}, Layout::nhwc().padded(6)).output({2, 10, 1, 1}, Layout::nhwc().padded(2));
  expect_matches(strided);
}

// ------------------------------------------------------- Gemm, MatMul, Softmax

TEST(FastGemm, FullyConnectedForms) {
  for (int64_t tb : {0, 1})
    for (int c_kind = 0; c_kind < 4; ++c_kind) {  // none, [N], [1,N], scalar
      const int64_t M = 3, K = 37, N = 10;
      OpCase c("Gemm");
      c.attr("transB", tb).attr("alpha", 0.75f).attr("beta", 1.5f);
      c.input({M, K}).constant(harness::random_tensor(tb ? Shape{N, K} : Shape{K, N}, 5));
      if (c_kind == 1) c.constant(harness::random_tensor({N}, 6));
      if (c_kind == 2) c.constant(harness::random_tensor({1, N}, 7));
      if (c_kind == 3) c.constant(harness::random_tensor({}, 8));
      c.output({M, N});
      expect_matches(c);
    }
}

TEST(FastGemm, MatMulWithConstantB) {
  OpCase c("MatMul");
  c.input({2, 3, 16}).constant(harness::random_tensor({16, 5}, 3)).output({2, 3, 5});
  expect_matches(c);
  OpCase v("MatMul");  // 1-D A
  v.input({16}).constant(harness::random_tensor({16, 4}, 4)).output({4});
  expect_matches(v);
}

TEST(FastGemm, DefersToReferenceForOtherForms) {
  OpCase ta("Gemm");
  ta.attr("transA", int64_t{1}).input({4, 3}).constant(harness::random_tensor({4, 5}, 1)).output({3, 5});
  OpCase full_c("Gemm");
  full_c.input({3, 4})
      .constant(harness::random_tensor({4, 5}, 1))
      .constant(harness::random_tensor({3, 5}, 2));
  full_c.output({3, 5});
  OpCase runtime_b("MatMul");
  runtime_b.input({3, 4}).input({4, 5}).output({3, 5});
  for (const OpCase& c : {ta, full_c, runtime_b}) {
    harness::Report r = harness::check_fast_against_ref(c);
    EXPECT_FALSE(r.has_fast) << r.message;
    EXPECT_EQ(r.message.find("threw"), std::string::npos) << r.message;
  }
}

TEST(FastSoftmax, AnyAxis) {
  const std::pair<Shape, int64_t> cases[] = {{{2, 5}, 1},    {{1, 4420, 2}, 2}, {{1, 3234, 91}, 2},
                                             {{3, 4, 2}, 1}, {{7}, 0},          {{2, 91, 130}, 1},
                                             {{4, 6}, 0},    {{1, 1, 1}, 2}};
  uint64_t seed = 1;
  for (const auto& [s, axis] : cases) {
    OpCase c("Softmax");
    c.attr("axis", axis).input(s, {}, -30.f, 30.f).output(s).with_seed(seed++);
    expect_matches(c);
  }
  OpCase extreme("Softmax");  // logits far apart: exp underflows to 0 for all but the max
  extreme.attr("axis", int64_t{1}).input({64, 9}, {}, -500.f, 500.f).output({64, 9});
  expect_matches(extreme);
}

// ---------------------------------------------------------------- Resize

TEST(FastResize, NearestAndLinearModes) {
  struct R {
    const char* mode;
    const char* ctm;
    const char* nearest;
  };
  const R modes[] = {{"nearest", "asymmetric", "floor"},
                     {"nearest", "half_pixel", "round_prefer_floor"},
                     {"nearest", "align_corners", "round_prefer_ceil"},
                     {"nearest", "tf_half_pixel_for_nn", "ceil"},
                     {"linear", "half_pixel", ""},
                     {"linear", "pytorch_half_pixel", ""},
                     {"linear", "align_corners", ""},
                     {"linear", "asymmetric", ""}};
  const std::pair<Shape, Shape> sizes[] = {
      {{1, 8, 5, 5}, {1, 8, 10, 10}}, {{2, 3, 7, 4}, {2, 3, 3, 9}}, {{1, 5, 6, 6}, {1, 5, 1, 13}}};
  uint64_t seed = 1;
  for (const R& m : modes)
    for (const auto& [x, y] : sizes) {
      OpCase c("Resize");
      c.attr("mode", std::string(m.mode)).attr("coordinate_transformation_mode", std::string(m.ctm));
      if (*m.nearest) c.attr("nearest_mode", std::string(m.nearest));
      c.input(x, Layout::nhwc()).output(y, Layout::nhwc().padded(static_cast<int64_t>(seed % 2)));
      c.with_seed(seed++);
      expect_matches(c);
    }
  OpCase scaled("Resize");  // explicit scales that differ from the size ratio
  scaled.attr("mode", std::string("linear")).attr("scale_h", 2.5f).attr("scale_w", 1.75f);
  scaled.input({1, 4, 4, 4}, Layout::nhwc()).output({1, 4, 10, 7}, Layout::nhwc());
  expect_matches(scaled);
}

// ------------------------------------------- Relayout, Concat, Reshape, Transpose

TEST(FastCopy, RelayoutNchwNhwc) {
  const Shape shapes[] = {{1, 3, 320, 320}, {1, 16, 40, 40}, {2, 5, 3, 7}, {1, 1, 4, 4}, {1, 96, 1, 1}};
  for (const Shape& s : shapes) {
    OpCase to_nhwc("Relayout");
    to_nhwc.input(s, Layout::plain()).output(s, Layout::nhwc());
    expect_matches(to_nhwc);
    OpCase to_nchw("Relayout");
    to_nchw.input(s, Layout::nhwc()).output(s, Layout::plain());
    expect_matches(to_nchw);
  }
  OpCase padded("Relayout");  // into a channel slice of a wider NHWC buffer
  padded.input({1, 6, 9, 9}, Layout::plain()).output({1, 6, 9, 9}, Layout::nhwc().padded(10));
  expect_matches(padded);
}

TEST(FastCopy, RelayoutRandomPermutations) {
  std::mt19937 g(5);
  for (int it = 0; it < 40; ++it) {
    const int64_t r = rnd(g, 1, 5);
    Shape s(static_cast<size_t>(r));
    for (auto& d : s) d = rnd(g, 1, 9);
    auto random_layout = [&] {
      std::vector<int> o(static_cast<size_t>(r));
      for (int i = 0; i < r; ++i) o[static_cast<size_t>(i)] = i;
      std::shuffle(o.begin(), o.end(), g);
      return Layout::perm(o).padded(rnd(g, 0, 2) == 0 ? rnd(g, 1, 3) : 0);
    };
    OpCase c("Relayout");
    c.input(s, random_layout()).output(s, random_layout()).with_seed(static_cast<uint64_t>(it));
    expect_matches(c);
  }
}

TEST(FastCopy, ConcatChannelsAndPlain) {
  OpCase nhwc("Concat");  // channel concat of NHWC inputs
  nhwc.attr("axis", int64_t{1});
  nhwc.input({1, 16, 10, 10}, Layout::nhwc())
      .input({1, 24, 10, 10}, Layout::nhwc())
      .input({1, 8, 10, 10}, Layout::nhwc());
  nhwc.output({1, 48, 10, 10}, Layout::nhwc());
  expect_matches(nhwc);
  OpCase heads("Concat");  // SSD heads: [N, A_i, 4] along axis 1, plain
  heads.attr("axis", int64_t{1});
  heads.input({2, 1200, 4}).input({2, 300, 4}).input({2, 75, 4}).output({2, 1575, 4});
  expect_matches(heads);
  OpCase mixed("Concat");  // mixed input layouts into a plain output, axis 2
  mixed.attr("axis", int64_t{2});
  mixed.input({1, 3, 4, 5}, Layout::nhwc())
      .input({1, 3, 2, 5}, Layout::plain())
      .input({1, 3, 3, 5}, Layout::perm({3, 2, 1, 0}));
  mixed.output({1, 3, 9, 5});
  expect_matches(mixed);
  OpCase axis0("Concat");
  axis0.attr("axis", int64_t{0}).input({2, 3}).input({5, 3}).output({7, 3});
  expect_matches(axis0);
  OpCase big("Concat");  // large enough to be split across threads
  big.attr("axis", int64_t{1}).input({1, 64, 40, 40}, Layout::nhwc()).input({1, 64, 40, 40}, Layout::nhwc());
  big.output({1, 128, 40, 40}, Layout::nhwc());
  expect_matches(big);
}

TEST(FastCopy, ReshapeAndTransposeMaterialize) {
  OpCase flat("Reshape");  // NHWC head output flattened in logical (NCHW) order
  flat.attr("shape", Ints{1, 24, 25}).input({1, 24, 5, 5}, Layout::nhwc()).output({1, 24, 25});
  expect_matches(flat);
  OpCase perm("Reshape");
  perm.input({4, 6, 5}, Layout::perm({1, 2, 0}).padded(2)).output({2, 60});
  expect_matches(perm);
  OpCase tr("Transpose");  // the SSD head permute [N,A*4,H,W] -> [N,H,W,A*4]
  tr.attr("perm", Ints{0, 2, 3, 1}).input({1, 24, 5, 5}).output({1, 5, 5, 24});
  expect_matches(tr);
  OpCase tr_nhwc("Transpose");  // from an NHWC view the same permute is a plain copy
  tr_nhwc.attr("perm", Ints{0, 2, 3, 1}).input({1, 24, 5, 5}, Layout::nhwc()).output({1, 5, 5, 24});
  expect_matches(tr_nhwc);
  OpCase rev("Transpose");  // default perm reverses the dims
  rev.input({3, 4, 5}, Layout::perm({2, 0, 1})).output({5, 4, 3});
  expect_matches(rev);
  OpCase big("Transpose");
  big.attr("perm", Ints{0, 2, 3, 1}).input({1, 64, 40, 40}).output({1, 40, 40, 64});
  expect_matches(big);
}

// ------------------------------------------------- the harness checks itself

TEST(KernelHarness, LayoutStrides) {
  EXPECT_EQ(harness::layout_strides({2, 3, 4, 5}, Layout::plain()), (Ints{60, 20, 5, 1}));
  EXPECT_EQ(harness::layout_strides({2, 3, 4, 5}, Layout::nhwc()), nhwc_strides({2, 3, 4, 5}));
  EXPECT_EQ(harness::layout_strides({2, 3, 4, 5}, Layout::nhwc().padded(2)), (Ints{100, 1, 25, 5}));
  EXPECT_EQ(harness::layout_strides({2, 3, 4}, Layout::perm({2, 0, 1})), (Ints{3, 1, 6}));
}

TEST(KernelHarness, ErrorIsNormalizedAndNamesTheWorstElement) {
  const Tensor want = Tensor::from_floats({2, 2}, {1.f, -4.f, 2.f, 0.f});
  const Tensor got = Tensor::from_floats({2, 2}, {1.f, -4.f, 3.f, 0.f});
  std::string worst;
  EXPECT_DOUBLE_EQ(harness::normalized_error(got, want, &worst), 0.25);  // |3-2| / max|want|
  EXPECT_NE(worst.find("[1,0]"), std::string::npos) << worst;
  const Tensor nan = Tensor::from_floats({2, 2}, {1.f, -4.f, std::nanf(""), 0.f});
  EXPECT_TRUE(std::isinf(harness::normalized_error(nan, want, nullptr)));
}

TEST(KernelHarness, DetectsWritesOutsideTheView) {
  harness::ViewBuffer b({1, 2, 2, 2}, Layout::nhwc().padded(1));  // pixel stride 3, one gap per pixel
  b.fill_from(harness::random_tensor({1, 2, 2, 2}, 1));
  EXPECT_EQ(b.touched_gap(), -1);
  b.mem[2] = 0.f;  // the gap after pixel 0
  EXPECT_EQ(b.touched_gap(), 2);
}

TEST(FastRegistry, UnknownOpHasNoFastKernel) {
  Graph g;
  Node n;
  n.name = "x";
  n.op = "NoSuchOp";
  KernelArgs a;
  a.graph = &g;
  a.node = &n;
  EXPECT_EQ(make_fast_kernel(a), nullptr);
}

}  // namespace
}  // namespace vedge

// test_quant_kernels.cpp: every fast integer kernel (runtime/ops/fast_quant*.cpp)
// bit-identical to its reference kernel (runtime/ops/ref_quant.cpp) through
// tests/kernel_harness.h, on seeded random shapes, strides, pads, groups,
// dilations, zero points and scales, with 1 and 2 threads; the scalar
// numerics of runtime/quant_math.h against hand-computed values; the
// configurations the fast QConv must leave to the reference (nullptr); and a
// whole Session (fast vs reference backend) over a small integer graph, which
// exercises the executor's layout table for the integer ops. The VNNI
// pointwise GEMM (runtime/ops/qgemm_vnni.h) against the scalar definition on
// random shapes, on each ISA path the host has (forced through its test
// hook), directly and through the fast QConv.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_harness.h"
#include "runtime/executor.h"
#include "runtime/kernel.h"
#include "runtime/ops/qgemm_vnni.h"
#include "runtime/ops/ref.h"
#include "runtime/quant_math.h"

namespace vedge {
namespace {

using harness::Layout;
using harness::OpCase;
using Ints = std::vector<int64_t>;

QuantParams qp(float scale, int zp) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  return q;
}

// Checks the case bit for bit with 1 and 2 threads.
void expect_identical(OpCase c) {
  c.tolerance(0);
  for (int t : {1, 2}) {
    const harness::Report r = harness::check_fast_against_ref(c.with_threads(t));
    EXPECT_TRUE(r.ok) << r.message;
  }
}

int64_t rnd(std::mt19937& g, int64_t lo, int64_t hi) {  // inclusive
  return std::uniform_int_distribution<int64_t>(lo, hi)(g);
}
float rndf(std::mt19937& g, float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
// Log-uniform in [lo, hi].
float rnd_log(std::mt19937& g, float lo, float hi) { return lo * std::pow(hi / lo, rndf(g, 0.f, 1.f)); }

// ------------------------------------------------------------ quant_math.h

TEST(QuantMath, QuantizeRoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(quantize(2.5f, 1.f, 0), 2);
  EXPECT_EQ(quantize(3.5f, 1.f, 0), 4);
  EXPECT_EQ(quantize(-2.5f, 1.f, 0), -2);
  EXPECT_EQ(quantize(-3.5f, 1.f, 0), -4);
  EXPECT_EQ(quantize(0.49999997f, 1.f, 0), 0);
  EXPECT_EQ(quantize(1.f, 0.4f, 3), 5);  // 1 / 0.4f rounds to 2.5f -> 2, + 3
  EXPECT_EQ(quantize(1000.f, 0.1f, 0), 127);
  EXPECT_EQ(quantize(-1000.f, 0.1f, 0), -128);
  EXPECT_EQ(quantize(std::numeric_limits<float>::infinity(), 1.f, -5), 127);
  EXPECT_EQ(quantize(-std::numeric_limits<float>::infinity(), 1.f, -5), -128);
  EXPECT_EQ(quantize(std::nanf(""), 1.f, 7), -128);
  EXPECT_EQ(quantize(-130.f, 1.f, 10), -120);  // saturation applies after adding the zero point
  EXPECT_EQ(quantize(-140.f, 1.f, 10), -128);
  EXPECT_EQ(quantize_to(300.f, 1.f, 0, 0, 255), 255);
  EXPECT_EQ(quantize_to(-0.5f, 1.f, 128, 0, 255), 128);  // -0.5 -> -0 (even) + 128
  EXPECT_EQ(quantize_to(-1.5f, 1.f, 128, 0, 255), 126);
}

TEST(QuantMath, RequantizeClampsBeforeRounding) {
  EXPECT_EQ(requantize(10.5f, -3, -128, 127), 7);    // 10 + (-3)
  EXPECT_EQ(requantize(11.5f, -3, -128, 127), 9);    // 12 - 3
  EXPECT_EQ(requantize(200.f, -3, -128, 127), 127);  // clamp to 130, + (-3)
  EXPECT_EQ(requantize(-1e9f, 20, -128, 127), -128);
  EXPECT_EQ(requantize(-0.4f, 5, 5, 127), 5);  // relu range [zp, 127]
  EXPECT_EQ(requantize(3.f, 5, 5, 7), 7);      // narrowed range
  EXPECT_EQ(round_half_even_small(-0.5f), 0.f);
  EXPECT_EQ(round_half_even_small(4194303.5f), 4194304.f);
  EXPECT_EQ(dequantize(-128, 0.5f, -100), -14.f);
}

TEST(QuantMath, ActivationRangesAndMultipliers) {
  int lo = 0, hi = 0;
  quant_activation_range(0.f, INFINITY, 0.05f, -20, &lo, &hi);  // relu
  EXPECT_EQ(lo, -20);
  EXPECT_EQ(hi, 127);
  quant_activation_range(0.f, 6.f, 0.1f, -100, &lo, &hi);  // relu6: 6 / 0.1 = 60 (- 100)
  EXPECT_EQ(lo, -100);
  EXPECT_EQ(hi, -40);
  quant_activation_range(-INFINITY, INFINITY, 0.1f, 0, &lo, &hi);
  EXPECT_EQ(lo, -128);
  EXPECT_EQ(hi, 127);
  EXPECT_EQ(qconv_multiplier(0.5f, 0.25f, 0.125f), 1.f);
  const float sx = 0.0123f, sw = 0.00457f, sy = 0.0871f;
  EXPECT_EQ(qconv_multiplier(sx, sw, sy), (sx * sw) / sy);
  EXPECT_EQ(qconv_output(50, 0.25f, 3, -128, 127), 15);    // 12.5 -> 12 (even), + 3
  EXPECT_EQ(qconv_output(-21, 0.5f, 3, -128, 127), -7);    // -10.5 -> -10 (even), + 3
  EXPECT_EQ(qconv_output(-21, 0.5f, 3, -5, 127), -5);      // fused activation floor
  const QAddParams pa = qadd_params(0.5f, 1, 0.25f, -2, 1.f, 0, -128, 127);
  EXPECT_EQ(qadd(5, 6, pa), 4);  // (5-1)*0.5 + (6+2)*0.25 = 4
  const QMulParams pm = qmul_params(0.5f, 0, 0.5f, 0, 1.f, 0, -128, 127);
  EXPECT_EQ(qmul(3, 3, pm), 2);  // 9 * 0.25 = 2.25
  EXPECT_EQ(qgap_multiplier(1.f, 0.5f, 4), 0.5f);
  EXPECT_EQ(qrescale(10, 2, 0.5f, 1), 5);
}

TEST(QuantMath, LutIsQuantizedFunctionOfDequantizedInput) {
  const auto t = build_lut([](float v) { return ref::hardswish(v); }, 0.1f, 0, 0.05f, -10);
  // x = 20 -> 2.0 -> hardswish 2 * (2/6 + 0.5) = 1.6667 -> /0.05 = 33.33 -> 33 - 10
  EXPECT_EQ(t[20 + 128], 23);
  EXPECT_EQ(t[0 + 128], -10);     // 0 -> 0 -> zero point
  EXPECT_EQ(t[-128 + 128], -10);  // -12.8 -> hardswish 0
  EXPECT_EQ(t[127 + 128], 127);   // 12.7 -> 12.7 / 0.05 = 254, - 10 = 244: saturates
}

// ------------------------------------------------------------------- QConv

struct QConvCfg {
  int64_t n = 1, c = 8, h = 9, w = 9, m = 8, group = 1, kh = 3, kw = 3;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  Ints pads{1, 1, 1, 1};
  bool bias = true;
  std::string act;  // "", relu, relu6, clip
  int64_t in_pad = 0, out_pad = 0;
  float mult_scale = 1.f;  // scales the requantization multiplier
};

// Random per-tensor activation parameters and per-channel weight scales,
// with the output scale chosen so that outputs spread over the int8 range.
OpCase qconv_case(const QConvCfg& k, uint64_t seed) {
  std::mt19937 g(static_cast<uint32_t>(seed));
  const int64_t oh = (k.h + k.pads[0] + k.pads[2] - k.dh * (k.kh - 1) - 1) / k.sh + 1;
  const int64_t ow = (k.w + k.pads[1] + k.pads[3] - k.dw * (k.kw - 1) - 1) / k.sw + 1;
  OpCase c("QConv");
  c.attr("strides", Ints{k.sh, k.sw}).attr("pads", k.pads).attr("dilations", Ints{k.dh, k.dw}).attr("group", k.group);
  if (!k.act.empty()) c.attr("activation", k.act);
  if (k.act == "clip") c.attr("act_min", -0.5f).attr("act_max", 1.5f);
  const float sx = rnd_log(g, 0.002f, 0.1f);
  const int zx = static_cast<int>(rnd(g, -128, 127));
  QuantParams qw;
  qw.axis = 0;
  float mean_sw = 0;
  for (int64_t o = 0; o < k.m; ++o) {
    qw.scale.push_back(rnd_log(g, 0.001f, 0.05f));
    qw.zero_point.push_back(0);
    mean_sw += qw.scale.back() / static_cast<float>(k.m);
  }
  const float fan_in = static_cast<float>(k.c / k.group * k.kh * k.kw);
  // Accumulator spread ~ sqrt(fan_in) * 128 * 73; map it to ~ +-100 steps.
  const float sy = sx * mean_sw * std::sqrt(fan_in) * 9000.f / 100.f / k.mult_scale * rndf(g, 0.5f, 2.f);
  const int zy = static_cast<int>(rnd(g, -60, 60));
  c.qinput({k.n, k.c, k.h, k.w}, Layout::nhwc().padded(k.in_pad), qp(sx, zx))
      .qconstant(harness::random_int_tensor({k.m, k.c / k.group, k.kh, k.kw}, DType::I8, seed + 7, -127, 127), qw);
  if (k.bias) {
    QuantParams qb;
    qb.axis = 0;
    for (float s : qw.scale) qb.scale.push_back(sx * s), qb.zero_point.push_back(0);
    c.qconstant(harness::random_int_tensor({k.m}, DType::I32, seed + 11, -30000, 30000), qb);
  }
  c.qoutput({k.n, k.m, oh, ow}, Layout::nhwc().padded(k.out_pad), qp(sy, zy));
  return c.with_seed(seed);
}

TEST(FastQConv, MobileNetBlocks) {
  uint64_t seed = 1;
  for (int64_t stride : {1, 2})
    for (int64_t k : {3, 5}) {  // depthwise 3x3 / 5x5 as in MobileNetV3
      QConvCfg d;
      d.c = d.m = d.group = 24;
      d.h = d.w = 17;
      d.kh = d.kw = k;
      d.sh = d.sw = stride;
      d.pads = Ints(4, k / 2);
      for (const char* act : {"", "relu", "relu6"}) {
        d.act = act;
        expect_identical(qconv_case(d, seed++));
      }
    }
  QConvCfg pw;  // 1x1 expansion / projection
  pw.c = 16, pw.m = 72, pw.kh = pw.kw = 1, pw.pads = {0, 0, 0, 0}, pw.h = pw.w = 10;
  expect_identical(qconv_case(pw, seed++));
  pw.act = "relu";
  expect_identical(qconv_case(pw, seed++));
  pw.c = 96, pw.m = 576, pw.h = pw.w = 5, pw.act = "";
  expect_identical(qconv_case(pw, seed++));
  QConvCfg stem;  // 3 -> 16, 3x3 stride 2
  stem.c = 3, stem.m = 16, stem.h = stem.w = 32, stem.sh = stem.sw = 2;
  expect_identical(qconv_case(stem, seed++));
  QConvCfg head;  // SSD head: 3x3 conv on an odd map
  head.c = 12, head.m = 6, head.h = 5, head.w = 3, head.act = "clip";
  expect_identical(qconv_case(head, seed++));
}

TEST(FastQConv, ChannelMultiplierGroupsAndPixelStrides) {
  QConvCfg m2;  // depthwise with channel multiplier 2
  m2.c = 4, m2.m = 8, m2.group = 4;
  expect_identical(qconv_case(m2, 10));
  QConvCfg g;  // grouped, 2 groups of 3 -> 5
  g.c = 6, g.m = 10, g.group = 2, g.h = 7, g.w = 11;
  expect_identical(qconv_case(g, 11));
  QConvCfg s;  // reads and writes channel slices of wider NHWC buffers
  s.in_pad = 5, s.out_pad = 3, s.act = "relu";
  expect_identical(qconv_case(s, 12));
  s.c = s.m = s.group = 8;
  expect_identical(qconv_case(s, 13));
  QConvCfg se;  // SE block 1x1 conv on [N,C,1,1], plain == NHWC
  se.n = 2, se.c = 16, se.m = 4, se.h = se.w = 1, se.kh = se.kw = 1, se.pads = {0, 0, 0, 0}, se.act = "relu";
  OpCase c = qconv_case(se, 14);
  c.in[0].layout = Layout::plain();
  expect_identical(c);
}

TEST(FastQConv, MultipliersAboveOne) {
  // Large requantization multipliers (output scale below input * weight
  // scale): saturating outputs and every rounding path.
  // Multipliers up to ~1, ~11 and ~250 (XNNPACK takes m < 256).
  for (float f : {200.f, 2000.f, 20000.f}) {
    QConvCfg k;
    k.c = 4, k.m = 6, k.kh = k.kw = 1, k.pads = {0, 0, 0, 0}, k.mult_scale = f, k.act = f > 1000 ? "relu" : "";
    OpCase c = qconv_case(k, static_cast<uint64_t>(f));
    float mmax = 0;
    for (float sw : c.in[1].quant.scale) mmax = std::max(mmax, qconv_multiplier(c.in[0].quant.scale[0], sw, c.out[0].quant.scale[0]));
    const harness::Report r = harness::check_fast_against_ref(c.tolerance(0));
    EXPECT_EQ(r.has_fast, mmax < 256.f) << "max multiplier " << mmax << ": " << r.message;
    if (r.has_fast) {
      EXPECT_TRUE(r.ok) << r.message;
    }
  }
}

TEST(FastQConv, RandomConfigs) {
  std::mt19937 g(4321);
  const char* acts[] = {"", "relu", "relu6", "clip"};
  for (int it = 0; it < 100; ++it) {
    QConvCfg k;
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
    k.act = acts[rnd(g, 0, 3)];
    k.in_pad = rnd(g, 0, 3) == 0 ? rnd(g, 1, 4) : 0;
    k.out_pad = rnd(g, 0, 3) == 0 ? rnd(g, 1, 4) : 0;
    expect_identical(qconv_case(k, static_cast<uint64_t>(100 + it)));
  }
}

TEST(FastQConv, DefersToReferenceWhereXnnpackCannot) {
  QConvCfg k;
  k.kh = k.kw = 1, k.pads = {0, 0, 0, 0};
  OpCase big = qconv_case(k, 1);  // multiplier >= 256
  big.out[0].quant = qp(big.in[0].quant.scale[0] * 0.05f / 300.f, 0);
  for (float& s : big.in[1].quant.scale) s = 0.05f;
  harness::Report r = harness::check_fast_against_ref(big);
  EXPECT_FALSE(r.has_fast) << r.message;
  OpCase empty = qconv_case(k, 2);  // relu with zero point 127: a single output value
  empty.attr("activation", std::string("relu"));
  empty.out[0].quant = qp(0.1f, 127);
  r = harness::check_fast_against_ref(empty);
  EXPECT_FALSE(r.has_fast) << r.message;
  OpCase asym = qconv_case(k, 3);  // weights with a non-zero zero point
  asym.in[1].quant.zero_point[0] = 3;
  EXPECT_EQ(harness::KernelRunner(asym, true).has_kernel(), false);
  OpCase plain = qconv_case(k, 4);  // NCHW input: a clear error naming the node
  plain.in[0].layout = Layout::plain();
  r = harness::check_fast_against_ref(plain);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("NHWC"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("QConv_case"), std::string::npos) << r.message;
}

// ------------------------------------------------------------ QAdd, QMul

OpCase qbinary_case(const std::string& op, Shape a, Layout la, Shape b, Layout lb, Shape y, Layout ly,
                    uint64_t seed, const std::string& act = "") {
  std::mt19937 g(static_cast<uint32_t>(seed));
  OpCase c(op);
  if (!act.empty()) c.attr("activation", act);
  const float sa = rnd_log(g, 0.005f, 0.1f), sb = rnd_log(g, 0.005f, 0.1f);
  // QAdd: output spans about the sum's range; QMul: the product's.
  const float sy = op == "QAdd" ? (sa + sb) * rndf(g, 0.7f, 1.5f) : sa * sb * 128.f * rndf(g, 0.5f, 2.f);
  c.qinput(std::move(a), std::move(la), qp(sa, static_cast<int>(rnd(g, -128, 127))))
      .qinput(std::move(b), std::move(lb), qp(sb, static_cast<int>(rnd(g, -128, 127))))
      .qoutput(std::move(y), std::move(ly), qp(sy, static_cast<int>(rnd(g, -50, 50))));
  return c.with_seed(seed);
}

TEST(FastQBinary, ResidualSeAndLayouts) {
  const Layout P = Layout::plain(), H = Layout::nhwc();
  uint64_t seed = 1;
  for (const char* op : {"QAdd", "QMul"}) {
    expect_identical(qbinary_case(op, {1, 24, 10, 10}, H, {1, 24, 10, 10}, H, {1, 24, 10, 10}, H, seed++));
    expect_identical(qbinary_case(op, {1, 24, 10, 10}, H, {1, 24, 10, 10}, H, {1, 24, 10, 10}, H, seed++, "relu"));
    // SE block: NHWC [N,C,H,W] * [N,C,1,1], both orders.
    expect_identical(qbinary_case(op, {2, 40, 5, 7}, H, {2, 40, 1, 1}, P, {2, 40, 5, 7}, H, seed++));
    expect_identical(qbinary_case(op, {2, 40, 1, 1}, H, {2, 40, 5, 7}, H, {2, 40, 5, 7}, H, seed++));
    // Mixed and non-dense layouts, plain two-sided broadcast.
    expect_identical(qbinary_case(op, {1, 6, 4, 5}, H, {1, 6, 4, 5}, P, {1, 6, 4, 5}, H, seed++));
    expect_identical(qbinary_case(op, {1, 6, 4, 5}, H.padded(3), {1, 6, 4, 5}, H, {1, 6, 4, 5}, P, seed++));
    expect_identical(qbinary_case(op, {2, 1, 4}, P, {3, 1}, P, {2, 3, 4}, P, seed++, "relu6"));
    // Large enough to be split across threads.
    expect_identical(qbinary_case(op, {1, 96, 40, 40}, H, {1, 96, 1, 1}, P, {1, 96, 40, 40}, H, seed++));
    expect_identical(qbinary_case(op, {1, 40, 40, 40}, H, {1, 40, 40, 40}, H, {1, 40, 40, 40}, H, seed++));
  }
}

TEST(FastQBinary, RandomBroadcasts) {
  std::mt19937 g(77);
  for (int it = 0; it < 40; ++it) {
    const int64_t r = rnd(g, 1, 4);
    Shape y(static_cast<size_t>(r)), a, b;
    for (auto& d : y) d = rnd(g, 1, 7);
    for (int64_t d = 0; d < r; ++d) {
      a.push_back(rnd(g, 0, 2) == 0 ? 1 : y[d]);
      b.push_back(rnd(g, 0, 2) == 0 ? 1 : y[d]);
    }
    for (int64_t d = 0; d < r; ++d) y[d] = std::max(a[d], b[d]);
    auto layout_of = [&](const Shape& s) {
      if (s.size() == 4 && rnd(g, 0, 1)) return Layout::nhwc();
      std::vector<int> o(s.size());
      for (size_t i = 0; i < o.size(); ++i) o[i] = static_cast<int>(i);
      std::shuffle(o.begin(), o.end(), g);
      return Layout::perm(o).padded(rnd(g, 0, 2) == 0 ? 1 : 0);
    };
    const Layout ly = y.size() == 4 && rnd(g, 0, 1) ? Layout::nhwc() : Layout::plain();
    expect_identical(qbinary_case(it % 2 ? "QMul" : "QAdd", a, layout_of(a), b, layout_of(b), y, ly,
                                  static_cast<uint64_t>(it), it % 3 == 0 ? "relu" : ""));
  }
}

// ---------------------------------------------- QGlobalAveragePool, QLut, QConcat

TEST(FastQGlobalAveragePool, ShapesAndStrides) {
  std::mt19937 g(5);
  const Shape shapes[] = {{1, 16, 7, 7}, {2, 96, 10, 10}, {1, 3, 1, 1}, {1, 576, 5, 3}, {1, 130, 40, 40}};
  uint64_t seed = 1;
  for (const Shape& x : shapes) {
    OpCase c("QGlobalAveragePool");
    const float sx = rnd_log(g, 0.01f, 0.1f);
    c.qinput(x, Layout::nhwc(), qp(sx, static_cast<int>(rnd(g, -128, 127))))
        .qoutput({x[0], x[1], 1, 1}, Layout::nhwc(), qp(sx * rndf(g, 0.02f, 0.2f), static_cast<int>(rnd(g, -20, 20))));
    expect_identical(c.with_seed(seed++));
  }
  OpCase strided("QGlobalAveragePool");
  strided.qinput({2, 10, 4, 4}, Layout::nhwc().padded(6), qp(0.05f, 3))
      .qoutput({2, 10, 1, 1}, Layout::nhwc().padded(2), qp(0.004f, -7));
  expect_identical(strided);
}

TEST(FastQLut, HardSwishSigmoidLayoutsAndInPlace) {
  const auto hs = build_lut([](float v) { return ref::hardswish(v); }, 0.06f, -10, 0.03f, -100);
  const auto sg = build_lut([](float v) { return ref::sigmoid(v); }, 0.05f, 4, 1.f / 256, -128);
  uint64_t seed = 1;
  for (const auto* t : {&hs, &sg}) {
    const Ints table(t->begin(), t->end());
    const Shape shapes[] = {{1, 16, 7, 5}, {1, 1, 1, 1}, {1, 72, 40, 40}};
    for (const Shape& s : shapes)
      for (int variant = 0; variant < 3; ++variant) {
        const Layout l = variant == 0 ? Layout::plain() : Layout::nhwc();
        OpCase c("QLut");
        c.attr("table", table).qinput(s, l, qp(0.06f, -10)).qoutput(s, l, qp(0.03f, -100)).with_seed(seed++);
        if (variant == 2) c.inplace();
        expect_identical(c);
      }
  }
}

TEST(FastQConcat, RequantizedAndCopiedInputs) {
  const Layout H = Layout::nhwc();
  OpCase ch("QConcat");  // channel concat of NHWC inputs: one copied, two requantized
  ch.attr("axis", int64_t{1})
      .qinput({1, 16, 10, 10}, H, qp(0.05f, 2))
      .qinput({1, 24, 10, 10}, H, qp(0.02f, -30))
      .qinput({1, 8, 10, 10}, H.padded(3), qp(0.2f, 100))
      .qoutput({1, 48, 10, 10}, H, qp(0.05f, 2));
  expect_identical(ch);
  OpCase heads("QConcat");  // SSD heads: [N, A_i, 4] along axis 1, plain
  heads.attr("axis", int64_t{1})
      .qinput({2, 1200, 4}, {}, qp(0.1f, 0))
      .qinput({2, 300, 4}, {}, qp(0.07f, 5))
      .qinput({2, 75, 4}, {}, qp(0.1f, 0))
      .qoutput({2, 1575, 4}, {}, qp(0.1f, 0));
  expect_identical(heads);
  OpCase mixed("QConcat");  // mixed input layouts into a plain output, axis 2
  mixed.attr("axis", int64_t{2})
      .qinput({1, 3, 4, 5}, H, qp(0.01f, 0))
      .qinput({1, 3, 2, 5}, {}, qp(0.03f, -128))
      .qinput({1, 3, 3, 5}, Layout::perm({3, 2, 1, 0}), qp(0.02f, 127));
  mixed.qoutput({1, 3, 9, 5}, {}, qp(0.025f, -1));
  expect_identical(mixed);
  OpCase big("QConcat");
  big.attr("axis", int64_t{1})
      .qinput({1, 64, 40, 40}, H, qp(0.05f, 1))
      .qinput({1, 64, 40, 40}, H, qp(0.04f, 1))
      .qoutput({1, 128, 40, 40}, H, qp(0.05f, 1));
  expect_identical(big);
}

// ------------------------------------------------ QuantizeLinear, DequantizeLinear

Tensor scalar_f32(float v) { return Tensor::from_floats({}, {v}); }
Tensor scalar_int(DType t, int v) {
  Tensor z(t, {});
  if (t == DType::I8) z.data<int8_t>()[0] = static_cast<int8_t>(v);
  if (t == DType::U8) z.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  return z;
}

TEST(FastQuantizeLinear, Int8Uint8LayoutsAndSpecialValues) {
  uint64_t seed = 1;
  for (DType t : {DType::I8, DType::U8}) {
    const int zp = t == DType::I8 ? -7 : 131;
    const Shape shapes[] = {{1, 3, 20, 20}, {2, 5, 1, 33}, {7}, {1, 64, 40, 40}};
    for (const Shape& s : shapes)
      for (const Layout& l : {Layout::plain(), s.size() == 4 ? Layout::nhwc() : Layout::plain()}) {
        OpCase q("QuantizeLinear");
        q.input(s, l, -3.f, 3.f).constant(scalar_f32(0.0137f)).constant(scalar_int(t, zp));
        q.qoutput(s, l, qp(0.0137f, zp), t).with_seed(seed++);
        expect_identical(q);
        OpCase dq("DequantizeLinear");
        dq.qinput(s, l, qp(0.0137f, zp), t).constant(scalar_f32(0.0137f)).constant(scalar_int(t, zp));
        dq.output(s, l).with_seed(seed++);
        expect_identical(dq);
      }
    // Ties, saturation, infinities and NaN.
    const float inf = std::numeric_limits<float>::infinity();
    OpCase special("QuantizeLinear");
    special.input_values(Tensor::from_floats({1, 2, 2, 3}, {0.25f, 0.75f, -0.25f, -0.75f, 1.25f, 100.f, -100.f, inf,
                                                            -inf, std::nanf(""), 0.f, -0.f}),
                         Layout::nhwc());
    special.constant(scalar_f32(0.5f)).constant(scalar_int(t, zp)).qoutput({1, 2, 2, 3}, Layout::nhwc(), qp(0.5f, zp), t);
    expect_identical(special);
  }
}

TEST(FastQuantizeLinear, PerAxisIsLeftToTheReference) {
  OpCase q("QuantizeLinear");
  q.attr("axis", int64_t{1}).input({1, 2, 3, 3});
  q.constant(Tensor::from_floats({2}, {0.1f, 0.2f}));
  Tensor z(DType::I8, {2});
  q.constant(z).qoutput({1, 2, 3, 3}, {}, QuantParams{}, DType::I8);
  EXPECT_FALSE(harness::KernelRunner(q, true).has_kernel());
}

// ---------------------------------------------------------- whole session

// images -> Q -> QConv(3x3, relu) -> QConv(dw 3x3) -> QAdd(residual) ->
// QGlobalAveragePool -> QMul(SE broadcast) -> QLut -> QConcat -> DQ: the
// fast backend (NHWC, relayouts from the executor's layout table) must give
// the reference backend's bytes.
TEST(FastQuantSession, FastBackendMatchesReferenceBitForBit) {
  Graph g;
  g.source = "quant_session";
  auto act = [&](const std::string& name, Shape s, DType t, QuantParams q) {
    Value v;
    v.name = name;
    v.shape = std::move(s);
    v.dtype = t;
    v.quant = std::move(q);
    return g.add_value(v);
  };
  auto node = [&](const std::string& op, std::vector<int> in, std::vector<int> out) -> Node& {
    Node n;
    n.op = op;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    g.nodes.push_back(n);
    return g.nodes.back();
  };
  const int64_t C = 16, H = 12, W = 10;
  const int img = act("images", {1, 3, H, W}, DType::F32, {});
  g.inputs.push_back(img);
  const int s_in = g.add_constant("s_in", scalar_f32(0.02f));
  const int z_in = g.add_constant("z_in", scalar_int(DType::I8, -3));
  const int q0 = act("q0", {1, 3, H, W}, DType::I8, qp(0.02f, -3));
  node("QuantizeLinear", {img, s_in, z_in}, {q0});
  QuantParams qw;
  qw.axis = 0;
  for (int64_t m = 0; m < C; ++m) qw.scale.push_back(0.004f + 0.0003f * static_cast<float>(m)), qw.zero_point.push_back(0);
  const int w1 = g.add_constant("w1", harness::random_int_tensor({C, 3, 3, 3}, DType::I8, 1, -127, 127));
  g.values[w1].quant = qw;
  const int b1 = g.add_constant("b1", harness::random_int_tensor({C}, DType::I32, 2, -2000, 2000));
  const int c1 = act("c1", {1, C, H, W}, DType::I8, qp(0.05f, -128));
  node("QConv", {q0, w1, b1}, {c1}).attrs.set("pads", Ints{1, 1, 1, 1});
  g.nodes.back().attrs.set("activation", std::string("relu"));
  const int w2 = g.add_constant("w2", harness::random_int_tensor({C, 1, 3, 3}, DType::I8, 3, -127, 127));
  g.values[w2].quant = qw;
  const int c2 = act("c2", {1, C, H, W}, DType::I8, qp(0.08f, 5));
  Node& dw = node("QConv", {c1, w2}, {c2});
  dw.attrs.set("pads", Ints{1, 1, 1, 1});
  dw.attrs.set("group", C);
  const int sum = act("sum", {1, C, H, W}, DType::I8, qp(0.1f, 0));
  node("QAdd", {c1, c2}, {sum});
  const int gap = act("gap", {1, C, 1, 1}, DType::I8, qp(0.03f, -10));
  node("QGlobalAveragePool", {sum}, {gap});
  const int se = act("se", {1, C, H, W}, DType::I8, qp(0.2f, 3));
  node("QMul", {sum, gap}, {se});
  const auto lut = build_lut([](float v) { return ref::hardswish(v); }, 0.2f, 3, 0.15f, -20);
  const int hsw = act("hsw", {1, C, H, W}, DType::I8, qp(0.15f, -20));
  node("QLut", {se}, {hsw}).attrs.set("table", Ints(lut.begin(), lut.end()));
  const int cat = act("cat", {1, 2 * C, H, W}, DType::I8, qp(0.15f, -20));
  node("QConcat", {hsw, sum}, {cat}).attrs.set("axis", int64_t{1});
  const int s_out = g.add_constant("s_out", scalar_f32(0.15f));
  const int z_out = g.add_constant("z_out", scalar_int(DType::I8, -20));
  const int out = act("out", {1, 2 * C, H, W}, DType::F32, {});
  node("DequantizeLinear", {cat, s_out, z_out}, {out});
  g.outputs.push_back(out);

  const Tensor x = harness::random_tensor({1, 3, H, W}, 9, -2.f, 2.f);
  std::vector<Tensor> results;
  for (Backend b : {Backend::Reference, Backend::Fast}) {
    SessionOptions opt;
    opt.backend = b;
    opt.num_threads = 2;
    Session s(g, opt);
    if (b == Backend::Fast) {  // the integer ops run channel-last: the executor inserted relayouts
      int relayouts = 0;
      for (const Node& n : s.graph().nodes) relayouts += n.op == "Relayout";
      EXPECT_GE(relayouts, 2);
    }
    s.set_input(0, x);
    s.run();
    results.push_back(s.output(0));
  }
  ASSERT_EQ(results[0].nbytes(), results[1].nbytes());
  EXPECT_EQ(std::memcmp(results[0].raw(), results[1].raw(), results[0].nbytes()), 0);
  // The graph computed something: the output is not constant.
  const auto v = results[0].to_floats();
  EXPECT_NE(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
}

}  // namespace
}  // namespace vedge

// ------------------------------------------- VNNI pointwise GEMM (qgemm_vnni.h)

namespace vedge {
namespace {

std::vector<QGemmIsa> vnni_isas() {
  std::vector<QGemmIsa> v;
  for (QGemmIsa i : {QGemmIsa::Avx512Vnni, QGemmIsa::AvxVnni})
    if (qgemm_isa_available(i)) v.push_back(i);
  return v;
}

// Forces one path for the kernels created in its scope.
class ForcedIsa {
 public:
  explicit ForcedIsa(QGemmIsa isa) { force_qgemm_isa(isa); }
  ~ForcedIsa() { force_qgemm_isa(QGemmIsa::None, /*automatic=*/true); }
};

// One random pointwise problem and its expected output, computed with
// quant_math.h's scalar definition (int64 sum wrapped to int32, then
// qconv_output), independently of the packed layout.
struct GemmProblem {
  int64_t P = 0, C = 0, M = 0, xs = 0, ys = 0;
  std::vector<int8_t> x, w, expected;
  std::vector<int32_t> bias;
  QGemmParams params;
};

GemmProblem gemm_problem(std::mt19937& g, int64_t P, int64_t C, int64_t M, int mode) {
  GemmProblem q;
  q.P = P, q.C = C, q.M = M;
  q.xs = C + (rnd(g, 0, 2) == 0 ? rnd(g, 1, 7) : 0);
  q.ys = M + (rnd(g, 0, 2) == 0 ? rnd(g, 1, 7) : 0);
  const int wmax = mode == 1 ? 3 : 127;  // mode 1: exact power-of-two multipliers, many ties
  q.x.resize(static_cast<size_t>(P * q.xs));
  for (auto& v : q.x) v = static_cast<int8_t>(rnd(g, -128, 127));
  q.w.resize(static_cast<size_t>(M * C));
  for (auto& v : q.w) v = static_cast<int8_t>(rnd(g, -wmax - 1, wmax));
  const bool has_bias = rnd(g, 0, 3) != 0;
  for (int64_t m = 0; m < M; ++m)  // mode 2: biases over the whole int32 range (wrapping sums)
    q.bias.push_back(static_cast<int32_t>(mode == 2 ? rnd(g, INT32_MIN, INT32_MAX) : rnd(g, -30000, 30000)));
  QGemmParams& p = q.params;
  p.channels = C, p.outputs = M, p.weight = q.w.data(), p.bias = has_bias ? q.bias.data() : nullptr;
  p.zx = static_cast<int>(rnd(g, -128, 127));
  p.zy = static_cast<int>(rnd(g, -60, 60));
  const float base = 100.f / (std::sqrt(static_cast<float>(C)) * 9000.f);
  for (int64_t m = 0; m < M; ++m)
    p.multiplier.push_back(mode == 1 ? std::ldexp(1.f, -static_cast<int>(rnd(g, 1, 3))) : base * rnd_log(g, 0.2f, 5.f));
  const int range = static_cast<int>(rnd(g, 0, 3));  // none, relu-like, relu6-like, clip
  p.qmin = range == 0 ? -128 : range == 3 ? static_cast<int>(rnd(g, -128, -20)) : p.zy;
  p.qmax = range == 2 ? p.zy + 60 : range == 3 ? static_cast<int>(rnd(g, 20, 127)) : 127;
  q.expected.resize(static_cast<size_t>(P * M));
  for (int64_t px = 0; px < P; ++px)
    for (int64_t m = 0; m < M; ++m) {
      int64_t acc = has_bias ? q.bias[static_cast<size_t>(m)] : 0;
      for (int64_t c = 0; c < C; ++c) acc += (q.x[static_cast<size_t>(px * q.xs + c)] - p.zx) * q.w[static_cast<size_t>(m * C + c)];
      q.expected[static_cast<size_t>(px * M + m)] = qconv_output(static_cast<int32_t>(static_cast<uint32_t>(acc)),
                                                                 p.multiplier[static_cast<size_t>(m)], p.zy, p.qmin, p.qmax);
    }
  return q;
}

// Runs the problem on one path with `threads` threads; "" when every output
// byte equals the definition and no other byte of the output buffer changed.
std::string run_gemm_problem(const GemmProblem& q, QGemmIsa isa, int threads) {
  constexpr int8_t kGap = static_cast<int8_t>(0xA5);
  std::vector<int8_t> y(static_cast<size_t>(q.P * q.ys + 64), kGap);
  const std::vector<int8_t> x_before = q.x;
  harness::ThreadPool pool(threads);
  QGemmConv1x1 k(q.params, isa, q.P);
  k.run(q.x.data(), q.xs, y.data(), q.ys, pool.get());
  k.run(q.x.data(), q.xs, y.data(), q.ys, pool.get());  // a second run gives the same bytes
  std::ostringstream os;
  os << qgemm_isa_name(isa) << " threads " << threads << " P " << q.P << " C " << q.C << " M " << q.M << " strides "
     << q.xs << "/" << q.ys << " zx " << q.params.zx << " zy " << q.params.zy << " range [" << q.params.qmin << ", "
     << q.params.qmax << "]: ";
  for (int64_t i = 0; i < static_cast<int64_t>(y.size()); ++i) {
    const int64_t p = i / q.ys, m = i % q.ys;
    const bool in_view = p < q.P && m < q.M;
    const int8_t want = in_view ? q.expected[static_cast<size_t>(p * q.M + m)] : kGap;
    if (y[static_cast<size_t>(i)] != want) {
      os << (in_view ? "output" : "gap byte") << " at pixel " << p << " channel " << m << " is "
         << int(y[static_cast<size_t>(i)]) << ", expected " << int(want);
      return os.str();
    }
  }
  if (x_before != q.x) return os.str() + "input modified";
  return "";
}

TEST(QGemmVnni, BitIdenticalToTheDefinitionOnRandomShapes) {
  const std::vector<QGemmIsa> isas = vnni_isas();
  if (isas.empty()) GTEST_SKIP() << "this CPU (or build) has neither AVX-512 VNNI nor AVX-VNNI";
  std::mt19937 g(2026);
  int cases = 0;
  auto check = [&](int64_t P, int64_t C, int64_t M, int mode) {
    const GemmProblem q = gemm_problem(g, P, C, M, mode);
    for (QGemmIsa isa : isas)
      for (int t : {1, 2}) {
        const std::string err = run_gemm_problem(q, isa, t);
        EXPECT_EQ(err, "");
      }
    ++cases;
  };
  for (int it = 0; it < 60; ++it) {
    const int64_t C = it < 12 ? it + 1 : rnd(g, 1, 200), M = it < 12 ? 17 - it : rnd(g, 1, 200);
    check(rnd(g, 1, 70), C, M, it % 4 == 1 ? 1 : it % 4 == 2 ? 2 : 0);
  }
  check(3001, 16, 72, 0);  // many chunks (and pixel tails at the end) across threads
  check(437, 200, 200, 0);
  check(100, 96, 576, 1);
  EXPECT_EQ(cases, 63);
}

TEST(QGemmVnni, FastQConvTakesEachPathBitIdentically) {
  const std::vector<QGemmIsa> isas = vnni_isas();
  if (isas.empty()) GTEST_SKIP() << "this CPU (or build) has neither AVX-512 VNNI nor AVX-VNNI";
  const char* acts[] = {"", "relu", "relu6", "clip"};
  std::vector<QGemmIsa> paths = isas;
  paths.push_back(QGemmIsa::None);  // forced off: XNNPACK's qc8 convolution
  for (QGemmIsa isa : paths) {
    ForcedIsa forced(isa);
    EXPECT_EQ(best_qgemm_isa(), isa);
    std::mt19937 g(99);
    int64_t created = 0;
    for (QGemmIsa i : isas) created += qgemm_kernels_created(i);
    const int64_t before = created;
    for (int it = 0; it < 16; ++it) {
      QConvCfg k;
      k.kh = k.kw = 1, k.pads = {0, 0, 0, 0};
      k.c = rnd(g, 1, 200), k.m = rnd(g, 1, 200);
      k.n = rnd(g, 1, 2), k.h = rnd(g, 1, 9), k.w = rnd(g, 1, 9);
      k.bias = it % 3 != 0;
      k.act = acts[it % 4];
      k.in_pad = it % 2 ? rnd(g, 1, 9) : 0;
      k.out_pad = it % 3 == 1 ? rnd(g, 1, 9) : 0;
      expect_identical(qconv_case(k, static_cast<uint64_t>(700 + it)));
    }
    created = 0;
    for (QGemmIsa i : isas) created += qgemm_kernels_created(i);
    // Two kernels per case (1 and 2 threads) on the forced path, none when off.
    EXPECT_EQ(created - before, isa == QGemmIsa::None ? 0 : 32) << qgemm_isa_name(isa);
  }
  // A path this CPU lacks cannot be forced.
  for (QGemmIsa i : {QGemmIsa::Avx512Vnni, QGemmIsa::AvxVnni})
    if (!qgemm_isa_available(i)) {
      EXPECT_THROW(force_qgemm_isa(i), Error);
    }
}

TEST(QGemmVnni, NonPointwiseConvolutionsStayOnXnnpack) {
  if (vnni_isas().empty()) GTEST_SKIP() << "this CPU (or build) has neither AVX-512 VNNI nor AVX-VNNI";
  int64_t before = 0, after = 0;
  for (QGemmIsa i : vnni_isas()) before += qgemm_kernels_created(i);
  QConvCfg strided;  // 1x1 stride 2, 1x1 padded, 1x1 grouped, 3x3
  strided.kh = strided.kw = 1, strided.pads = {0, 0, 0, 0}, strided.sh = strided.sw = 2;
  expect_identical(qconv_case(strided, 801));
  QConvCfg padded = strided;
  padded.sh = padded.sw = 1, padded.pads = {1, 0, 0, 1};
  expect_identical(qconv_case(padded, 802));
  QConvCfg grouped = padded;
  grouped.pads = {0, 0, 0, 0}, grouped.group = 2;
  expect_identical(qconv_case(grouped, 803));
  expect_identical(qconv_case(QConvCfg{}, 804));
  for (QGemmIsa i : vnni_isas()) after += qgemm_kernels_created(i);
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace vedge

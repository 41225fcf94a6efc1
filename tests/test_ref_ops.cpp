// test_ref_ops.cpp: the reference kernels (runtime/ops/ref_*.cpp) against
// values worked out by hand (written out below) or by a trivially
// independent loop in the test; also their configuration checks.
// Depends on runtime/ and tests/test_util.h only.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "runtime/ops/ref.h"
#include "test_util.h"

namespace vedge {
namespace {

using test::expect_floats_near;
using test::run_ref;

Tensor F(Shape s, std::vector<float> v) { return Tensor::from_floats(std::move(s), v); }

std::vector<float> iota(int64_t n, float start = 1.f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<float>(i);
  return v;
}

Attrs make_attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attrs a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

using Ints = std::vector<int64_t>;

// Runs a single-output node and returns output 0.
Tensor run1(const std::string& op, const std::vector<Tensor>& in, const Shape& out,
            const Attrs& attrs = {}, DType dt = DType::F32) {
  return run_ref(op, in, {out}, attrs, dt)[0];
}

// Expects make_ref_kernel to reject the config with a message naming the node.
void expect_rejected(const std::string& op, const std::vector<Tensor>& in, const Shape& out,
                     const Attrs& attrs, const std::string& fragment) {
  try {
    run1(op, in, out, attrs);
    ADD_FAILURE() << op << ": config was accepted, expected an error with '" << fragment << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("test: node '" + op + "_0' (" + op + "): "), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

// 4x4 image 1..16 used by conv and pool tests:
//    1  2  3  4
//    5  6  7  8
//    9 10 11 12
//   13 14 15 16
Tensor image4x4() { return F({1, 1, 4, 4}, iota(16)); }

// Sums of each 3x3 neighbourhood of image4x4 with zero padding 1.
const std::vector<float> kSums3x3 = {14, 24, 30, 22, 33, 54, 63, 45,
                                     57, 90, 99, 69, 46, 72, 78, 54};

// ---------------------------------------------------------------- registry

TEST(RefRegistry, Strides) {
  EXPECT_EQ(plain_strides({1, 3, 4, 5}), (Ints{60, 20, 5, 1}));
  EXPECT_EQ(nhwc_strides({1, 3, 4, 5}), (Ints{60, 1, 15, 3}));
  EXPECT_EQ(plain_strides({}), Ints{});
  Tensor t = F({2, 3}, iota(6));
  TensorRef r = make_ref(t);
  EXPECT_TRUE(r.is_plain());
  EXPECT_EQ(r.data, t.raw());
  EXPECT_EQ(r.shape, (Shape{2, 3}));
}

TEST(RefRegistry, UnknownOpAndDtypeGiveNullptr) {
  Tensor x = F({2}, {1, 2});
  for (const char* op : {"NoSuchOp", "Relu"}) {
    const DType dt = std::string(op) == "Relu" ? DType::I64 : DType::F32;
    Tensor xi = std::string(op) == "Relu" ? Tensor::from_int64s({2}, {1, 2}) : x;
    Graph g = test::single_node_graph(op, {xi}, {{2}}, {}, dt);
    Tensor y(dt, {2});
    KernelArgs a;
    a.graph = &g;
    a.node = &g.nodes[0];
    a.in = {make_ref(xi)};
    a.out = {make_ref(y)};
    EXPECT_EQ(make_ref_kernel(a), nullptr) << op;
  }
}

// -------------------------------------------------------------------- Conv

TEST(RefConv, Ones3x3Pad1WithBias) {
  Tensor y = run1("Conv", {image4x4(), F({1, 1, 3, 3}, std::vector<float>(9, 1.f)), F({1}, {0.5f})},
                  {1, 1, 4, 4}, make_attrs({{"pads", Ints{1, 1, 1, 1}}}));
  std::vector<float> want = kSums3x3;
  for (float& v : want) v += 0.5f;
  expect_floats_near(y, {1, 1, 4, 4}, want);
}

TEST(RefConv, TopLeftTapIsCorrelationNotConvolution) {
  // Only w[0][0] = 1: y[i][j] = x[i-1][j-1] (0 outside).
  std::vector<float> w(9, 0.f);
  w[0] = 1.f;
  Tensor y = run1("Conv", {image4x4(), F({1, 1, 3, 3}, w)}, {1, 1, 4, 4},
                  make_attrs({{"pads", Ints{1, 1, 1, 1}}}));
  expect_floats_near(y, {1, 1, 4, 4}, {0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11});
}

TEST(RefConv, StrideAndAsymmetricPads) {
  // W = [[1,2],[3,4]], stride 2, pads top 1, left 0, bottom 0, right 1.
  // y00 = 3*1 + 4*2 = 11, y01 = 3*3 + 4*4 = 25,
  // y10 = 1*5 + 2*6 + 3*9 + 4*10 = 84, y11 = 1*7 + 2*8 + 3*11 + 4*12 = 104.
  Tensor y = run1("Conv", {image4x4(), F({1, 1, 2, 2}, {1, 2, 3, 4})}, {1, 1, 2, 2},
                  make_attrs({{"strides", Ints{2, 2}}, {"pads", Ints{1, 0, 0, 1}}}));
  expect_floats_near(y, {1, 1, 2, 2}, {11, 25, 84, 104});
}

TEST(RefConv, Dilation) {
  // Dilation 2: y00 = 1*x00 + 2*x02 + 3*x20 + 4*x22 = 1 + 6 + 27 + 44 = 78;
  // one column right adds 1+2+3+4 = 10, one row down adds 40.
  Tensor y = run1("Conv", {image4x4(), F({1, 1, 2, 2}, {1, 2, 3, 4})}, {1, 1, 2, 2},
                  make_attrs({{"dilations", Ints{2, 2}}}));
  expect_floats_near(y, {1, 1, 2, 2}, {78, 88, 118, 128});
}

TEST(RefConv, Groups) {
  // 4 channels, 2 groups, 1x1: out0 = 1*c0 + 10*c1, out1 = 100*c2 + 1000*c3, + bias.
  Tensor x = F({1, 4, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor w = F({2, 2, 1, 1}, {1, 10, 100, 1000});
  Tensor y = run1("Conv", {x, w, F({2}, {1, 2})}, {1, 2, 1, 2}, make_attrs({{"group", int64_t{2}}}));
  expect_floats_near(y, {1, 2, 1, 2}, {32, 43, 7502, 8602});
}

TEST(RefConv, DepthwiseTwoImages) {
  // Image 0: c0 = 1..9, c1 = 10..18; image 1 = -image 0.
  // Channel 0 kernel all ones -> 45; channel 1 kernel 2 at the centre -> 2*14.
  std::vector<float> xv = iota(18);
  for (float v : iota(18)) xv.push_back(-v);
  std::vector<float> wv(9, 1.f);
  std::vector<float> w1(9, 0.f);
  w1[4] = 2.f;
  wv.insert(wv.end(), w1.begin(), w1.end());
  Tensor y = run1("Conv", {F({2, 2, 3, 3}, xv), F({2, 1, 3, 3}, wv)}, {2, 2, 1, 1},
                  make_attrs({{"group", int64_t{2}}}));
  expect_floats_near(y, {2, 2, 1, 1}, {45, 28, -45, -28});
}

TEST(RefConv, FusedActivations) {
  // 1x1 conv with weight 1 passes x through, then the activation.
  const std::vector<float> x = {-4, -1, 0, 0.5f, 3, 7};
  const std::vector<std::pair<Attrs, std::vector<float>>> cases = {
      {make_attrs({{"activation", std::string("relu")}}), {0, 0, 0, 0.5f, 3, 7}},
      {make_attrs({{"activation", std::string("relu6")}}), {0, 0, 0, 0.5f, 3, 6}},
      {make_attrs({{"activation", std::string("clip")}, {"act_min", -1.f}, {"act_max", 2.f}}),
       {-1, -1, 0, 0.5f, 2, 2}},
      // x * clamp(x/6 + 0.5, 0, 1)
      {make_attrs({{"activation", std::string("hardswish")}}),
       {0, -1.f / 3.f, 0, 0.5f * (0.5f / 6.f + 0.5f), 3, 7}},
      {make_attrs({{"activation", std::string("sigmoid")}}),
       {0.017986210f, 0.26894142f, 0.5f, 0.62245933f, 0.95257413f, 0.99908895f}},
  };
  for (const auto& [attrs, want] : cases) {
    SCOPED_TRACE(attrs.get_s("activation"));
    Tensor y = run1("Conv", {F({1, 1, 1, 6}, x), F({1, 1, 1, 1}, {1})}, {1, 1, 1, 6}, attrs);
    expect_floats_near(y, {1, 1, 1, 6}, want, 1e-6f);
  }
}

TEST(RefConv, RejectsInvalidConfigs) {
  Tensor x = F({1, 4, 3, 3}, iota(36));
  expect_rejected("Conv", {x, F({2, 3, 3, 3}, iota(54))}, {1, 2, 1, 1},
                  make_attrs({{"group", int64_t{2}}}), "does not match 4 input channels and group 2");
  expect_rejected("Conv", {x, F({3, 2, 1, 1}, iota(6))}, {1, 3, 3, 3},
                  make_attrs({{"group", int64_t{2}}}), "group 2 does not divide");
  expect_rejected("Conv", {x, F({1, 4, 3, 3}, iota(36))}, {1, 1, 3, 3}, {}, "output shape");
  expect_rejected("Conv", {x, F({1, 4, 1, 1}, iota(4))}, {1, 1, 3, 3},
                  make_attrs({{"activation", std::string("gelu")}}), "unknown fused activation");
  expect_rejected("Conv", {x, F({1, 4, 1, 1}, iota(4)), F({2}, {0, 0})}, {1, 1, 3, 3}, {},
                  "bias shape");
  expect_rejected("Conv", {x, F({1, 4, 5, 5}, iota(100))}, {1, 1, 1, 1}, {}, "larger than");
  expect_rejected("Conv", {x, F({1, 4, 1, 1}, iota(4))}, {1, 1, 3, 3},
                  make_attrs({{"strides", Ints{1}}}), "'strides' must have 2 values");
}

// ------------------------------------------------------------ element-wise

const std::vector<float> kActIn = {-4, -1, 0, 0.5f, 3, 7};

TEST(RefElementwise, Unary) {
  const std::vector<std::tuple<const char*, Attrs, std::vector<float>>> cases = {
      {"Relu", {}, {0, 0, 0, 0.5f, 3, 7}},
      {"Clip", make_attrs({{"min", -1.f}, {"max", 2.f}}), {-1, -1, 0, 0.5f, 2, 2}},
      {"Clip", make_attrs({{"min", 0.f}}), {0, 0, 0, 0.5f, 3, 7}},
      {"Clip", make_attrs({{"max", 1.f}}), {-4, -1, 0, 0.5f, 1, 1}},
      {"Sigmoid", {}, {0.017986210f, 0.26894142f, 0.5f, 0.62245933f, 0.95257413f, 0.99908895f}},
      {"HardSwish", {}, {0, -1.f / 3.f, 0, 0.5f * (0.5f / 6.f + 0.5f), 3, 7}},
      // clamp(0.2 x + 0.5, 0, 1)
      {"HardSigmoid", {}, {0, 0.3f, 0.5f, 0.6f, 1, 1}},
      // clamp(0.5 x + 0.25, 0, 1)
      {"HardSigmoid", make_attrs({{"alpha", 0.5f}, {"beta", 0.25f}}), {0, 0, 0.25f, 0.5f, 1, 1}},
  };
  for (const auto& [op, attrs, want] : cases) {
    SCOPED_TRACE(op);
    expect_floats_near(run1(op, {F({2, 3}, kActIn)}, {2, 3}, attrs), {2, 3}, want, 1e-6f);
  }
}

TEST(RefElementwise, PerChannelBroadcast) {
  // [1,3,4,4] * [1,3,1,1]
  std::vector<float> x = iota(48), s = {1, 10, 100}, want;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 16; ++i) want.push_back(x[c * 16 + i] * s[c]);
  expect_floats_near(run1("Mul", {F({1, 3, 4, 4}, x), F({1, 3, 1, 1}, s)}, {1, 3, 4, 4}),
                     {1, 3, 4, 4}, want);
}

TEST(RefElementwise, LowerRankBroadcast) {
  // [4] + [2,3,4]
  std::vector<float> a = {1000, 2000, 3000, 4000}, b = iota(24), want;
  for (int i = 0; i < 24; ++i) want.push_back(a[i % 4] + b[i]);
  expect_floats_near(run1("Add", {F({4}, a), F({2, 3, 4}, b)}, {2, 3, 4}), {2, 3, 4}, want);
}

TEST(RefElementwise, BothSidesBroadcastAndScalar) {
  // [3,1] - [1,4] -> [3,4]
  expect_floats_near(run1("Sub", {F({3, 1}, {1, 2, 3}), F({1, 4}, {10, 20, 30, 40})}, {3, 4}),
                     {3, 4}, {-9, -19, -29, -39, -8, -18, -28, -38, -7, -17, -27, -37});
  // rank-0 divisor
  expect_floats_near(run1("Div", {F({2, 2}, {2, 4, 6, 9}), F({}, {2})}, {2, 2}), {2, 2},
                     {1, 2, 3, 4.5f});
  expect_floats_near(run1("Div", {F({}, {1}), F({3}, {2, 4, -8})}, {3}), {3}, {0.5f, 0.25f, -0.125f});
}

TEST(RefElementwise, Int64ForConstantFolding) {
  Tensor a = Tensor::from_int64s({4}, {-7, 7, 6, 5});
  Tensor b = Tensor::from_int64s({4}, {2, 2, 0, -1});
  EXPECT_EQ(run1("Div", {a, b}, {4}, {}, DType::I64).to_int64s(), (Ints{-3, 3, 0, -5}));
  EXPECT_EQ(run1("Mul", {a, Tensor::from_int64s({}, {3})}, {4}, {}, DType::I64).to_int64s(),
            (Ints{-21, 21, 18, 15}));
  EXPECT_EQ(run1("Sub", {a, b}, {4}, {}, DType::I64).to_int64s(), (Ints{-9, 5, 6, 6}));
}

TEST(RefElementwise, RejectsBadShapes) {
  expect_rejected("Add", {F({3}, iota(3)), F({4}, iota(4))}, {4}, {}, "do not broadcast");
  expect_rejected("Add", {F({3}, iota(3)), F({1}, {1})}, {1, 3}, {}, "output shape");
  expect_rejected("Relu", {F({3}, iota(3))}, {4}, {}, "output shape");
}

// ------------------------------------------------------------------- pools

TEST(RefPool, GlobalAverage) {
  expect_floats_near(run1("GlobalAveragePool", {F({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40})},
                          {1, 2, 1, 1}),
                     {1, 2, 1, 1}, {2.5f, 25});
}

TEST(RefPool, MaxPool) {
  const Attrs k2s2 = make_attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}});
  expect_floats_near(run1("MaxPool", {image4x4()}, {1, 1, 2, 2}, k2s2), {1, 1, 2, 2},
                     {6, 8, 14, 16});
  // 3x3 stride 1 pad 1 over an increasing image: max is at the clipped bottom-right.
  expect_floats_near(
      run1("MaxPool", {image4x4()}, {1, 1, 4, 4},
           make_attrs({{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}})),
      {1, 1, 4, 4}, {6, 7, 8, 8, 10, 11, 12, 12, 14, 15, 16, 16, 14, 15, 16, 16});
  // Padding never wins a max, even over negative values.
  expect_floats_near(
      run1("MaxPool", {F({1, 1, 2, 2}, {-5, -6, -7, -8})}, {1, 1, 2, 2},
           make_attrs({{"kernel_shape", Ints{2, 2}}, {"pads", Ints{0, 0, 1, 1}}})),
      {1, 1, 2, 2}, {-5, -6, -7, -8});
  // kernel 2, dilation 2: max of x[i][j], x[i][j+2], x[i+2][j], x[i+2][j+2].
  expect_floats_near(
      run1("MaxPool", {image4x4()}, {1, 1, 2, 2},
           make_attrs({{"kernel_shape", Ints{2, 2}}, {"dilations", Ints{2, 2}}})),
      {1, 1, 2, 2}, {11, 12, 15, 16});
}

TEST(RefPool, AveragePoolPadding) {
  const Attrs base = make_attrs({{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}});
  // count_include_pad = 0: neighbourhood sum / number of real cells (4, 6 or 9).
  expect_floats_near(run1("AveragePool", {image4x4()}, {1, 1, 4, 4}, base), {1, 1, 4, 4},
                     {3.5f, 4, 5, 5.5f, 5.5f, 6, 7, 7.5f, 9.5f, 10, 11, 11.5f, 11.5f, 12, 13, 13.5f});
  Attrs incl = base;
  incl.set("count_include_pad", int64_t{1});
  std::vector<float> want = kSums3x3;
  for (float& v : want) v /= 9.f;
  expect_floats_near(run1("AveragePool", {image4x4()}, {1, 1, 4, 4}, incl), {1, 1, 4, 4}, want);
}

TEST(RefPool, CeilModeOutputShape) {
  // 3x3 image 1..9, kernel 2 stride 2: floor gives 1x1, ceil gives 2x2 whose
  // last windows are clipped to the image (divisor = real cells, also with
  // count_include_pad since the pads are 0, as in PyTorch / ONNX Runtime).
  Tensor x = F({1, 1, 3, 3}, iota(9));
  Attrs at = make_attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}});
  expect_floats_near(run1("AveragePool", {x}, {1, 1, 1, 1}, at), {1, 1, 1, 1}, {3});
  expect_floats_near(run1("AveragePool", {x}, {1, 1, 2, 2}, at), {1, 1, 2, 2}, {3, 4.5f, 7.5f, 9});
  expect_floats_near(run1("MaxPool", {x}, {1, 1, 2, 2}, at), {1, 1, 2, 2}, {5, 6, 8, 9});
  at.set("count_include_pad", int64_t{1});
  expect_floats_near(run1("AveragePool", {x}, {1, 1, 2, 2}, at), {1, 1, 2, 2}, {3, 4.5f, 7.5f, 9});
  // ceil_mode folded into a bottom/right pad of 1 instead: with
  // count_include_pad the pad cell now counts.
  at.set("pads", Ints{0, 0, 1, 1});
  expect_floats_near(run1("AveragePool", {x}, {1, 1, 2, 2}, at), {1, 1, 2, 2},
                     {3, 9.f / 4, 15.f / 4, 9.f / 4});
}

TEST(RefPool, RejectsBadShapes) {
  Tensor x = F({1, 1, 3, 3}, iota(9));
  const Attrs at = make_attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}});
  expect_rejected("MaxPool", {x}, {1, 1, 3, 3}, at, "expected 1 or 2");
  expect_rejected("MaxPool", {x}, {1, 1, 2, 2}, {}, "'kernel_shape' is missing");
  // Kernel 1 stride 2 with 2 bottom pads: output row 2 would read only padding.
  expect_rejected("MaxPool", {x}, {1, 1, 3, 2},
                  make_attrs({{"kernel_shape", Ints{1, 1}}, {"strides", Ints{2, 2}},
                              {"pads", Ints{0, 0, 2, 0}}}),
                  "pools only padding");
  expect_rejected("GlobalAveragePool", {x}, {1, 1, 1}, {}, "output shape");
}

// -------------------------------------------------------------- Gemm/MatMul

// A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]], A B = [[4,5],[10,11]].
const std::vector<float> kA = {1, 2, 3, 4, 5, 6}, kB = {1, 0, 0, 1, 1, 1};
const std::vector<float> kAt = {1, 4, 2, 5, 3, 6}, kBt = {1, 0, 1, 0, 1, 1};

TEST(RefGemm, AlphaBetaAndCBroadcast) {
  // 2 A B + 0.5 [10, 20] (row broadcast)
  expect_floats_near(run1("Gemm", {F({2, 3}, kA), F({3, 2}, kB), F({2}, {10, 20})}, {2, 2},
                          make_attrs({{"alpha", 2.f}, {"beta", 0.5f}})),
                     {2, 2}, {13, 20, 25, 32});
  // transposed operands, column C [2,1]
  expect_floats_near(run1("Gemm", {F({3, 2}, kAt), F({2, 3}, kBt), F({2, 1}, {1, 2})}, {2, 2},
                          make_attrs({{"transA", int64_t{1}}, {"transB", int64_t{1}}})),
                     {2, 2}, {5, 6, 12, 13});
  // scalar C, no C
  expect_floats_near(run1("Gemm", {F({2, 3}, kA), F({3, 2}, kB), F({}, {100})}, {2, 2}), {2, 2},
                     {104, 105, 110, 111});
  expect_floats_near(run1("Gemm", {F({2, 3}, kA), F({3, 2}, kB)}, {2, 2}), {2, 2}, {4, 5, 10, 11});
  expect_floats_near(
      run1("Gemm", {F({2, 3}, kA), F({2, 3}, kBt)}, {2, 2}, make_attrs({{"transB", int64_t{1}}})),
      {2, 2}, {4, 5, 10, 11});
}

TEST(RefGemm, Rejects) {
  expect_rejected("Gemm", {F({2, 3}, kA), F({2, 3}, kA)}, {2, 3}, {}, "inner dimensions differ");
  expect_rejected("Gemm", {F({2, 3}, kA), F({3, 2}, kB), F({3}, {1, 2, 3})}, {2, 2}, {},
                  "cannot broadcast");
}

TEST(RefMatMul, TwoDAndBatches) {
  expect_floats_near(run1("MatMul", {F({2, 3}, kA), F({3, 2}, kB)}, {2, 2}), {2, 2}, {4, 5, 10, 11});
  // A [2,2,3] (second batch = 2 A) x B [3,2]
  std::vector<float> a2 = kA;
  for (float v : kA) a2.push_back(2 * v);
  expect_floats_near(run1("MatMul", {F({2, 2, 3}, a2), F({3, 2}, kB)}, {2, 2, 2}), {2, 2, 2},
                     {4, 5, 10, 11, 8, 10, 20, 22});
  // A [2,3] x B [2,3,2] (second batch = 2 B)
  std::vector<float> b2 = kB;
  for (float v : kB) b2.push_back(2 * v);
  expect_floats_near(run1("MatMul", {F({2, 3}, kA), F({2, 3, 2}, b2)}, {2, 2, 2}), {2, 2, 2},
                     {4, 5, 10, 11, 8, 10, 20, 22});
  // A [2,1,1,3] x B [1,3,3,1] -> [2,3,1,1]: every a_i . b_j
  // a = [1,2,3], [1,1,1]; b = [1,0,0], [0,1,0], [1,1,1].
  expect_floats_near(run1("MatMul", {F({2, 1, 1, 3}, {1, 2, 3, 1, 1, 1}),
                                     F({1, 3, 3, 1}, {1, 0, 0, 0, 1, 0, 1, 1, 1})},
                          {2, 3, 1, 1}),
                     {2, 3, 1, 1}, {1, 2, 6, 1, 1, 3});
}

TEST(RefMatMul, OneD) {
  expect_floats_near(run1("MatMul", {F({3}, {1, 2, 3}), F({3, 2}, kB)}, {2}), {2}, {4, 5});
  expect_floats_near(run1("MatMul", {F({2, 3}, kA), F({3}, {1, 1, 1})}, {2}), {2}, {6, 15});
  expect_floats_near(run1("MatMul", {F({3}, {1, 2, 3}), F({3}, {4, 5, 6})}, {}), {}, {32});
  // [3] x [2,3,2] (second batch = 2 B) -> [2,2]
  std::vector<float> b2 = kB;
  for (float v : kB) b2.push_back(2 * v);
  expect_floats_near(run1("MatMul", {F({3}, {1, 2, 3}), F({2, 3, 2}, b2)}, {2, 2}), {2, 2},
                     {4, 5, 8, 10});
  expect_rejected("MatMul", {F({2, 3}, kA), F({2, 3}, kA)}, {2, 3}, {}, "inner dimensions differ");
  expect_rejected("MatMul", {F({2, 3}, kA), F({3, 2}, kB)}, {2, 3}, {}, "output shape");
}

// ------------------------------------------------------------- shape ops

TEST(RefShape, ReshapeCopies) {
  Tensor y = run1("Reshape", {F({2, 3}, iota(6))}, {3, 2}, make_attrs({{"shape", Ints{3, 2}}}));
  expect_floats_near(y, {3, 2}, iota(6));
  expect_rejected("Reshape", {F({2, 3}, iota(6))}, {4, 2}, {}, "cannot reshape");
  expect_rejected("Reshape", {F({2, 3}, iota(6))}, {3, 2}, make_attrs({{"shape", Ints{6}}}),
                  "output shape");
}

TEST(RefShape, Transpose) {
  // default perm reverses: [[1,2,3],[4,5,6]]^T
  expect_floats_near(run1("Transpose", {F({2, 3}, iota(6))}, {3, 2}), {3, 2}, {1, 4, 2, 5, 3, 6});
  // NCHW -> NHWC on [1,2,2,3]: y[h][w][c] = x[c][h][w]
  std::vector<float> x = iota(12, 0), want;
  for (int h = 0; h < 2; ++h)
    for (int w = 0; w < 3; ++w)
      for (int c = 0; c < 2; ++c) want.push_back(x[(c * 2 + h) * 3 + w]);
  expect_floats_near(run1("Transpose", {F({1, 2, 2, 3}, x)}, {1, 2, 3, 2},
                          make_attrs({{"perm", Ints{0, 2, 3, 1}}})),
                     {1, 2, 3, 2}, want);
  // any dtype (bytes)
  EXPECT_EQ(run1("Transpose", {Tensor::from_int64s({2, 2}, {1, 2, 3, 4})}, {2, 2}, {}, DType::I64)
                .to_int64s(),
            (Ints{1, 3, 2, 4}));
  expect_rejected("Transpose", {F({2, 3}, iota(6))}, {3, 2}, make_attrs({{"perm", Ints{0, 0}}}),
                  "not a permutation");
}

TEST(RefShape, Concat) {
  expect_floats_near(run1("Concat", {F({1, 2, 2}, {1, 2, 3, 4}), F({1, 1, 2}, {5, 6})}, {1, 3, 2},
                          make_attrs({{"axis", int64_t{1}}})),
                     {1, 3, 2}, {1, 2, 3, 4, 5, 6});
  expect_floats_near(run1("Concat", {F({2, 2}, {1, 2, 3, 4}), F({2, 1}, {5, 6})}, {2, 3},
                          make_attrs({{"axis", int64_t{1}}})),
                     {2, 3}, {1, 2, 5, 3, 4, 6});
  expect_floats_near(run1("Concat", {F({1, 2}, {1, 2}), F({2, 2}, {3, 4, 5, 6})}, {3, 2},
                          make_attrs({{"axis", int64_t{0}}})),
                     {3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(run1("Concat", {Tensor::from_int64s({2}, {1, -1}), Tensor::from_int64s({1}, {4})}, {3},
                 make_attrs({{"axis", int64_t{0}}}), DType::I64)
                .to_int64s(),
            (Ints{1, -1, 4}));
  expect_rejected("Concat", {F({1, 2}, {1, 2}), F({2, 3}, iota(6))}, {3, 2},
                  make_attrs({{"axis", int64_t{0}}}), "does not concatenate");
}

// ---------------------------------------------------------------- Softmax

TEST(RefSoftmax, StableAlongAxis) {
  // softmax([1,2,3]) = e^k / (e + e^2 + e^3); shifting by 1000 changes nothing.
  const std::vector<float> s = {0.09003057f, 0.24472847f, 0.66524096f};
  expect_floats_near(run1("Softmax", {F({2, 3}, {1, 2, 3, 1000, 1001, 1002})}, {2, 3},
                          make_attrs({{"axis", int64_t{1}}})),
                     {2, 3}, {s[0], s[1], s[2], s[0], s[1], s[2]}, 1e-6f);
  // axis 0 of [[0,1],[0,3]]: column 1 = [1, e^2] / (1 + e^2)
  expect_floats_near(run1("Softmax", {F({2, 2}, {0, 1, 0, 3})}, {2, 2},
                          make_attrs({{"axis", int64_t{0}}})),
                     {2, 2}, {0.5f, 0.11920292f, 0.5f, 0.88079708f}, 1e-6f);
  expect_rejected("Softmax", {F({2, 2}, iota(4))}, {2, 2}, make_attrs({{"axis", int64_t{2}}}),
                  "axis 2");
}

// ----------------------------------------------------------------- Resize

// Resize of the row [10,20,30,40] ([1,1,1,4]) to width `ow`.
std::vector<float> resize_row(int64_t ow, const std::string& mode, const std::string& ctm,
                              const std::string& nearest = "round_prefer_floor",
                              float scale_w = 0.f) {
  Attrs at = make_attrs({{"mode", mode},
                         {"coordinate_transformation_mode", ctm},
                         {"nearest_mode", nearest}});
  if (scale_w > 0.f) at.set("scale_w", scale_w);
  return run1("Resize", {F({1, 1, 1, 4}, {10, 20, 30, 40})}, {1, 1, 1, ow}, at).to_floats();
}

using Row = std::vector<float>;

TEST(RefResize, NearestUpsampleAllModes) {
  // asymmetric: x/2 = 0, .5, 1, 1.5, 2, 2.5, 3, 3.5 (ties at .5)
  EXPECT_EQ(resize_row(8, "nearest", "asymmetric", "floor"), (Row{10, 10, 20, 20, 30, 30, 40, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "asymmetric", "ceil"), (Row{10, 20, 20, 30, 30, 40, 40, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "asymmetric", "round_prefer_floor"),
            (Row{10, 10, 20, 20, 30, 30, 40, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "asymmetric", "round_prefer_ceil"),
            (Row{10, 20, 20, 30, 30, 40, 40, 40}));
  // half_pixel: x/2 - 0.25 = -.25, .25, .75, 1.25, 1.75, 2.25, 2.75, 3.25
  EXPECT_EQ(resize_row(8, "nearest", "half_pixel"), (Row{10, 10, 20, 20, 30, 30, 40, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "half_pixel", "floor"), (Row{10, 10, 10, 20, 20, 30, 30, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "half_pixel", "ceil"), (Row{10, 20, 20, 30, 30, 40, 40, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "pytorch_half_pixel", "floor"),
            (Row{10, 10, 10, 20, 20, 30, 30, 40}));
  // tf_half_pixel_for_nn: (x + .5)/2 = .25, .75, ..., 3.75
  EXPECT_EQ(resize_row(8, "nearest", "tf_half_pixel_for_nn"), (Row{10, 20, 20, 30, 30, 40, 40, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "tf_half_pixel_for_nn", "floor"),
            (Row{10, 10, 20, 20, 30, 30, 40, 40}));
  // align_corners: 3x/7 = 0, .43, .86, 1.29, 1.71, 2.14, 2.57, 3
  EXPECT_EQ(resize_row(8, "nearest", "align_corners"), (Row{10, 10, 20, 20, 30, 30, 40, 40}));
  EXPECT_EQ(resize_row(8, "nearest", "align_corners", "floor"), (Row{10, 10, 10, 20, 20, 30, 30, 40}));
}

TEST(RefResize, NearestDownsampleTies) {
  // half_pixel 4 -> 3 (scale .75): (x + .5)/.75 - .5 = 1/6, 1.5, 2.83
  EXPECT_EQ(resize_row(3, "nearest", "half_pixel", "round_prefer_floor"), (Row{10, 20, 40}));
  EXPECT_EQ(resize_row(3, "nearest", "half_pixel", "round_prefer_ceil"), (Row{10, 30, 40}));
  // align_corners 4 -> 3: 3x/2 = 0, 1.5, 3
  EXPECT_EQ(resize_row(3, "nearest", "align_corners", "round_prefer_floor"), (Row{10, 20, 40}));
  EXPECT_EQ(resize_row(3, "nearest", "align_corners", "round_prefer_ceil"), (Row{10, 30, 40}));
  // 4 -> 1: half_pixel .5/.25 - .5 = 1.5; pytorch_half_pixel and align_corners 0.
  EXPECT_EQ(resize_row(1, "nearest", "half_pixel", "round_prefer_floor"), (Row{20}));
  EXPECT_EQ(resize_row(1, "nearest", "half_pixel", "round_prefer_ceil"), (Row{30}));
  EXPECT_EQ(resize_row(1, "nearest", "pytorch_half_pixel", "round_prefer_ceil"), (Row{10}));
  EXPECT_EQ(resize_row(1, "nearest", "align_corners", "round_prefer_ceil"), (Row{10}));
}

TEST(RefResize, GivenScaleDrivesTheCoordinates) {
  // 6 outputs: with scale_w 1.7 (ONNX scales input, floor(4*1.7) = 6) x/1.7 =
  // 0, .59, 1.18, 1.76, 2.35, 2.94; with the size ratio 1.5: 0, .67, 1.33, 2, 2.67, 3.33.
  EXPECT_EQ(resize_row(6, "nearest", "asymmetric", "floor", 1.7f), (Row{10, 10, 20, 20, 30, 30}));
  EXPECT_EQ(resize_row(6, "nearest", "asymmetric", "floor"), (Row{10, 10, 20, 30, 30, 40}));
  // linear: 10 + 10 * clamp(x/1.7, 0, 3)
  const Row got = resize_row(6, "linear", "asymmetric", "floor", 1.7f);
  for (int x = 0; x < 6; ++x) EXPECT_NEAR(got[x], 10 + 10 * std::min(x / 1.7f, 3.f), 1e-4f);
}

TEST(RefResize, LinearRowAllModes) {
  // On this row value = 10 + 10 * clamp(coordinate, 0, 3).
  const std::vector<std::pair<std::string, Row>> cases = {
      {"half_pixel", {10, 12.5f, 17.5f, 22.5f, 27.5f, 32.5f, 37.5f, 40}},
      {"pytorch_half_pixel", {10, 12.5f, 17.5f, 22.5f, 27.5f, 32.5f, 37.5f, 40}},
      {"asymmetric", {10, 15, 20, 25, 30, 35, 40, 40}},
      {"tf_half_pixel_for_nn", {12.5f, 17.5f, 22.5f, 27.5f, 32.5f, 37.5f, 40, 40}},
      {"align_corners",
       {10, 10 + 30.f / 7, 10 + 60.f / 7, 10 + 90.f / 7, 10 + 120.f / 7, 10 + 150.f / 7,
        10 + 180.f / 7, 40}},
  };
  for (const auto& [ctm, want] : cases) {
    SCOPED_TRACE(ctm);
    const Row got = resize_row(8, "linear", ctm);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4f) << i;
  }
  EXPECT_NEAR(resize_row(1, "linear", "half_pixel")[0], 25, 1e-5f);  // coordinate 1.5
  EXPECT_NEAR(resize_row(1, "linear", "pytorch_half_pixel")[0], 10, 1e-5f);
}

TEST(RefResize, BilinearTwoD) {
  // [[0,10],[20,30]] -> 4x4 half_pixel: row/col weights 0, .25, .75, 1, y = 20 ly + 10 lx.
  expect_floats_near(
      run1("Resize", {F({1, 1, 2, 2}, {0, 10, 20, 30})}, {1, 1, 4, 4},
           make_attrs({{"mode", std::string("linear")},
                       {"coordinate_transformation_mode", std::string("half_pixel")}})),
      {1, 1, 4, 4}, {0, 2.5f, 7.5f, 10, 5, 7.5f, 12.5f, 15, 15, 17.5f, 22.5f, 25, 20, 22.5f, 27.5f, 30});
}

TEST(RefResize, NearestTwoDManyPlanes) {
  // [1,2,2,3] -> [1,2,4,6], asymmetric floor: y[c][i][j] = x[c][i/2][j/2]
  std::vector<float> x = iota(12), want;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 6; ++j) want.push_back(x[(c * 2 + i / 2) * 3 + j / 2]);
  expect_floats_near(
      run1("Resize", {F({1, 2, 2, 3}, x)}, {1, 2, 4, 6},
           make_attrs({{"coordinate_transformation_mode", std::string("asymmetric")},
                       {"nearest_mode", std::string("floor")}})),
      {1, 2, 4, 6}, want, 0.f);
}

TEST(RefResize, Rejects) {
  Tensor x = F({1, 1, 2, 2}, iota(4));
  expect_rejected("Resize", {x}, {1, 1, 4, 4}, make_attrs({{"mode", std::string("cubic")}}),
                  "unsupported mode 'cubic'");
  expect_rejected("Resize", {x}, {1, 1, 4, 4},
                  make_attrs({{"coordinate_transformation_mode", std::string("tf_crop_and_resize")}}),
                  "unsupported coordinate_transformation_mode");
  expect_rejected("Resize", {x}, {1, 1, 4, 4},
                  make_attrs({{"nearest_mode", std::string("simple")}}), "unsupported nearest_mode");
  expect_rejected("Resize", {x}, {1, 2, 4, 4}, {}, "only the last two dims");
}

}  // namespace
}  // namespace vedge

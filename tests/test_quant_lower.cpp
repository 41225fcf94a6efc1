// test_quant_lower.cpp: the reference quantization kernels (ops/ref_quant.cpp)
// on small hand-computed cases (the arithmetic is in the comments), and
// lower_qdq / fold_dequantized_constants on graphs built in memory.
// Depends on runtime/ (graph.h, executor.h, quant_lower.h) and GoogleTest.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/graph.h"
#include "runtime/quant_lower.h"

namespace vedge {
namespace {

Tensor i8(Shape s, const std::vector<int> v) {
  Tensor t(DType::I8, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data<int8_t>()[i] = static_cast<int8_t>(v[i]);
  return t;
}
Tensor u8(Shape s, const std::vector<int> v) {
  Tensor t(DType::U8, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
  return t;
}
Tensor i32(Shape s, const std::vector<int> v) {
  Tensor t(DType::I32, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
  return t;
}
std::vector<int> ints(const Tensor& t) {
  std::vector<int> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<int>(t.at_i64(i)));
  return v;
}
QuantParams qp(float s, int z) { return {{s}, {z}, -1}; }

// One node over values added to a graph; runs the reference kernel.
struct OneNode {
  Graph g;
  Node n;
  std::vector<Tensor> in;
  int add_in(Tensor t, QuantParams q = {}, bool constant = false) {
    Value v;
    v.name = "in" + std::to_string(n.inputs.size());
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.quant = std::move(q);
    if (constant) v.constant = t;
    const int id = g.add_value(v);
    n.inputs.push_back(id);
    in.push_back(t);
    return id;
  }
  void add_out(DType dt, Shape s, QuantParams q = {}) {
    Value v;
    v.name = "out";
    v.dtype = dt;
    v.shape = std::move(s);
    v.quant = std::move(q);
    n.outputs.push_back(g.add_value(v));
  }
  Tensor run() { return eval_node_reference(g, n, in).at(0); }
};

TEST(RefQuant, QuantizeLinearPerTensorRoundsHalfToEvenAndSaturates) {
  OneNode t;
  t.n.op = "QuantizeLinear";
  t.add_in(Tensor::from_floats({5}, {-1.f, 0.25f, 0.3f, 2.6f, 100.f}));
  t.add_in(Tensor::from_floats({}, {0.5f}), {}, true);
  t.add_in(i8({}, {1}), {}, true);
  t.add_out(DType::I8, {5});
  // x / 0.5 = -2, 0.5, 0.6, 5.2, 200 -> round half even -2, 0, 1, 5, 200
  // -> + 1 = -1, 1, 2, 6, 201 -> saturate to 127.
  EXPECT_EQ(ints(t.run()), (std::vector<int>{-1, 1, 2, 6, 127}));
}

TEST(RefQuant, QuantizeLinearPerAxisUint8) {
  OneNode t;
  t.n.op = "QuantizeLinear";
  t.n.attrs.set("axis", int64_t{0});
  t.add_in(Tensor::from_floats({2, 2}, {1.5f, -20.f, 1.25f, 200.f}));
  t.add_in(Tensor::from_floats({2}, {1.f, 0.5f}), {}, true);
  t.add_in(u8({2}, {10, 0}), {}, true);
  t.add_out(DType::U8, {2, 2});
  // row 0 (scale 1, zp 10): 1.5 -> 2 (tie to even) + 10 = 12; -20 + 10 = -10 -> 0.
  // row 1 (scale 0.5, zp 0): 2.5 -> 2; 400 -> 255.
  EXPECT_EQ(ints(t.run()), (std::vector<int>{12, 0, 2, 255}));
}

TEST(RefQuant, DequantizeLinearPerAxisAndInt32) {
  OneNode t;
  t.n.op = "DequantizeLinear";
  t.n.attrs.set("axis", int64_t{1});
  t.add_in(i8({2, 2}, {-128, 5, 3, 127}));
  t.add_in(Tensor::from_floats({2}, {0.5f, 2.f}), {}, true);
  t.add_in(i8({2}, {-128, 1}), {}, true);
  t.add_out(DType::F32, {2, 2});
  // column 0: (q + 128) * 0.5; column 1: (q - 1) * 2.
  // (-128+128)*.5 = 0, (5-1)*2 = 8, (3+128)*.5 = 65.5, (127-1)*2 = 252.
  EXPECT_EQ(t.run().to_floats(), (std::vector<float>{0.f, 8.f, 65.5f, 252.f}));

  OneNode b;  // int32 bias: q * scale
  b.n.op = "DequantizeLinear";
  b.add_in(i32({3}, {-1000, 0, 7}));
  b.add_in(Tensor::from_floats({}, {0.125f}), {}, true);
  b.add_in(i32({}, {0}), {}, true);
  b.add_out(DType::F32, {3});
  EXPECT_EQ(b.run().to_floats(), (std::vector<float>{-125.f, 0.f, 0.875f}));
}

// QConv 1x1 on a [1,2,1,2] input: x channel 0 = [10, -5], channel 1 = [3, 0],
// sx = 0.5, zx = 2; W = [[1, 2], [-3, 4]], sw = [0.25, 0.5]; bias [4, -8];
// sy = 1, zy = -1. Multipliers m0 = 0.5*0.25/1 = 0.125, m1 = 0.25.
//   pixel 0: centred x = (8, 1): acc0 = 4 + 8 + 2 = 14 -> 1.75 -> 2 - 1 = 1
//                               acc1 = -8 - 24 + 4 = -28 -> -7 -> -8
//   pixel 1: centred x = (-7, -2): acc0 = 4 - 7 - 4 = -7 -> -0.875 -> -1 - 1 = -2
//                                 acc1 = -8 + 21 - 8 = 5 -> 1.25 -> 1 - 1 = 0
// With relu the output range starts at quantize(0) = zy = -1.
OneNode qconv_case(const std::string& activation) {
  OneNode t;
  t.n.op = "QConv";
  t.n.attrs.set("strides", std::vector<int64_t>{1, 1});
  t.n.attrs.set("pads", std::vector<int64_t>{0, 0, 0, 0});
  t.n.attrs.set("dilations", std::vector<int64_t>{1, 1});
  t.n.attrs.set("group", int64_t{1});
  if (!activation.empty()) t.n.attrs.set("activation", activation);
  t.add_in(i8({1, 2, 1, 2}, {10, -5, 3, 0}), qp(0.5f, 2));
  t.add_in(i8({2, 2, 1, 1}, {1, 2, -3, 4}), {{0.25f, 0.5f}, {0, 0}, 0}, true);
  t.add_in(i32({2}, {4, -8}), {{0.125f, 0.25f}, {0, 0}, 0}, true);
  t.add_out(DType::I8, {1, 2, 1, 2}, qp(1.f, -1));
  return t;
}

TEST(RefQuant, QConvHandComputed) {
  EXPECT_EQ(ints(qconv_case("").run()), (std::vector<int>{1, -2, -8, 0}));
  EXPECT_EQ(ints(qconv_case("relu").run()), (std::vector<int>{1, -1, -1, 0}));
}

TEST(RefQuant, QConvPaddingContributesNothing) {
  // 3x3 kernel of ones over a 1x1 input with pads 1: only the centre tap is
  // inside, acc = x - zx = 7 - 3 = 4; m = 1*1/2 = 0.5 -> 2.
  OneNode t;
  t.n.op = "QConv";
  t.n.attrs.set("strides", std::vector<int64_t>{1, 1});
  t.n.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  t.n.attrs.set("dilations", std::vector<int64_t>{1, 1});
  t.add_in(i8({1, 1, 1, 1}, {7}), qp(1.f, 3));
  t.add_in(i8({1, 1, 3, 3}, std::vector<int>(9, 1)), {{1.f}, {0}, 0}, true);
  t.add_out(DType::I8, {1, 1, 1, 1}, qp(2.f, 0));
  EXPECT_EQ(ints(t.run()), (std::vector<int>{2}));
}

TEST(RefQuant, QAddBroadcastTiesToEven) {
  // a = [10, -20] (sa 0.5, za 0), b = [4] broadcast (sb 0.25, zb 2), sy 1 zy 0:
  // 5 + 0.5 = 5.5 -> 6; -10 + 0.5 = -9.5 -> -10 (ties to even).
  OneNode t;
  t.n.op = "QAdd";
  t.add_in(i8({2}, {10, -20}), qp(0.5f, 0));
  t.add_in(i8({1}, {4}), qp(0.25f, 2));
  t.add_out(DType::I8, {2}, qp(1.f, 0));
  EXPECT_EQ(ints(t.run()), (std::vector<int>{6, -10}));
}

TEST(RefQuant, QMulSeBroadcast) {
  // x [1,2,1,2] (sx 0.5, zx 0) times per-channel gate [1,2,1,1] (sb 0.1, zb 1),
  // sy 0.2, zy 3: m = 0.5*0.1/0.2 = 0.25.
  //   channel 0 gate 5 -> centred 4: 10*4*0.25 = 10 -> 13; -3*4*0.25 = -3 -> 0
  //   channel 1 gate 3 -> centred 2: 2*2*0.25 = 1 -> 4; 5*2*0.25 = 2.5 -> 2 -> 5
  OneNode t;
  t.n.op = "QMul";
  t.add_in(i8({1, 2, 1, 2}, {10, -3, 2, 5}), qp(0.5f, 0));
  t.add_in(i8({1, 2, 1, 1}, {5, 3}), qp(0.1f, 1));
  t.add_out(DType::I8, {1, 2, 1, 2}, qp(0.2f, 3));
  EXPECT_EQ(ints(t.run()), (std::vector<int>{13, 0, 4, 5}));
}

TEST(RefQuant, QGlobalAveragePool) {
  // channel 0: x = [1,2,3,6], zx 1 -> sum 0+1+2+5 = 8; m = 0.5/(0.25*4) = 0.5 -> 4.
  // channel 1: x = [-128,-128,-128,-127], zx 1 -> sum -129*3 - 128 = -515;
  //   * 0.5 = -257.5 -> saturates at -128.
  OneNode t;
  t.n.op = "QGlobalAveragePool";
  t.add_in(i8({1, 2, 2, 2}, {1, 2, 3, 6, -128, -128, -128, -127}), qp(0.5f, 1));
  t.add_out(DType::I8, {1, 2, 1, 1}, qp(0.25f, 0));
  EXPECT_EQ(ints(t.run()), (std::vector<int>{4, -128}));
}

TEST(RefQuant, QLutIndexesByXPlus128) {
  OneNode t;
  t.n.op = "QLut";
  std::vector<int64_t> table(256);
  for (int i = 0; i < 256; ++i) table[i] = 127 - i;  // y = -1 - x
  t.n.attrs.set("table", table);
  t.add_in(i8({3}, {-128, 0, 127}), qp(1.f, 0));
  t.add_out(DType::I8, {3}, qp(1.f, 0));
  EXPECT_EQ(ints(t.run()), (std::vector<int>{127, -1, -128}));
}

TEST(RefQuant, QConcatRequantizesEachInput) {
  // in0 = [10] (s 0.5, z 0) -> 5 -> +1 = 6; in1 = [4, -4] (s 1, z 0) -> 5, -3;
  // output s 1, z 1.
  OneNode t;
  t.n.op = "QConcat";
  t.n.attrs.set("axis", int64_t{1});
  t.add_in(i8({1, 1}, {10}), qp(0.5f, 0));
  t.add_in(i8({1, 2}, {4, -4}), qp(1.f, 0));
  t.add_out(DType::I8, {1, 3}, qp(1.f, 1));
  EXPECT_EQ(ints(t.run()), (std::vector<int>{6, 5, -3}));
}

TEST(RefQuant, MissingQuantParamsIsOneClearError) {
  OneNode t;
  t.n.name = "q";
  t.n.op = "QAdd";
  t.add_in(i8({1}, {1}));  // no Value::quant
  t.add_in(i8({1}, {1}), qp(1.f, 0));
  t.add_out(DType::I8, {1}, qp(1.f, 0));
  try {
    t.run();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no quantization parameters"), std::string::npos)
        << e.what();
  }
}

// ---- lowering on graphs built in memory ----------------------------------------------

// float x -> Q -> DQ -> Conv(W = DQ(int8 per-channel), B = DQ(int32)) -> Relu -> Q -> DQ -> y
struct ConvGraph {
  Graph g;
  int add(const std::string& name, DType dt, Shape s) {
    Value v;
    v.name = name;
    v.dtype = dt;
    v.shape = std::move(s);
    return g.add_value(v);
  }
  void node(const std::string& op, std::vector<int> in, std::vector<int> out, Attrs a = {}) {
    Node n;
    n.name = op + std::to_string(g.nodes.size());
    n.op = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    n.attrs = std::move(a);
    g.nodes.push_back(n);
  }
  ConvGraph(float bias_scale) {
    const int x = add("x", DType::F32, {1, 2, 3, 3});
    g.inputs = {x};
    const int sx = g.add_constant("sx", Tensor::from_floats({}, {0.02f}));
    const int zx = g.add_constant("zx", i8({}, {-3}));
    const int xq = add("xq", DType::I8, {1, 2, 3, 3});
    const int xd = add("xd", DType::F32, {1, 2, 3, 3});
    node("QuantizeLinear", {x, sx, zx}, {xq});
    node("DequantizeLinear", {xq, sx, zx}, {xd});
    const int w = g.add_constant("w", i8({2, 2, 1, 1}, {10, -20, 30, 127}));
    const int sw = g.add_constant("sw", Tensor::from_floats({2}, {0.01f, 0.002f}));
    const int zw = g.add_constant("zw", i8({2}, {0, 0}));
    const int wd = add("wd", DType::F32, {2, 2, 1, 1});
    Attrs axis0;
    axis0.set("axis", int64_t{0});
    node("DequantizeLinear", {w, sw, zw}, {wd}, axis0);
    const int b = g.add_constant("b", i32({2}, {100, -50}));
    const int sb = g.add_constant("sb", Tensor::from_floats({2}, {bias_scale, bias_scale}));
    const int zb = g.add_constant("zb", i32({2}, {0, 0}));
    const int bd = add("bd", DType::F32, {2});
    node("DequantizeLinear", {b, sb, zb}, {bd}, axis0);
    Attrs ca;
    ca.set("strides", std::vector<int64_t>{1, 1});
    ca.set("pads", std::vector<int64_t>{0, 0, 0, 0});
    ca.set("dilations", std::vector<int64_t>{1, 1});
    ca.set("group", int64_t{1});
    const int c = add("c", DType::F32, {1, 2, 3, 3});
    node("Conv", {xd, wd, bd}, {c}, ca);
    const int r = add("r", DType::F32, {1, 2, 3, 3});
    node("Relu", {c}, {r});
    const int sy = g.add_constant("sy", Tensor::from_floats({}, {0.01f}));
    const int zy = g.add_constant("zy", i8({}, {-128}));
    const int yq = add("yq", DType::I8, {1, 2, 3, 3});
    const int y = add("y", DType::F32, {1, 2, 3, 3});
    node("QuantizeLinear", {r, sy, zy}, {yq});
    node("DequantizeLinear", {yq, sy, zy}, {y});
    g.outputs = {y};
  }
};

Tensor run_graph(const Graph& g, const Tensor& x) {
  SessionOptions o;
  o.backend = Backend::Reference;
  Session s(g, o);
  s.set_input(0, x);
  s.run();
  return s.output(0);
}

TEST(LowerQdq, ConvReluBecomesQConvWithBiasAtInputTimesWeightScale) {
  ConvGraph cg(0.02f * 0.01f);  // sb[0] exact for channel 0 only
  Tensor x(DType::F32, {1, 2, 3, 3});
  for (int i = 0; i < 18; ++i) x.data<float>()[i] = -1.f + 0.13f * static_cast<float>(i);
  const Tensor want = run_graph(cg.g, x);  // float Conv between Q/DQ
  Graph g = cg.g;
  EXPECT_EQ(lower_qdq(g), 1);
  g.prune();
  fold_dequantized_constants(g);
  g.prune();
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 1);
  EXPECT_EQ(h["Conv"], 0);
  EXPECT_EQ(h["Relu"], 0);
  const Node* qc = nullptr;
  for (const Node& n : g.nodes)
    if (n.op == "QConv") qc = &n;
  ASSERT_NE(qc, nullptr);
  EXPECT_EQ(qc->attrs.get_s("activation"), "relu");
  const Value& w = g.values[qc->inputs[1]];
  EXPECT_EQ(w.quant.axis, 0);
  EXPECT_EQ(w.quant.scale, (std::vector<float>{0.01f, 0.002f}));
  const Value& b = g.values[qc->inputs[2]];
  ASSERT_EQ(b.dtype, DType::I32);
  EXPECT_EQ(b.quant.scale[0], 0.02f * 0.01f);
  EXPECT_EQ(b.quant.scale[1], 0.02f * 0.002f);
  // channel 0 reused as is; channel 1's bias -50 at 2e-4 is -0.01 real,
  // requantized to -0.01 / 4e-5 = -250.
  EXPECT_EQ(b.constant.data<int32_t>()[0], 100);
  EXPECT_EQ(b.constant.data<int32_t>()[1], -250);
  EXPECT_TRUE(g.values[qc->outputs[0]].quant.present());
  EXPECT_TRUE(g.values[qc->inputs[0]].quant.present());
  const Tensor got = run_graph(g, x);
  int off = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    off += std::fabs(got.data<float>()[i] - want.data<float>()[i]) > 0.01f * 1.001f;
  EXPECT_EQ(off, 0);
}

TEST(LowerQdq, SimulateFoldsOnlyConstantDequantize) {
  ConvGraph cg(0.02f * 0.01f);
  Graph g = cg.g;
  EXPECT_EQ(fold_dequantized_constants(g), 2);  // W and B
  g.prune();
  auto h = op_histogram(g);
  EXPECT_EQ(h["DequantizeLinear"], 2);  // the activations'
  EXPECT_EQ(h["QuantizeLinear"], 2);
  EXPECT_EQ(h["Conv"], 1);
  for (const Node& n : g.nodes)
    if (n.op == "Conv") {
      ASSERT_TRUE(g.values[n.inputs[1]].is_constant());
      // W[1][1] = 127 * 0.002
      EXPECT_FLOAT_EQ(g.values[n.inputs[1]].constant.data<float>()[3], 127 * 0.002f);
    }
}

TEST(LowerQdq, NonZeroWeightZeroPointStaysFloat) {
  ConvGraph cg(0.02f * 0.01f);
  Graph g = cg.g;
  g.values[g.find_value("zw")].constant.data<int8_t>()[1] = 3;
  EXPECT_EQ(lower_qdq(g), 0);
  EXPECT_EQ(op_histogram(g)["QConv"], 0);
}

}  // namespace
}  // namespace vedge

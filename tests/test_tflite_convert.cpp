// test_tflite_convert.cpp: graph_to_tflite (tools/export/tflite_convert.h).
// Float variants are checked end to end against an independent reference:
// convert, serialize (tflite_writer.h), import back with
// runtime/tflite_import.h (which knows nothing of the converter) and run in a
// Session next to the source graph: fp32 equal within 1e-5; fp16 and
// dynamic equal to the source graph whose weights carry the same rounding
// (float16, resp. int8 per-channel dequantized), computed here by hand.
// Integer models (lowered QDQ) are checked for structure: op codes, int8
// tensors, per-channel filter scales, bias scales sx * sw[c], zero points;
// the numeric check of the demo model against LiteRT is test_tflite_litert.
// Small hand-built graphs (float, and int8 with the ops the demo model does
// not have: LOGISTIC, HardSigmoid with alpha != 1/6, requantizing
// CONCATENATION) also run in LiteRT.js (tests/litert_peer.h), a runtime
// independent of our importer, against our Session.
// The SSDLite models come from the export_test_models CTest fixture
// (build/testwork/models); tests that need them skip when absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "litert_peer.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/graph.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "runtime/passes.h"
#include "runtime/tflite_import.h"
#include "tools/export/tflite_convert.h"
#include "tools/export/tflite_writer.h"
#include "tools/quantize/calibrate.h"
#include "tools/quantize/qdq_builder.h"

namespace vedge {
namespace {

namespace fs = std::filesystem;
using tflite::Op;
using tflite::TensorType;

const std::string kModels = std::string(VEDGE_TEST_WORK_DIR) + "/models";
const std::string kSmall = kModels + "/ssdlite320_mobilenet_v3_small_2fm_op17.onnx";
const std::string kSmallInput = kModels + "/ssdlite320_mobilenet_v3_small_2fm.input.npy";
const std::string kLarge = kModels + "/ssdlite320_mobilenet_v3_large_op13.onnx";

#define NEED_MODEL(path) \
  if (!fs::exists(path)) \
  GTEST_SKIP() << path << " absent: the export_test_models CTest fixture writes it"

Tensor random_tensor(const Shape& s, unsigned seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(numel(s)));
  for (float& x : v) x = u(rng);
  return Tensor::from_floats(s, v);
}

// NCHW -> NHWC of a [N,C,H,W] float tensor.
Tensor to_nhwc(const Tensor& t) {
  const Shape& s = t.shape();
  Tensor r(DType::F32, {s[0], s[2], s[3], s[1]});
  const float* p = t.data<float>();
  float* q = r.data<float>();
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t h = 0; h < s[2]; ++h)
        for (int64_t w = 0; w < s[3]; ++w)
          q[((n * s[2] + h) * s[3] + w) * s[1] + c] = p[((n * s[1] + c) * s[2] + h) * s[3] + w];
  return r;
}

// Runs g on one input; outputs by name.
std::map<std::string, Tensor> run(const Graph& g, const Tensor& input) {
  Session s(g);
  s.set_input(0, input);
  s.run();
  std::map<std::string, Tensor> out;
  for (int i = 0; i < s.num_outputs(); ++i) out[s.output_info(i).name] = s.output(i);
  return out;
}

// The converted model, serialized and imported back.
Graph round_trip(const tflite::Model& m, TfliteModelInfo* info = nullptr) {
  return import_tflite_bytes(tflite::serialize(m), "converted.tflite", info);
}

// Every output of `want` within atol + rtol * |want| in `got` (same names).
void expect_close(const std::map<std::string, Tensor>& got,
                  const std::map<std::string, Tensor>& want, float atol, float rtol) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want) {
    ASSERT_TRUE(got.count(name)) << "output " << name << " missing";
    const Tensor& gt = got.at(name);
    ASSERT_EQ(shape_str(gt.shape()), shape_str(w.shape())) << name;
    const std::vector<float> a = gt.to_floats(), b = w.to_floats();
    float worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const float e = std::fabs(a[i] - b[i]) - rtol * std::fabs(b[i]);
      if (e > worst) worst = e, at = i;
    }
    EXPECT_LE(worst, atol) << name << " element " << at << ": " << a[at] << " vs " << b[at];
  }
}

std::map<Op, int> op_counts(const tflite::Model& m) {
  std::map<Op, int> c;
  for (const tflite::Operator& o : m.operators) ++c[o.op];
  return c;
}

const tflite::Tensor& tensor(const tflite::Model& m, int32_t i) {
  return m.tensors.at(static_cast<size_t>(i));
}

// The demo model converted with `opt`, checked against `reference` (the
// source graph, possibly with rounded weights) on the fixture input.
void check_float_variant(const Graph& source, const Graph& reference, TfliteWeights w, float atol,
                         float rtol, tflite::Model* out = nullptr) {
  TfliteConvertOptions opt;
  opt.weights = w;
  const tflite::Model m = graph_to_tflite(source, opt);
  TfliteModelInfo info;
  const Graph back = round_trip(m, &info);
  ASSERT_EQ(info.inputs.size(), 1u);
  const Shape in_shape = source.values[static_cast<size_t>(source.inputs[0])].shape;
  EXPECT_EQ(info.inputs[0].name, source.values[static_cast<size_t>(source.inputs[0])].name);
  EXPECT_EQ(shape_str(info.inputs[0].shape),
            shape_str({in_shape[0], in_shape[2], in_shape[3], in_shape[1]}));
  const Tensor x = fs::exists(kSmallInput) && in_shape == Shape{1, 3, 320, 320}
                       ? read_npy(kSmallInput)
                       : random_tensor(in_shape, 7);
  expect_close(run(back, to_nhwc(x)), run(reference, x), atol, rtol);
  if (out) *out = m;
}

// ---- the SSDLite test detectors ----------------------------------------------------------

TEST(TfliteConvertModel, Fp32SmallMatchesSourceAndHeadIsPlainReshape) {
  NEED_MODEL(kSmall);
  const Graph g = import_onnx_file(kSmall);
  tflite::Model m;
  check_float_variant(g, g, TfliteWeights::Float32, 1e-5f, 1e-5f, &m);
  // Graph I/O keep the IR names; boxes/scores keep their IR shapes.
  ASSERT_EQ(m.outputs.size(), 2u);
  EXPECT_EQ(tensor(m, m.outputs[0]).name, "boxes");
  EXPECT_EQ(tensor(m, m.outputs[1]).name, "scores");
  EXPECT_EQ(tensor(m, m.outputs[0]).shape, (std::vector<int32_t>{1, 3000, 4}));
  EXPECT_EQ(tensor(m, m.outputs[1]).shape, (std::vector<int32_t>{1, 3000, 81}));
  EXPECT_EQ(tensor(m, m.inputs[0]).shape, (std::vector<int32_t>{1, 320, 320, 3}));
  // The head's Transpose(0,2,3,1) + Reshape is one RESHAPE of the NHWC conv
  // output: no TRANSPOSE anywhere. HardSigmoid(1/6, 1/2) = relu6(x + 3) / 6:
  // one ADD with fused RELU6 and one MUL per gate (9 gates).
  const std::map<Op, int> c = op_counts(m);
  EXPECT_EQ(c.count(Op::Transpose), 0u);
  EXPECT_EQ(c.at(Op::Reshape), 8);
  EXPECT_EQ(c.at(Op::Mean), 9);
  EXPECT_EQ(c.at(Op::Concatenation), 2);
  int relu6_adds = 0;
  for (const tflite::Operator& o : m.operators)
    if (o.op == Op::Add && o.options.activation == tflite::Activation::Relu6) ++relu6_adds;
  EXPECT_EQ(relu6_adds, 9);
  EXPECT_EQ(c.at(Op::Conv2D) + c.at(Op::DepthwiseConv2D), 60);
  EXPECT_GT(c.at(Op::DepthwiseConv2D), 0);
  EXPECT_GT(c.at(Op::HardSwish), 0);
}

TEST(TfliteConvertModel, Fp32LargeMatchesSource) {
  NEED_MODEL(kLarge);
  const Graph g = import_onnx_file(kLarge);
  check_float_variant(g, g, TfliteWeights::Float32, 1e-5f, 1e-5f);
}

// The source graph with every float constant of >= 2 elements rounded to
// float16, as the fp16 variant stores it.
Graph fp16_rounded(Graph g) {
  for (Value& v : g.values) {
    if (!v.is_constant() || v.dtype != DType::F32 || v.constant.numel() < 2) continue;
    std::vector<float> f = v.constant.to_floats();
    for (float& x : f) x = half_to_float(float_to_half(x));
    v.constant = Tensor::from_floats(v.constant.shape(), f);
  }
  return g;
}

TEST(TfliteConvertModel, Fp16IsHalfSizeAndMatchesRoundedSource) {
  NEED_MODEL(kSmall);
  const Graph g = import_onnx_file(kSmall);
  tflite::Model m16, m32;
  check_float_variant(g, fp16_rounded(g), TfliteWeights::Float16, 1e-5f, 1e-4f, &m16);
  m32 = graph_to_tflite(g);
  // Every conv filter is a float16 constant DEQUANTIZEd to float32.
  int fp16_filters = 0;
  for (const tflite::Operator& o : m16.operators) {
    if (o.op != Op::Conv2D && o.op != Op::DepthwiseConv2D) continue;
    const tflite::Tensor& w = tensor(m16, o.inputs[1]);
    EXPECT_EQ(w.type, TensorType::Float32);
    EXPECT_EQ(w.buffer, 0u) << w.name << " should be a DEQUANTIZE result";
    for (const tflite::Operator& d : m16.operators)
      if (d.op == Op::Dequantize && d.outputs[0] == o.inputs[1]) {
        EXPECT_EQ(tensor(m16, d.inputs[0]).type, TensorType::Float16);
        ++fp16_filters;
      }
  }
  EXPECT_EQ(fp16_filters, 60);
  const size_t b16 = tflite::serialize(m16).size(), b32 = tflite::serialize(m32).size();
  EXPECT_LE(static_cast<double>(b16), 0.52 * static_cast<double>(b32)) << b16 << " vs " << b32;
}

// The source graph with conv weights int8 per-channel (qdq_builder.h) and
// dequantized: what the dynamic variant computes with.
Graph dynamic_rounded(Graph g) {
  for (const Node& n : g.nodes) {
    if (n.op != "Conv") continue;
    Value& w = g.values[static_cast<size_t>(n.inputs[1])];
    const std::vector<float> s = weight_scales(w.constant);
    const Tensor q = quantize_weights(w.constant, s);
    std::vector<float> f(static_cast<size_t>(q.numel()));
    const int64_t per = q.numel() / q.shape()[0];
    for (size_t i = 0; i < f.size(); ++i)
      f[i] = static_cast<float>(q.data<int8_t>()[i]) * s[i / static_cast<size_t>(per)];
    w.constant = Tensor::from_floats(w.shape, f);
  }
  return g;
}

TEST(TfliteConvertModel, DynamicInt8WeightsMatchDequantizedSource) {
  NEED_MODEL(kSmall);
  const Graph g = import_onnx_file(kSmall);
  tflite::Model m;
  check_float_variant(g, dynamic_rounded(g), TfliteWeights::Int8, 1e-5f, 1e-4f, &m);
  int int8_filters = 0;
  for (const tflite::Operator& d : m.operators) {
    if (d.op != Op::Dequantize) continue;
    const tflite::Tensor& q = tensor(m, d.inputs[0]);
    ASSERT_EQ(q.type, TensorType::Int8);
    // Per output channel: [O,KH,KW,I] along 0, depthwise [1,KH,KW,C] along 3.
    const int32_t dim = q.quant.quantized_dimension;
    EXPECT_TRUE(dim == 0 || dim == 3);
    EXPECT_EQ(q.quant.scale.size(), static_cast<size_t>(q.shape[static_cast<size_t>(dim)]));
    for (int64_t z : q.quant.zero_point) EXPECT_EQ(z, 0);
    ++int8_filters;
  }
  EXPECT_EQ(int8_filters, 60);
}

// ---- INT8 (lowered QDQ graph) -----------------------------------------------------------

// The demo model quantized as tools/quantize does (calibrated on the fixture
// input and three random images), lowered as the importer lowers a QDQ file.
Graph int8_graph(DType io, DType activations = DType::I8) {
  const Graph f = import_onnx_file(kSmall);
  const Graph prepared = prepare_for_quantization(f);
  QdqOptions qo;
  qo.io = io;
  qo.activations = activations;
  CalibrationSet set;
  set.inputs.push_back(read_npy(kSmallInput));
  for (unsigned i = 0; i < 3; ++i)
    set.inputs.push_back(random_tensor({1, 3, 320, 320}, 11 + i, -2.f, 2.f));
  std::vector<std::string> values;
  for (const QuantPoint& p : quantization_points(prepared, qo)) values.push_back(p.value);
  const std::map<std::string, TensorRange> ranges =
      calibrate(prepared, values, set, CalibOptions{});
  Graph q = build_qdq_graph(prepared, ranges, qo);
  optimize_graph(q, QdqMode::Integer);
  return q;
}

// The quantization parameters of tensor i as (scale, zero point).
std::pair<float, int64_t> qp(const tflite::Model& m, int32_t i) {
  const tflite::Quantization& q = tensor(m, i).quant;
  EXPECT_EQ(q.scale.size(), 1u) << tensor(m, i).name;
  return {q.scale.at(0), q.zero_point.at(0)};
}

void check_int8_structure(const tflite::Model& m) {
  const std::map<Op, int> c = op_counts(m);
  EXPECT_EQ(c.at(Op::Conv2D) + c.at(Op::DepthwiseConv2D), 60);
  EXPECT_EQ(c.count(Op::Transpose), 0u);
  EXPECT_EQ(c.count(Op::Logistic), 0u);  // the gates are HardSigmoid: ADD(relu6) + MUL
  for (const tflite::Operator& o : m.operators) {
    if (o.op == Op::Conv2D || o.op == Op::DepthwiseConv2D) {
      const tflite::Tensor &x = tensor(m, o.inputs[0]), &w = tensor(m, o.inputs[1]),
                           &b = tensor(m, o.inputs[2]), &y = tensor(m, o.outputs[0]);
      EXPECT_EQ(x.type, TensorType::Int8);
      EXPECT_EQ(y.type, TensorType::Int8);
      ASSERT_EQ(w.type, TensorType::Int8) << w.name;
      ASSERT_EQ(b.type, TensorType::Int32) << b.name;
      const bool dw = o.op == Op::DepthwiseConv2D;
      const size_t M = static_cast<size_t>(dw ? w.shape[3] : w.shape[0]);
      EXPECT_EQ(w.quant.quantized_dimension, dw ? 3 : 0);
      ASSERT_EQ(w.quant.scale.size(), M);
      ASSERT_EQ(b.quant.scale.size(), M);
      const float sx = qp(m, o.inputs[0]).first;
      for (size_t k = 0; k < M; ++k) {
        EXPECT_EQ(w.quant.zero_point.at(k), 0);
        EXPECT_EQ(b.quant.zero_point.at(k), 0);
        EXPECT_FLOAT_EQ(b.quant.scale[k], sx * w.quant.scale[k]) << b.name << " channel " << k;
      }
      EXPECT_NE(w.buffer, 0u);
      EXPECT_EQ(m.buffers.at(w.buffer).size(), M * static_cast<size_t>(w.shape[1] * w.shape[2]) *
                                                   static_cast<size_t>(dw ? 1 : w.shape[3]));
    }
    if (o.op == Op::Concatenation && tensor(m, o.outputs[0]).type == TensorType::Int8) {
      // TFLite's int8 CONCATENATION needs inputs at the output's parameters.
      for (int32_t i : o.inputs) EXPECT_EQ(qp(m, i), qp(m, o.outputs[0])) << tensor(m, i).name;
    }
    if (o.op == Op::Add && o.options.activation == tflite::Activation::Relu6) {
      // The HardSigmoid gate: relu6 result at (6 sy, zy) of the MUL after it.
      for (const tflite::Operator& mul : m.operators)
        if (mul.op == Op::Mul && mul.inputs[0] == o.outputs[0]) {
          EXPECT_FLOAT_EQ(qp(m, o.outputs[0]).first, 6.f * qp(m, mul.outputs[0]).first);
          EXPECT_EQ(qp(m, o.outputs[0]).second, qp(m, mul.outputs[0]).second);
        }
    }
  }
}

TEST(TfliteConvertInt8, FloatIoIsFullIntegerInside) {
  NEED_MODEL(kSmall);
  const Graph q = int8_graph(DType::F32);
  const tflite::Model m = graph_to_tflite(q);
  check_int8_structure(m);
  // Float in, QUANTIZE first; DEQUANTIZE to the float outputs last.
  EXPECT_EQ(tensor(m, m.inputs[0]).type, TensorType::Float32);
  EXPECT_EQ(tensor(m, m.inputs[0]).shape, (std::vector<int32_t>{1, 320, 320, 3}));
  EXPECT_EQ(m.operators.front().op, Op::Quantize);
  for (int32_t o : m.outputs) EXPECT_EQ(tensor(m, o).type, TensorType::Float32);
  // Only the head's int8 results are dequantized (before the float Concats).
  for (const tflite::Operator& o : m.operators)
    if (o.op == Op::Dequantize) {
      EXPECT_EQ(tensor(m, o.inputs[0]).type, TensorType::Int8);
      EXPECT_EQ(tensor(m, o.inputs[0]).shape.size(), 3u);
    }
  // PyTorch's symmetric stride-2 padding is not TFLite SAME: explicit int8
  // PADs (padding with the zero point) before those convolutions.
  for (const tflite::Operator& o : m.operators) {
    if (o.op != Op::Pad) continue;
    EXPECT_EQ(qp(m, o.inputs[0]), qp(m, o.outputs[0]));
  }
  EXPECT_NO_THROW(tflite::serialize(m));
}

TEST(TfliteConvertInt8, Uint8IoIsOneRequantizingQuantizeAtEachEnd) {
  NEED_MODEL(kSmall);
  // uint8 activations: lower_qdq computes in int8 and converts at both ends.
  const tflite::Model m = graph_to_tflite(int8_graph(DType::U8, DType::U8));
  check_int8_structure(m);
  const tflite::Tensor& in = tensor(m, m.inputs[0]);
  EXPECT_EQ(in.type, TensorType::UInt8);
  EXPECT_EQ(in.name, "images");
  ASSERT_TRUE(in.quant.present());
  const tflite::Operator& first = m.operators.front();
  EXPECT_EQ(first.op, Op::Quantize);
  EXPECT_EQ(first.inputs[0], m.inputs[0]);
  EXPECT_EQ(tensor(m, first.outputs[0]).type, TensorType::Int8);
  // uint8 zero point z is int8 zero point z - 128 at the same scale.
  EXPECT_EQ(qp(m, first.outputs[0]).first, qp(m, m.inputs[0]).first);
  EXPECT_EQ(qp(m, first.outputs[0]).second, qp(m, m.inputs[0]).second - 128);
  EXPECT_EQ(op_counts(m).count(Op::Dequantize), 0u);
  for (int32_t o : m.outputs) {
    EXPECT_EQ(tensor(m, o).type, TensorType::UInt8);
    bool by_quantize = false;
    for (const tflite::Operator& op : m.operators)
      if (op.outputs[0] == o)
        by_quantize = op.op == Op::Quantize && tensor(m, op.inputs[0]).type == TensorType::Int8;
    EXPECT_TRUE(by_quantize) << tensor(m, o).name;
  }
  EXPECT_NO_THROW(tflite::serialize(m));
}

// ---- small hand-built graphs -------------------------------------------------------------

struct Builder {
  Graph g;
  int input(const std::string& name, Shape s) {
    Value v;
    v.name = name;
    v.shape = std::move(s);
    const int id = g.add_value(v);
    g.inputs.push_back(id);
    return id;
  }
  int constant(const std::string& name, const Tensor& t) { return g.add_constant(name, t); }
  int node(const std::string& op, std::vector<int> in, Shape out, Attrs a = {}) {
    Value v;
    v.name = op + "_out" + std::to_string(g.nodes.size());
    v.shape = std::move(out);
    const int y = g.add_value(v);
    Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op = op;
    n.inputs = std::move(in);
    n.outputs = {y};
    n.attrs = std::move(a);
    g.nodes.push_back(n);
    return y;
  }
  void output(int v, const std::string& name) {
    g.values[static_cast<size_t>(v)].name = name;
    g.outputs.push_back(v);
  }
};

Attrs conv_attrs(std::vector<int64_t> pads, std::vector<int64_t> strides, int64_t group = 1) {
  Attrs a;
  a.set("strides", strides);
  a.set("pads", pads);
  a.set("dilations", std::vector<int64_t>{1, 1});
  a.set("group", group);
  return a;
}

// Converts, round-trips and compares with the IR on a random NCHW input.
void expect_round_trip(const Graph& g, float atol = 1e-5f) {
  g.validate();
  const Shape s = g.values[static_cast<size_t>(g.inputs[0])].shape;
  const Tensor x = random_tensor(s, 3, -4.f, 4.f);
  const Graph back = round_trip(graph_to_tflite(g));
  std::map<std::string, Tensor> want = run(g, x);
  for (auto& [name, t] : want)
    if (t.shape().size() == 4) t = to_nhwc(t);  // 4-D outputs are NHWC in the file
  expect_close(run(back, s.size() == 4 ? to_nhwc(x) : x), want, atol, 1e-5f);
}

Graph hard_sigmoid_graph(float alpha) {
  Builder b;
  const int x = b.input("x", {1, 4, 5, 5});
  Attrs a;
  a.set("alpha", alpha);
  a.set("beta", 0.5f);
  b.output(b.node("HardSigmoid", {x}, {1, 4, 5, 5}, a), "y");
  return b.g;
}

Graph conv_graph() {
  Builder b;
  const int x = b.input("x", {1, 3, 9, 9});
  // SAME-style pads (stride 2, 3x3: total 2 -> 1/1), relu6 fused.
  Attrs a1 = conv_attrs({1, 1, 1, 1}, {2, 2});
  a1.set("activation", std::string("relu6"));
  const int w1 = b.constant("w1", random_tensor({8, 3, 3, 3}, 1));
  const int b1 = b.constant("b1", random_tensor({8}, 2));
  const int y1 = b.node("Conv", {x, w1, b1}, {1, 8, 5, 5}, a1);
  // Depthwise, depth multiplier 2, asymmetric pads (PAD + VALID), hardswish.
  Attrs a2 = conv_attrs({0, 1, 2, 1}, {1, 1}, 8);
  a2.set("activation", std::string("hardswish"));
  const int w2 = b.constant("w2", random_tensor({16, 1, 3, 3}, 3));
  const int y2 = b.node("Conv", {y1, w2}, {1, 16, 5, 5}, a2);
  // Grouped 1x1 without bias, sigmoid.
  Attrs a3 = conv_attrs({0, 0, 0, 0}, {1, 1}, 2);
  a3.set("activation", std::string("sigmoid"));
  const int w3 = b.constant("w3", random_tensor({4, 8, 1, 1}, 4));
  b.output(b.node("Conv", {y2, w3}, {1, 4, 5, 5}, a3), "y");
  return b.g;
}

Graph layout_graph() {
  Builder b;
  const int x = b.input("x", {1, 6, 4, 4});
  // Broadcast constant [6,1,1] against NCHW, channel concat, channel softmax,
  // pools, global pool + 2-D reshape + Gemm.
  const int c = b.constant("c", random_tensor({6, 1, 1}, 5));
  const int s = b.node("Mul", {x, c}, {1, 6, 4, 4});
  Attrs ax1;
  ax1.set("axis", int64_t{1});
  const int cat = b.node("Concat", {s, x}, {1, 12, 4, 4}, ax1);
  const int sm = b.node("Softmax", {cat}, {1, 12, 4, 4}, ax1);
  Attrs mp;
  mp.set("kernel_shape", std::vector<int64_t>{2, 2});
  mp.set("strides", std::vector<int64_t>{2, 2});
  mp.set("pads", std::vector<int64_t>{0, 0, 0, 0});
  const int pooled = b.node("MaxPool", {sm}, {1, 12, 2, 2}, mp);
  Attrs ap = mp;
  ap.set("strides", std::vector<int64_t>{1, 1});
  ap.set("pads", std::vector<int64_t>{0, 0, 1, 1});  // SAME for 2x2 stride 1
  ap.set("count_include_pad", int64_t{0});
  const int avg = b.node("AveragePool", {pooled}, {1, 12, 2, 2}, ap);
  // A reshape of a real NCHW tensor reads NCHW element order.
  Attrs r;
  r.set("shape", Shape{1, 48});
  const int flat = b.node("Reshape", {avg}, {1, 48}, r);
  Attrs gm;
  gm.set("transB", int64_t{1});
  const int w = b.constant("w", random_tensor({5, 48}, 6));
  const int bias = b.constant("bias", random_tensor({5}, 7));
  b.output(b.node("Gemm", {flat, w, bias}, {1, 5}, gm), "logits");
  const int gap = b.node("GlobalAveragePool", {x}, {1, 6, 1, 1});
  Attrs r2;
  r2.set("shape", Shape{1, 6});
  b.output(b.node("Reshape", {gap}, {1, 6}, r2), "pooled");
  return b.g;
}

Graph transpose_graph() {
  Builder b;
  const int x = b.input("x", {1, 2, 3, 4});
  const int w = b.constant("w", random_tensor({5, 2, 1, 1}, 8));
  const int y = b.node("Conv", {x, w}, {1, 5, 3, 4}, conv_attrs({0, 0, 0, 0}, {1, 1}));
  Attrs p;
  p.set("perm", std::vector<int64_t>{0, 3, 1, 2});  // NCHW -> [1, W, C, H]
  const int t = b.node("Transpose", {y}, {1, 4, 5, 3}, p);
  Attrs r;
  r.set("shape", Shape{1, 60});
  b.output(b.node("Reshape", {t}, {1, 60}, r), "y");
  return b.g;
}

// Clip(0,6) -> Relu -> Sigmoid, and a clip TFLite has no op for.
Graph clip_graph() {
  Builder b;
  const int x = b.input("x", {1, 3, 2, 2});
  Attrs r6;
  r6.set("min", 0.f);
  r6.set("max", 6.f);
  const int a = b.node("Clip", {x}, {1, 3, 2, 2}, r6);
  const int r = b.node("Relu", {a}, {1, 3, 2, 2});
  b.output(b.node("Sigmoid", {r}, {1, 3, 2, 2}), "y");
  Attrs odd;
  odd.set("min", -2.f);
  odd.set("max", 3.f);
  b.output(b.node("Clip", {x}, {1, 3, 2, 2}, odd), "clipped");
  return b.g;
}

TEST(TfliteConvertOps, HardSigmoidDecompositionBothForms) {
  for (float alpha : {1.f / 6.f, 0.2f}) {
    const Graph g = hard_sigmoid_graph(alpha);
    expect_round_trip(g);
    // relu6(6 alpha x + 3) / 6: the MUL by 6 alpha only when it is not 1.
    const std::map<Op, int> c = op_counts(graph_to_tflite(g));
    EXPECT_EQ(c.at(Op::Mul), alpha == 0.2f ? 2 : 1) << alpha;
    EXPECT_EQ(c.at(Op::Add), 1);
  }
}

TEST(TfliteConvertOps, ConvPaddingsFusedActivationsAndDepthwise) {
  const Graph g = conv_graph();
  expect_round_trip(g);
  const tflite::Model m = graph_to_tflite(g);
  const std::map<Op, int> c = op_counts(m);
  EXPECT_EQ(c.at(Op::Conv2D), 2);
  EXPECT_EQ(c.at(Op::DepthwiseConv2D), 1);
  EXPECT_EQ(c.at(Op::Pad), 1);
  EXPECT_EQ(c.at(Op::HardSwish), 1);
  EXPECT_EQ(c.at(Op::Logistic), 1);
  for (const tflite::Operator& o : m.operators) {
    if (o.op == Op::DepthwiseConv2D) {
      EXPECT_EQ(o.options.depth_multiplier, 2);
      EXPECT_EQ(o.options.padding, tflite::Padding::Valid);
      EXPECT_EQ(tensor(m, o.inputs[1]).shape, (std::vector<int32_t>{1, 3, 3, 16}));
    }
    if (o.op == Op::Conv2D && tensor(m, o.inputs[1]).shape[0] == 8) {
      EXPECT_EQ(o.options.padding, tflite::Padding::Same);
      EXPECT_EQ(o.options.activation, tflite::Activation::Relu6);
      EXPECT_EQ(o.options.stride_h, 2);
    }
  }
}

TEST(TfliteConvertOps, LayoutSensitiveOpsMatchTheIr) {
  const Graph g = layout_graph();
  expect_round_trip(g);
  const std::map<Op, int> ops = op_counts(graph_to_tflite(g));
  EXPECT_EQ(ops.at(Op::Transpose), 1);  // only the reshape of a real NCHW tensor needs one
  EXPECT_EQ(ops.at(Op::FullyConnected), 1);
}

TEST(TfliteConvertOps, TransposeComposesWithTheLayout) {
  const Graph g = transpose_graph();
  expect_round_trip(g);
  const tflite::Model m = graph_to_tflite(g);
  // The conv result is NHWC [1,3,4,5]; [1,W,C,H] = its axes (0,2,3,1).
  int transposes = 0;
  for (const tflite::Operator& o : m.operators) {
    if (o.op != Op::Transpose) continue;
    ++transposes;
    const tflite::Tensor& perm = tensor(m, o.inputs[1]);
    const std::vector<uint8_t>& d = m.buffers.at(perm.buffer);
    std::vector<int32_t> v(d.size() / 4);
    std::memcpy(v.data(), d.data(), d.size());
    EXPECT_EQ(v, (std::vector<int32_t>{0, 2, 3, 1}));
    EXPECT_EQ(tensor(m, o.outputs[0]).shape, (std::vector<int32_t>{1, 4, 5, 3}));
  }
  EXPECT_EQ(transposes, 1);
}

TEST(TfliteConvertOps, ClipMapsToReluOrMinimumMaximum) {
  const std::map<Op, int> ops = op_counts(graph_to_tflite(clip_graph()));
  EXPECT_EQ(ops.at(Op::Relu6), 1);
  EXPECT_EQ(ops.at(Op::Relu), 1);
  EXPECT_EQ(ops.at(Op::Maximum), 1);
  EXPECT_EQ(ops.at(Op::Minimum), 1);
}

// ---- the same graphs in LiteRT ----------------------------------------------------------

std::string litert_dir(const std::string& name) {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/tflite_convert/" + name;
  fs::create_directories(d);
  return d;
}

// Runs the converted model in LiteRT.js on `x` (NCHW, as the IR takes it;
// NHWC for 4-D inputs in the file) and returns the outputs in IR order and
// layout (raw dtype).
std::map<std::string, Tensor> run_in_litert(const tflite::Model& m, const Graph& g, const Tensor& x,
                                            const std::string& name) {
  const std::string dir = litert_dir(name);
  const std::string path = dir + "/model.tflite";
  tflite::write_file(m, path);
  const std::string in = g.values[static_cast<size_t>(g.inputs[0])].name;
  Tensor feed = x;
  if (x.shape().size() == 4) {  // NCHW -> NHWC, any 1-byte or 4-byte dtype
    const Tensor f = to_nhwc(Tensor::from_floats(x.shape(), x.to_floats()));
    feed = Tensor(x.dtype(), f.shape());
    for (int64_t i = 0; i < f.numel(); ++i) {
      const float v = f.data<float>()[i];
      if (x.dtype() == DType::F32)
        feed.data<float>()[i] = v;
      else
        feed.data<int8_t>()[i] = static_cast<int8_t>(v);
    }
  }
  const test::LitertRun r = test::run_litert(path, {{in, feed}}, dir);
  std::map<std::string, Tensor> out;
  if (!r.ok) return out;
  for (const test::LitertOutput& o : r.outputs) out[o.io.name] = o.value;
  return out;
}

TEST(TfliteConvertLitert, FloatGraphsMatchOurRuntime) {
  if (!test::litert_available()) return;
  const std::vector<std::pair<std::string, Graph>> graphs = {
      {"hard_sigmoid_0.2", hard_sigmoid_graph(0.2f)},
      {"hard_sigmoid_1_6", hard_sigmoid_graph(1.f / 6.f)},
      {"conv", conv_graph()},
      {"layout", layout_graph()},
      {"transpose", transpose_graph()},
      {"clip", clip_graph()}};
  for (const auto& [name, g] : graphs) {
    SCOPED_TRACE(name);
    const Shape s = g.values[static_cast<size_t>(g.inputs[0])].shape;
    const Tensor x = random_tensor(s, 21, -4.f, 4.f);
    std::map<std::string, Tensor> want = run(g, x);
    for (auto& [n, t] : want)
      if (t.shape().size() == 4) t = to_nhwc(t);
    expect_close(run_in_litert(graph_to_tflite(g), g, x, name), want, 1e-5f, 1e-5f);
  }
}

// The shared UltraFace detector (other head: Transpose + Reshape + Softmax).
TEST(TfliteConvertLitert, UltraFaceMatchesOurRuntime) {
  const std::string model = std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " absent (shared models, see ../shared/README.md)";
  if (!test::litert_available()) return;
  const Graph g = import_onnx_file(model);
  const Tensor x = random_tensor(g.values[static_cast<size_t>(g.inputs[0])].shape, 51);
  expect_close(run_in_litert(graph_to_tflite(g), g, x, "ultraface"), run(g, x), 1e-4f, 1e-5f);
}

// A float graph with the int8 paths the demo model lacks: sigmoid (LOGISTIC
// at 1/256 then a requantizing QUANTIZE), HardSigmoid with alpha 0.2 (MUL,
// ADD relu6, MUL), a CONCATENATION of differently quantized inputs and a
// residual ADD; quantized full-integer (int8 in and out) and lowered.
Graph small_int8_graph() {
  Builder b;
  const int x = b.input("x", {1, 3, 8, 8});
  Attrs a1 = conv_attrs({1, 1, 1, 1}, {2, 2});
  a1.set("activation", std::string("relu"));
  const int y1 = b.node("Conv",
                        {x, b.constant("w1", random_tensor({8, 3, 3, 3}, 31)),
                         b.constant("b1", random_tensor({8}, 32))},
                        {1, 8, 4, 4}, a1);
  const int sg = b.node("Sigmoid", {y1}, {1, 8, 4, 4});
  Attrs hs;
  hs.set("alpha", 0.2f);
  hs.set("beta", 0.5f);
  const int h = b.node("HardSigmoid", {y1}, {1, 8, 4, 4}, hs);
  const int m = b.node("Mul", {sg, h}, {1, 8, 4, 4});
  const int y2 = b.node("Conv",
                        {m, b.constant("w2", random_tensor({8, 8, 1, 1}, 33)),
                         b.constant("b2", random_tensor({8}, 34))},
                        {1, 8, 4, 4}, conv_attrs({0, 0, 0, 0}, {1, 1}));
  const int sum = b.node("Add", {y2, y1}, {1, 8, 4, 4});
  Attrs ax;
  ax.set("axis", int64_t{1});
  b.output(b.node("Concat", {sum, m}, {1, 16, 4, 4}, ax), "y");
  const Graph prepared = prepare_for_quantization(b.g);
  QdqOptions qo;
  qo.io = DType::I8;
  CalibrationSet set;
  for (unsigned i = 0; i < 4; ++i)
    set.inputs.push_back(random_tensor({1, 3, 8, 8}, 40 + i, -2.f, 2.f));
  std::vector<std::string> values;
  for (const QuantPoint& p : quantization_points(prepared, qo)) values.push_back(p.value);
  Graph q = build_qdq_graph(prepared, calibrate(prepared, values, set, CalibOptions{}), qo);
  optimize_graph(q, QdqMode::Integer);
  return q;
}

TEST(TfliteConvertLitert, SmallInt8GraphWithinOneStepOfOurIntegerRuntime) {
  if (!test::litert_available()) return;
  const Graph q = small_int8_graph();
  const std::map<std::string, int> hist = op_histogram(q);
  EXPECT_EQ(hist.count("QLut") ? hist.at("QLut") : 0, 2) << "sigmoid and hard-sigmoid as tables";
  EXPECT_EQ(hist.count("QConcat") ? hist.at("QConcat") : 0, 1);
  const tflite::Model m = graph_to_tflite(q);
  const std::map<Op, int> ops = op_counts(m);
  EXPECT_EQ(ops.at(Op::Logistic), 1);
  EXPECT_GE(ops.at(Op::Quantize), 1);
  const Value& in = q.values[static_cast<size_t>(q.inputs[0])];
  ASSERT_EQ(in.dtype, DType::I8);
  Tensor x(DType::I8, in.shape);
  std::mt19937 rng(5);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  const std::map<std::string, Tensor> ours = run(q, x);
  const std::map<std::string, Tensor> theirs = run_in_litert(m, q, x, "small_int8");
  ASSERT_EQ(theirs.size(), 1u);
  const Tensor want = ours.at("y"), got = theirs.at("y");
  ASSERT_EQ(got.dtype(), DType::I8);
  ASSERT_EQ(shape_str(got.shape()), shape_str({1, 4, 4, 16}));
  const Tensor want_nhwc = to_nhwc(Tensor::from_floats(want.shape(), want.to_floats()));
  int worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst, std::abs(static_cast<int>(got.data<int8_t>()[i]) -
                                     static_cast<int>(want_nhwc.data<float>()[i])));
  EXPECT_LE(worst, 1);
}

TEST(TfliteConvertOps, UnsupportedOpIsOneLineErrorNamingTheNode) {
  Builder b;
  const int x = b.input("x", {1, 4});
  const int d = b.constant("d", random_tensor({1, 4}, 9, 1.f, 2.f));
  b.output(b.node("Div", {x, d}, {1, 4}), "y");
  try {
    graph_to_tflite(b.g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("Div_0"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // A QLut without its source function cannot be mapped back.
  Builder q;
  Value v;
  v.name = "x";
  v.dtype = DType::I8;
  v.shape = {1, 4};
  v.quant.scale = {0.1f};
  v.quant.zero_point = {0};
  const int xi = q.g.add_value(v);
  q.g.inputs.push_back(xi);
  Attrs t;
  t.set("table", std::vector<int64_t>(256, 0));
  const int y = q.node("QLut", {xi}, {1, 4}, t);
  q.g.values[static_cast<size_t>(y)].dtype = DType::I8;
  q.g.values[static_cast<size_t>(y)].quant = v.quant;
  q.output(y, "y");
  EXPECT_THROW(graph_to_tflite(q.g), Error);
  // Attributes TFLite cannot express and dynamic shapes: one line each.
  const auto one_line_error = [](const Graph& g, const std::string& want) {
    try {
      graph_to_tflite(g);
      ADD_FAILURE() << "expected an error mentioning " << want;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(want), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  };
  Builder sm;
  Attrs ax2;
  ax2.set("axis", int64_t{2});
  sm.output(sm.node("Softmax", {sm.input("x", {1, 3, 4, 5})}, {1, 3, 4, 5}, ax2), "y");
  one_line_error(sm.g, "Softmax_0");
  Builder ap;
  Attrs pa;
  pa.set("kernel_shape", std::vector<int64_t>{3, 3});
  pa.set("strides", std::vector<int64_t>{1, 1});
  pa.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  pa.set("count_include_pad", int64_t{1});  // TFLite averages valid pixels only
  ap.output(ap.node("AveragePool", {ap.input("x", {1, 2, 5, 5})}, {1, 2, 5, 5}, pa), "y");
  one_line_error(ap.g, "AveragePool_0");
  Builder dyn;
  dyn.output(dyn.node("Relu", {dyn.input("x", {-1, 4})}, {-1, 4}), "y");
  one_line_error(dyn.g, "");
}

}  // namespace
}  // namespace vedge

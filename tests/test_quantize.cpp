// tools/quantize (qdq_builder, quantize) and `vedge quantize`:
//   - activation parameters and per-channel weight scales computed by hand;
//   - the QDQ layout on a small hand-built model (split hardswish, int8
//     per-channel weights, int32 biases of scale sx * sw[c], Q/DQ after every
//     point, float_nodes left float) and ONNX Runtime vs our runtime (Integer
//     and Simulate) within 2 quantization steps on >= 99% of the elements;
//   - the trained UltraFace (../shared) calibrated on 8 coco128 images: ORT
//     vs ours as above;
//   - the random-weight SSDLite test detector quantized from 8 synthetic
//     images: the file's initializers read back with the ONNX protobuf are
//     int8 per-channel, INT8 file <= 0.3x FP32; FP16
//     about half the size and within 1e-2 of FP32 in ORT and ours; the
//     dynamic variant runs in both; full-integer uint8 input / int8 outputs
//     with the metadata's scale and zero point; quantizing twice gives
//     byte-identical files;
//   - bad input: an already-quantized model, a model without weights, CLI
//     errors (one line, exit != 0, no file).
// Needs the export_test_models fixture (build/testwork/models) and the ONNX
// Runtime peer; ~30 s.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "data/synthetic.h"
#include "onnx_builder.h"
#include "ort_peer.h"
#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "runtime/quant_lower.h"
#include "tools/export/onnx_writer.h"
#include "tools/quantize/calibrate.h"
#include "tools/quantize/qdq_builder.h"
#include "tools/quantize/quantize.h"

namespace fs = std::filesystem;
using namespace vedge;

namespace {

const std::string kModels = std::string(VEDGE_TEST_WORK_DIR) + "/models";
const std::string kSsd = kModels + "/ssdlite320_mobilenet_v3_small_2fm_op17.onnx";

std::string work_dir(const std::string& name) {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/quantize/" + name;
  fs::create_directories(d);
  return d;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

Tensor random_input(const Shape& shape, unsigned seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(numel(shape)));
  for (float& f : v) f = u(rng);
  return Tensor::from_floats(shape, v);
}

// Runs a graph in our runtime (fast backend) on one input; outputs by name.
std::map<std::string, Tensor> run_ours(const Graph& g, const Tensor& x) {
  Session s(g);
  s.set_input(0, x);
  s.run();
  std::map<std::string, Tensor> out;
  for (int i = 0; i < s.num_outputs(); ++i) out[s.output_info(i).name] = s.output(i);
  return out;
}

std::map<std::string, Tensor> run_file_ours(const std::string& path, QdqMode mode, const Tensor& x) {
  ImportOptions opt;
  opt.qdq = mode;
  return run_ours(import_onnx_file(path, opt), x);
}

// ONNX Runtime on `model` with input `name` = x; outputs by name.
std::map<std::string, Tensor> run_ort(const std::string& model, const std::string& name,
                                      const Tensor& x, const std::vector<std::string>& outputs,
                                      const std::string& dir) {
  std::map<std::string, Tensor> out;
  if (!test::ort_peer_available()) return out;
  fs::remove_all(dir + "/ort");
  write_npy(dir + "/x.npy", x);
  test::run_node("ort_run.js", model + " --input " + name + "=" + dir + "/x.npy --out " + dir + "/ort", dir);
  for (const std::string& o : outputs)
    if (fs::exists(dir + "/ort/" + o + ".npy")) out[o] = read_npy(dir + "/ort/" + o + ".npy");
  return out;
}

// Per element of graph output `k` of a QDQ graph: the scale of the last
// QuantizeLinear before it (through DequantizeLinear, Reshape, Transpose;
// a Concat contributes each input's scale to its block of elements).
std::vector<float> output_steps(const Graph& g, int k) {
  std::vector<int> prod(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int o : g.nodes[i].outputs) prod[static_cast<size_t>(o)] = static_cast<int>(i);
  std::function<std::vector<float>(int)> steps = [&](int v) -> std::vector<float> {
    const int64_t n = numel(g.values[static_cast<size_t>(v)].shape);
    const int p = prod[static_cast<size_t>(v)];
    if (p < 0) return {};
    const Node& node = g.nodes[static_cast<size_t>(p)];
    if (node.op == "DequantizeLinear" || node.op == "QuantizeLinear") {
      const float s = g.values[static_cast<size_t>(node.inputs[1])].constant.data<float>()[0];
      return std::vector<float>(static_cast<size_t>(n), s);
    }
    if (node.op == "Reshape" || node.op == "Transpose") {
      std::vector<float> in = steps(node.inputs[0]);
      // Only uniform steps survive a permutation unchanged.
      if (in.empty() || std::adjacent_find(in.begin(), in.end(), std::not_equal_to<>()) != in.end())
        return {};
      return std::vector<float>(static_cast<size_t>(n), in[0]);
    }
    if (node.op == "Softmax") return steps(node.inputs[0]);  // 1/2-Lipschitz per row: conservative
    if (node.op == "Concat") {
      const Shape& shape = g.values[static_cast<size_t>(v)].shape;
      for (int64_t d = 0; d < node.attrs.get_i("axis"); ++d)
        if (shape[static_cast<size_t>(d)] != 1) return {};
      std::vector<float> all;
      for (int i : node.inputs) {
        std::vector<float> in = steps(i);
        if (in.empty()) return {};
        all.insert(all.end(), in.begin(), in.end());
      }
      return all;
    }
    return {};
  };
  return steps(g.outputs[static_cast<size_t>(k)]);
}

// Fraction of elements of a and b (F32) within `k` steps.
double fraction_within(const Tensor& a, const Tensor& b, const std::vector<float>& steps, double k) {
  EXPECT_EQ(a.shape(), b.shape());
  EXPECT_EQ(static_cast<int64_t>(steps.size()), a.numel());
  if (a.shape() != b.shape() || static_cast<int64_t>(steps.size()) != a.numel()) return 0;
  int64_t ok = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    ok += std::fabs(double(a.data<float>()[i]) - b.data<float>()[i]) <=
          k * steps[static_cast<size_t>(i)] * (1 + 1e-5);
  return double(ok) / double(a.numel());
}

double max_relative(const Tensor& a, const Tensor& ref) {
  EXPECT_EQ(a.shape(), ref.shape());
  if (a.shape() != ref.shape()) return 1e9;
  double scale = 0, diff = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    scale = std::max(scale, std::fabs(double(ref.data<float>()[i])));
    diff = std::max(diff, std::fabs(double(a.data<float>()[i]) - ref.data<float>()[i]));
  }
  return diff / std::max(scale, 1e-20);
}

// ||a - ref|| / ||ref|| (L2 over all elements).
double l2_relative(const Tensor& a, const Tensor& ref) {
  EXPECT_EQ(a.shape(), ref.shape());
  if (a.shape() != ref.shape()) return 1e9;
  double num = 0, den = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double d = double(a.data<float>()[i]) - ref.data<float>()[i];
    num += d * d;
    den += double(ref.data<float>()[i]) * ref.data<float>()[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// ---- hand-computed parameters ----------------------------------------------

TEST(QuantParams, ActivationParamsByHand) {
  QuantParams q = activation_params({-1.f, 3.f}, DType::I8);
  EXPECT_FLOAT_EQ(q.scale[0], 4.f / 255.f);
  EXPECT_EQ(q.zero_point[0], -64);  // round(-128 + 63.75)
  q = activation_params({-1.f, 3.f}, DType::U8);
  EXPECT_EQ(q.zero_point[0], 64);
  q = activation_params({0.5f, 2.f}, DType::I8);  // widened to [0, 2]
  EXPECT_FLOAT_EQ(q.scale[0], 2.f / 255.f);
  EXPECT_EQ(q.zero_point[0], -128);
  q = activation_params({-2.f, -1.f}, DType::I8);  // widened to [-2, 0]
  EXPECT_EQ(q.zero_point[0], 127);
  EXPECT_EQ(activation_params({-2.f, -1.f}, DType::U8).zero_point[0], 255);
  q = activation_params({0.f, 0.f}, DType::I8);  // zero width: scale 1, 0 exact
  EXPECT_EQ(q.scale[0], 1.f);
  EXPECT_EQ(q.zero_point[0], -128);
  EXPECT_EQ(activation_params({0.f, 0.f}, DType::U8).zero_point[0], 0);
  EXPECT_THROW(activation_params({-INFINITY, 1.f}, DType::I8), Error);
}

TEST(QuantParams, PerChannelWeightScalesByHand) {
  const Tensor w = Tensor::from_floats({3, 1, 1, 3}, {0.5f, -1.27f, 0.1f,   // max 1.27
                                                      0.f, 0.f, 0.f,         // all zero
                                                      1.f, -0.25f, 0.3f});   // max 1
  const std::vector<float> s = weight_scales(w);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_FLOAT_EQ(s[0], 0.01f);
  EXPECT_EQ(s[1], 1.f);
  EXPECT_FLOAT_EQ(s[2], 1.f / 127.f);
  const Tensor q = quantize_weights(w, s);
  ASSERT_EQ(q.dtype(), DType::I8);
  const std::vector<int> want{50, -127, 10, 0, 0, 0, 127, -32, 38};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(q.data<int8_t>()[i], want[static_cast<size_t>(i)]) << i;
}

// ---- a small hand-built model ------------------------------------------------

std::vector<float> ramp(size_t n, float scale, float offset) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * std::sin(0.9f * static_cast<float>(i) + 0.2f);
  return v;
}

// conv+relu, depthwise conv+hardswish, SE (GAP, conv+sigmoid, Mul), residual
// Add, two heads reshaped/transposed and concatenated ("boxes"), one head
// alone ("scores").
std::string small_model() {
  using namespace vedge::test;
  OnnxBuilder b(13);
  b.input("images", {1, 3, 16, 16});
  b.initializer("w1", {8, 3, 3, 3}, ramp(216, 0.4f, 0.f));
  b.initializer("b1", {8}, ramp(8, 0.2f, 0.1f));
  b.initializer("w2", {8, 1, 3, 3}, ramp(72, 0.3f, 0.05f));
  b.initializer("b2", {8}, ramp(8, 0.3f, 0.f));
  b.initializer("w3", {8, 8, 1, 1}, ramp(64, 0.5f, 0.f));
  b.initializer("b3", {8}, ramp(8, 0.5f, 0.f));
  b.initializer("wa", {4, 8, 1, 1}, ramp(32, 0.6f, 0.f));
  b.initializer("wb", {4, 8, 1, 1}, ramp(32, 0.2f, 0.f));
  b.initializer("bb", {4}, ramp(4, 1.f, 0.f));
  b.initializer("ws", {6, 8, 1, 1}, ramp(48, 0.7f, 0.f));
  b.initializer("bs", {6}, ramp(6, 0.3f, 0.f));
  b.initializer_i64("shape4", {3}, {1, 4, 256});
  b.initializer_i64("shape6", {3}, {1, 6, 256});
  b.node("Conv", {"images", "w1", "b1"}, {"c1"}, {attr_ints("pads", {1, 1, 1, 1})});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "w2", "b2"}, {"c2"}, {attr_ints("pads", {1, 1, 1, 1}), attr_i("group", 8)});
  b.node("HardSigmoid", {"c2"}, {"hsig"}, {attr_f("alpha", 1.f / 6.f), attr_f("beta", 0.5f)});
  b.node("Mul", {"c2", "hsig"}, {"hs"});
  b.node("GlobalAveragePool", {"hs"}, {"g"});
  b.node("Conv", {"g", "w3", "b3"}, {"c3"});
  b.node("Sigmoid", {"c3"}, {"se"});
  b.node("Mul", {"hs", "se"}, {"m"});
  b.node("Add", {"m", "r1"}, {"a"});
  b.node("Conv", {"a", "wa"}, {"ha"});
  b.node("Conv", {"m", "wb", "bb"}, {"hb"});
  b.node("Conv", {"a", "ws", "bs"}, {"hsc"});
  b.node("Reshape", {"ha", "shape4"}, {"ra"});
  b.node("Reshape", {"hb", "shape4"}, {"rb"});
  b.node("Reshape", {"hsc", "shape6"}, {"rs"});
  b.node("Transpose", {"ra"}, {"ta"}, {attr_ints("perm", {0, 2, 1})});
  b.node("Transpose", {"rb"}, {"tb"}, {attr_ints("perm", {0, 2, 1})});
  b.node("Transpose", {"rs"}, {"scores"}, {attr_ints("perm", {0, 2, 1})});
  b.node("Concat", {"ta", "tb"}, {"boxes"}, {attr_i("axis", 1)});
  b.output("boxes").output("scores");
  b.metadata("author", "test_quantize");
  return b.bytes();
}

struct SmallModel {
  Graph prepared;
  std::map<std::string, TensorRange> ranges;
  CalibrationSet calib;
};

SmallModel small_prepared(const QdqOptions& opt) {
  SmallModel s;
  s.prepared = prepare_for_quantization(import_onnx_bytes(small_model(), "small.onnx"));
  for (unsigned i = 0; i < 8; ++i) s.calib.inputs.push_back(random_input({1, 3, 16, 16}, 100 + i));
  std::vector<std::string> values;
  for (const QuantPoint& p : quantization_points(s.prepared, opt)) values.push_back(p.value);
  s.ranges = calibrate(s.prepared, values, s.calib, CalibOptions{});
  return s;
}

const Node* producer_of(const Graph& g, int v) {
  for (const Node& n : g.nodes)
    for (int o : n.outputs)
      if (o == v) return &n;
  return nullptr;
}

TEST(QdqBuilder, SmallModelLayout) {
  QdqOptions opt;
  SmallModel s = small_prepared(opt);
  // The depthwise conv's hardswish (fused on import) is now its own node,
  // and its sigmoid too.
  std::map<std::string, int> ops = op_histogram(s.prepared);
  EXPECT_EQ(ops["HardSwish"], 1);
  EXPECT_EQ(ops["Sigmoid"], 1);
  for (const Node& n : s.prepared.nodes)
    if (n.op == "Conv") {
      const std::string act = n.attrs.get_s("activation", "");
      EXPECT_TRUE(act.empty() || act == "relu") << n.name << " keeps " << act;
    }

  const std::vector<QuantPoint> points = quantization_points(s.prepared, opt);
  std::map<std::string, int> point_ops;
  for (const QuantPoint& p : points) ++point_ops[p.op];
  // images, 6 convs, hardswish, GAP, sigmoid, the SE Mul, Add.
  EXPECT_EQ(point_ops[""], 1);
  EXPECT_EQ(point_ops["Conv"], 6);
  EXPECT_EQ(point_ops["HardSwish"], 1);
  EXPECT_EQ(point_ops["GlobalAveragePool"], 1);
  EXPECT_EQ(point_ops["Sigmoid"], 1);
  EXPECT_EQ(point_ops["Mul"], 1);  // x * hardsigmoid(x) was fused into HardSwish
  EXPECT_EQ(point_ops["Add"], 1);
  EXPECT_EQ(points.size(), 12u);

  const Graph q = build_qdq_graph(s.prepared, s.ranges, opt);
  for (const QuantPoint& p : points) {
    const int dq = q.find_value(p.dq_value);
    ASSERT_GE(dq, 0) << p.value;
    const Node* n = producer_of(q, dq);
    ASSERT_TRUE(n && n->op == "DequantizeLinear") << p.value;
    const Node* qn = producer_of(q, n->inputs[0]);
    ASSERT_TRUE(qn && qn->op == "QuantizeLinear") << p.value;
    // Its parameters are activation_params() of the calibrated range.
    const QuantParams want = activation_params(s.ranges.at(p.value), DType::I8);
    EXPECT_EQ(q.values[static_cast<size_t>(qn->inputs[1])].constant.data<float>()[0], want.scale[0]);
    EXPECT_EQ(q.values[static_cast<size_t>(qn->inputs[2])].constant.data<int8_t>()[0], want.zero_point[0]);
  }
  // Every conv: int8 per-channel weights, int32 bias of scale sx * sw[c].
  int convs = 0;
  for (const Node& n : q.nodes) {
    if (n.op != "Conv") continue;
    ++convs;
    const Node* wdq = producer_of(q, n.inputs[1]);
    ASSERT_TRUE(wdq && wdq->op == "DequantizeLinear") << n.name;
    EXPECT_EQ(wdq->attrs.get_i("axis", -1), 0);
    const Value& w = q.values[static_cast<size_t>(wdq->inputs[0])];
    ASSERT_EQ(w.dtype, DType::I8);
    const Tensor& sw = q.values[static_cast<size_t>(wdq->inputs[1])].constant;
    ASSERT_EQ(sw.numel(), w.shape[0]);
    for (int64_t i = 0; i < w.constant.numel(); ++i) {
      EXPECT_GE(w.constant.data<int8_t>()[i], -127);
    }
    const Node* xdq = producer_of(q, n.inputs[0]);
    ASSERT_TRUE(xdq && xdq->op == "DequantizeLinear") << n.name;
    const float sx = q.values[static_cast<size_t>(xdq->inputs[1])].constant.data<float>()[0];
    if (n.inputs.size() < 3 || n.inputs[2] < 0) continue;
    const Node* bdq = producer_of(q, n.inputs[2]);
    ASSERT_TRUE(bdq && bdq->op == "DequantizeLinear") << n.name;
    EXPECT_EQ(q.values[static_cast<size_t>(bdq->inputs[0])].dtype, DType::I32);
    const Tensor& sb = q.values[static_cast<size_t>(bdq->inputs[1])].constant;
    for (int64_t c = 0; c < sb.numel(); ++c) EXPECT_EQ(sb.data<float>()[c], sx * sw.data<float>()[c]);
  }
  EXPECT_EQ(convs, 6);
  // Graph outputs keep their names; the Concat has no Q/DQ with float io.
  EXPECT_EQ(q.values[static_cast<size_t>(q.outputs[0])].name, "boxes");
  EXPECT_EQ(producer_of(q, q.outputs[0])->op, "Concat");

  // A conv kept in float: float weights, no Q/DQ of its own output unless a
  // quantized consumer needs it (the scores head has none).
  QdqOptions mixed = opt;
  const std::string head = producer_of(s.prepared, s.prepared.find_value("hsc"))->name;
  mixed.float_nodes = {head};
  const Graph m = build_qdq_graph(s.prepared, s.ranges, mixed);
  int found = 0;
  for (const Node& n : m.nodes)
    if (n.name == head) {
      ++found;
      const Value& w = m.values[static_cast<size_t>(n.inputs[1])];
      EXPECT_TRUE(w.is_constant() && w.dtype == DType::F32) << "weights stay float";
      // Its output flows in float to the scores output.
      EXPECT_EQ(m.use_counts()[static_cast<size_t>(n.outputs[0])], 1);
    }
  EXPECT_EQ(found, 1);
  EXPECT_EQ(op_histogram(m)["QuantizeLinear"], op_histogram(q)["QuantizeLinear"] - 1);
  for (const QuantPoint& p : quantization_points(s.prepared, mixed)) EXPECT_NE(p.node, head);
}

TEST(QdqBuilder, SmallModelOrtAgreesWithOurs) {
  for (DType act : {DType::I8, DType::U8}) {
    QdqOptions opt;
    opt.activations = act;
    SmallModel s = small_prepared(opt);
    const Graph q = build_qdq_graph(s.prepared, s.ranges, opt);
    const std::string dir = work_dir(std::string("small_") + dtype_name(act));
    write_onnx(q, {}, dir + "/q.onnx");
    const Tensor x = random_input({1, 3, 16, 16}, 7);
    const auto ort = run_ort(dir + "/q.onnx", "images", x, {"boxes", "scores"}, dir);
    const auto fp = run_ours(s.prepared, x);
    for (QdqMode mode : {QdqMode::Integer, QdqMode::Simulate}) {
      const auto ours = run_file_ours(dir + "/q.onnx", mode, x);
      for (int k = 0; k < 2; ++k) {
        const std::string o = k == 0 ? "boxes" : "scores";
        if (!ort.count(o)) continue;
        const std::vector<float> steps = output_steps(q, k);
        const double f = fraction_within(ours.at(o), ort.at(o), steps, 2);
        std::printf("  small %s %-9s %-6s: %.4f within 2 steps, float rel err %.3f\n",
                    dtype_name(act), qdq_mode_name(mode), o.c_str(), f,
                    max_relative(ort.at(o), fp.at(o)));
        EXPECT_GE(f, 0.99) << o << " " << qdq_mode_name(mode);
        // And the quantized model still computes the float model's function.
        EXPECT_LE(max_relative(ort.at(o), fp.at(o)), 0.1) << o;
      }
    }
  }
}

// Full-integer I/O, both input types: the integer input is the float-io
// model's input Q exactly, the outputs are Q(float-io output) of the
// activation type; ORT and ours agree with the float-io model within one
// output step after dequantizing with the graph's own parameters.
TEST(QdqBuilder, SmallModelFullIntegerIo) {
  for (DType io : {DType::I8, DType::U8}) {
    QdqOptions opt;
    opt.io = io;
    SmallModel s = small_prepared(opt);
    const Graph q = build_qdq_graph(s.prepared, s.ranges, opt);
    const Graph f = build_qdq_graph(s.prepared, s.ranges, QdqOptions{});
    const Value& in = q.values[static_cast<size_t>(q.inputs[0])];
    ASSERT_EQ(in.dtype, io);
    ASSERT_EQ(in.name, "images");
    ASSERT_TRUE(in.quant.present());
    const std::string dir = work_dir(std::string("small_io_") + dtype_name(io));
    write_onnx(q, {}, dir + "/io.onnx");
    write_onnx(f, {}, dir + "/f.onnx");
    const Tensor x = random_input({1, 3, 16, 16}, 9);
    Tensor xq(io, x.shape());
    const int lo = io == DType::I8 ? -128 : 0, hi = io == DType::I8 ? 127 : 255;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = std::clamp(std::nearbyint(x.data<float>()[i] / in.quant.scale[0]) +
                                     float(in.quant.zero_point[0]), float(lo), float(hi));
      if (io == DType::I8) xq.data<int8_t>()[i] = static_cast<int8_t>(v);
      else xq.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    }
    const auto ref = run_ort(dir + "/f.onnx", "images", x, {"boxes", "scores"}, dir + "/ref");
    const auto ort = run_ort(dir + "/io.onnx", "images", xq, {"boxes", "scores"}, dir);
    const auto ours = run_file_ours(dir + "/io.onnx", QdqMode::Integer, xq);
    for (size_t k = 0; k < q.outputs.size(); ++k) {
      const Value& o = q.values[static_cast<size_t>(q.outputs[k])];
      ASSERT_EQ(o.dtype, DType::I8) << o.name;  // the activation type
      if (!ort.count(o.name) || !ref.count(o.name)) continue;
      const float sc = o.quant.scale[0];
      const int zp = o.quant.zero_point[0];
      for (const auto* got : {&ort.at(o.name), &ours.at(o.name)}) {
        ASSERT_EQ(got->dtype(), DType::I8);
        Tensor dq(DType::F32, got->shape());
        for (int64_t i = 0; i < got->numel(); ++i) dq.data<float>()[i] = (got->data<int8_t>()[i] - zp) * sc;
        EXPECT_GE(fraction_within(dq, ref.at(o.name), std::vector<float>(size_t(dq.numel()), sc), 1), 0.999)
            << o.name << " io " << dtype_name(io) << (got == &ort.at(o.name) ? " ORT" : " ours");
      }
    }
  }
}

TEST(QdqBuilder, RejectsQuantizedOrWeightlessModels) {
  using namespace vedge::test;
  OnnxBuilder b(13);
  b.input("x", {1, 3, 4, 4});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  try {
    prepare_for_quantization(import_onnx_bytes(b.bytes(), "relu.onnx"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no convolution with float weights"), std::string::npos) << e.what();
  }
  SmallModel s = small_prepared(QdqOptions{});
  const Graph q = build_qdq_graph(s.prepared, s.ranges, QdqOptions{});
  try {
    prepare_for_quantization(q);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already quantized"), std::string::npos) << e.what();
  }
  // A point without a range is named.
  std::map<std::string, TensorRange> partial = s.ranges;
  partial.erase("hs");
  try {
    build_qdq_graph(s.prepared, partial, QdqOptions{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'hs'"), std::string::npos) << e.what();
  }
}

// ---- the SSDLite test detector -----------------------------------------------

bool have_ssd() { return fs::exists(kSsd); }
#define NEED_SSD() \
  if (!have_ssd()) GTEST_SKIP() << kSsd << " absent: the export_test_models CTest fixture writes it"

// 8 synthetic shapes images (the demo's data), written once.
std::string calib_set() {
  const std::string dir = work_dir("calib");
  if (!fs::exists(dir + "/calib.json")) {
    ShapesConfig cfg;
    cfg.num_images = 8;
    cfg.seed = 11;
    generate_shapes(cfg, dir, "calib");
  }
  return dir + "/calib.json";
}

QuantizeOptions ssd_options(Precision p) {
  QuantizeOptions o;
  o.qdq.precision = p;
  o.calib_path = p == Precision::INT8 ? calib_set() : "";
  o.calib_set.samples = 8;
  o.progress = false;
  return o;
}

// The INT8 result, computed once for the tests below.
const QuantizeResult& ssd_int8() {
  static const QuantizeResult r = quantize_model(kSsd, ssd_options(Precision::INT8));
  return r;
}

// A held-out synthetic image, preprocessed like the calibration images
// (the random-weight detector amplifies input noise far more than images).
Tensor ssd_input() {
  static const Tensor x = [] {
    const std::string dir = work_dir("test_image");
    if (!fs::exists(dir + "/test.json")) {
      ShapesConfig cfg;
      cfg.num_images = 1;
      cfg.seed = 12;
      generate_shapes(cfg, dir, "test");
    }
    const DetectorSpec spec = resolve_detector_spec(kSsd, import_onnx_file(kSsd).metadata);
    return load_calibration_set(dir + "/test.json", spec.input, CalibSetOptions{}).inputs.at(0);
  }();
  return x;
}

TEST(QuantizeSsd, Int8FileIsPerChannelInt8AndSmall) {
  NEED_SSD();
  const QuantizeResult& r = ssd_int8();
  EXPECT_EQ(r.calib.inputs.size(), 8u);
  const std::string dir = work_dir("ssd_int8");
  write_quantized(r, dir + "/q.onnx");
  const double ratio = double(fs::file_size(dir + "/q.onnx")) / double(fs::file_size(kSsd));
  std::printf("  INT8 file %.2f MB = %.3fx FP32\n", fs::file_size(dir + "/q.onnx") / 1e6, ratio);
  EXPECT_LE(ratio, 0.3);

  // Read the file back with the ONNX protobuf: every Conv's weights come
  // from an int8 initializer through a per-channel (axis 0) DequantizeLinear
  // whose scales are max|w[c]| / 127 of the float weights.
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(slurp(dir + "/q.onnx")));
  EXPECT_EQ(m.opset_import(0).version(), 13);
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : m.graph().initializer()) init[t.name()] = &t;
  std::map<std::string, const onnx::NodeProto*> producer;
  for (const auto& n : m.graph().node())
    for (const auto& o : n.output()) producer[o] = &n;
  const Graph fg = import_onnx_file(kSsd);
  int convs = 0, biases = 0;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "Conv") continue;
    ++convs;
    ASSERT_TRUE(producer.count(n.input(1))) << n.name();
    const onnx::NodeProto& dq = *producer[n.input(1)];
    ASSERT_EQ(dq.op_type(), "DequantizeLinear") << n.name();
    ASSERT_EQ(dq.attribute_size(), 1);
    EXPECT_EQ(dq.attribute(0).name(), "axis");
    EXPECT_EQ(dq.attribute(0).i(), 0);
    const onnx::TensorProto& w = *init.at(dq.input(0));
    ASSERT_EQ(w.data_type(), onnx::TensorProto_DataType_INT8) << w.name();
    const onnx::TensorProto& s = *init.at(dq.input(1));
    const onnx::TensorProto& z = *init.at(dq.input(2));
    ASSERT_EQ(s.dims_size(), 1);
    EXPECT_EQ(s.dims(0), w.dims(0));
    EXPECT_EQ(z.data_type(), onnx::TensorProto_DataType_INT8);
    for (char c : z.raw_data()) EXPECT_EQ(c, 0);
    for (char c : w.raw_data()) EXPECT_GE(static_cast<int8_t>(c), -127);
    // The float weights, by name, from the original model.
    const int fw = fg.find_value(dq.output(0));
    ASSERT_GE(fw, 0) << dq.output(0);
    const Tensor& f = fg.values[static_cast<size_t>(fw)].constant;
    const int64_t mch = f.shape()[0], per = f.numel() / mch;
    const float* scales = reinterpret_cast<const float*>(s.raw_data().data());
    for (int64_t c = 0; c < mch; ++c) {
      float mx = 0;
      for (int64_t i = 0; i < per; ++i) mx = std::max(mx, std::fabs(f.data<float>()[c * per + i]));
      if (mx == 0) {
        EXPECT_EQ(scales[c], 1.f) << dq.output(0) << " channel " << c;
        continue;
      }
      EXPECT_GE(scales[c], mx / 127.f) << dq.output(0) << " channel " << c;
      EXPECT_LE(scales[c], mx / 127.f * 1.0001f) << dq.output(0) << " channel " << c;
    }
    if (n.input_size() > 2) {
      ++biases;
      const onnx::NodeProto& bdq = *producer.at(n.input(2));
      EXPECT_EQ(bdq.op_type(), "DequantizeLinear");
      EXPECT_EQ(init.at(bdq.input(0))->data_type(), onnx::TensorProto_DataType_INT32);
    }
  }
  EXPECT_EQ(convs, 60);
  EXPECT_GT(biases, 0);

  // Metadata: the float model's plus vedge.quantization.
  std::map<std::string, std::string> meta;
  for (const auto& p : m.metadata_props()) meta[p.key()] = p.value();
  EXPECT_EQ(meta.at("vedge.detector"), fg.metadata.at("vedge.detector"));
  const auto j = nlohmann::json::parse(meta.at("vedge.quantization"));
  EXPECT_EQ(j.at("precision"), "int8");
  EXPECT_EQ(j.at("method"), "minmax");
  EXPECT_EQ(j.at("samples"), 8);
  EXPECT_EQ(j.at("activations"), "int8");
  EXPECT_EQ(j.at("io"), "float");
}

TEST(QuantizeSsd, Fp16HalfSizeAndClose) {
  NEED_SSD();
  const QuantizeResult r = quantize_model(kSsd, ssd_options(Precision::FP16));
  const std::string dir = work_dir("ssd_fp16");
  write_quantized(r, dir + "/h.onnx");
  const double ratio = double(fs::file_size(dir + "/h.onnx")) / double(fs::file_size(kSsd));
  std::printf("  FP16 file = %.3fx FP32\n", ratio);
  EXPECT_GE(ratio, 0.45);
  EXPECT_LE(ratio, 0.55);
  EXPECT_EQ(op_histogram(r.qdq)["Cast"], static_cast<int>(std::count_if(
      r.qdq.values.begin(), r.qdq.values.end(), [](const Value& v) { return v.dtype == DType::F16; })));
  const Tensor x = ssd_input();
  const auto ref = run_ort(kSsd, "images", x, {"boxes", "scores"}, dir + "/fp32");
  const auto ort = run_ort(dir + "/h.onnx", "images", x, {"boxes", "scores"}, dir);
  const auto ours = run_file_ours(dir + "/h.onnx", QdqMode::Integer, x);
  // Relative error in the L2 norm: this random-weight detector amplifies the
  // float16 rounding of its weights (the same model with its weights rounded
  // to float16 by NumPy shows the same error), so single elements move
  // by ~1% of the output's range.
  for (const std::string o : {"boxes", "scores"}) {
    if (!ort.count(o) || !ref.count(o)) continue;
    std::printf("  FP16 %-6s vs FP32 (ORT): L2 rel ORT %.2e, ours %.2e; max rel %.2e; ours vs ORT %.2e\n",
                o.c_str(), l2_relative(ort.at(o), ref.at(o)), l2_relative(ours.at(o), ref.at(o)),
                max_relative(ort.at(o), ref.at(o)), max_relative(ours.at(o), ort.at(o)));
    EXPECT_LE(l2_relative(ort.at(o), ref.at(o)), 1e-2) << o;
    EXPECT_LE(l2_relative(ours.at(o), ref.at(o)), 1e-2) << o;
    EXPECT_LE(max_relative(ours.at(o), ort.at(o)), 1e-4) << o;  // the same float math
  }
}

TEST(QuantizeSsd, DynamicRunsInOrtAndOurs) {
  NEED_SSD();
  const QuantizeResult r = quantize_model(kSsd, ssd_options(Precision::Dynamic));
  EXPECT_EQ(op_histogram(r.qdq)["QuantizeLinear"], 0);
  EXPECT_EQ(op_histogram(r.qdq)["DequantizeLinear"], 60);  // weights only
  const std::string dir = work_dir("ssd_dynamic");
  write_quantized(r, dir + "/d.onnx");
  const double ratio = double(fs::file_size(dir + "/d.onnx")) / double(fs::file_size(kSsd));
  EXPECT_LE(ratio, 0.3);
  const Tensor x = ssd_input();
  const auto fp = run_ours(r.prepared, x);
  const auto ort = run_ort(dir + "/d.onnx", "images", x, {"boxes", "scores"}, dir);
  const auto ours = run_file_ours(dir + "/d.onnx", QdqMode::Integer, x);
  for (const std::string o : {"boxes", "scores"}) {
    if (!ort.count(o)) continue;
    std::printf("  dynamic %-6s: ours vs ORT %.2e; vs float: L2 rel %.3f, max rel %.3f\n", o.c_str(),
                max_relative(ours.at(o), ort.at(o)), l2_relative(ort.at(o), fp.at(o)),
                max_relative(ort.at(o), fp.at(o)));
    EXPECT_LE(max_relative(ours.at(o), ort.at(o)), 1e-4) << o;  // same float math on the same weights
    // Loose: this random-weight detector amplifies weight rounding (its FP16
    // variant already moves by 0.6%); wrong scales or axes give ~100%.
    EXPECT_LE(l2_relative(ort.at(o), fp.at(o)), 0.3) << o;
  }
}

TEST(QuantizeSsd, FullIntegerUint8InputInt8Outputs) {
  NEED_SSD();
  QuantizeResult r = ssd_int8();
  QdqOptions io = r.options.qdq;
  io.io = DType::U8;
  rebuild(r, io);
  const std::string dir = work_dir("ssd_io");
  write_quantized(r, dir + "/io.onnx");
  const auto j = nlohmann::json::parse(r.metadata.at("vedge.quantization"));
  ASSERT_EQ(j.at("io"), "uint8");
  const float in_scale = j.at("input").at("scale"), in_zp = j.at("input").at("zero_point");
  // Input range = every preprocessed pixel: [-1, 1] for this model.
  EXPECT_FLOAT_EQ(in_scale, 2.f / 255.f);
  EXPECT_EQ(in_zp, std::nearbyint(1.f / in_scale));  // 127.5 in float: 127 or 128

  // The same float input quantized by hand with the metadata's parameters.
  const Tensor x = ssd_input();
  Tensor xq(DType::U8, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    xq.data<uint8_t>()[i] = static_cast<uint8_t>(std::clamp(
        std::nearbyint(x.data<float>()[i] / in_scale) + in_zp, 0.f, 255.f));
  const auto ort = run_ort(dir + "/io.onnx", "images", xq, {"boxes", "scores"}, dir);
  // Reference: the float-io model of the same ranges.
  QuantizeResult f = ssd_int8();
  write_quantized(f, dir + "/float_io.onnx");
  const auto ref = run_ort(dir + "/float_io.onnx", "images", x, {"boxes", "scores"}, dir + "/ref");
  for (const std::string o : {"boxes", "scores"}) {
    if (!ort.count(o) || !ref.count(o)) continue;
    const Tensor& q = ort.at(o);
    ASSERT_EQ(q.dtype(), DType::I8) << o;
    const float s = j.at("outputs").at(o).at("scale");
    const int z = j.at("outputs").at(o).at("zero_point");
    Tensor dq(DType::F32, q.shape());
    for (int64_t i = 0; i < q.numel(); ++i) dq.data<float>()[i] = (q.data<int8_t>()[i] - z) * s;
    const double within = fraction_within(dq, ref.at(o), std::vector<float>(size_t(q.numel()), s), 1);
    std::printf("  uint8 io %-6s: %.4f within 1 output step of the float-io model\n", o.c_str(), within);
    EXPECT_GE(within, 0.999) << o;
    // Our runtime takes the same uint8 input and gives int8 codes that
    // dequantize to its own float-io outputs within one output step.
    const auto ours = run_file_ours(dir + "/io.onnx", QdqMode::Integer, xq);
    const auto ours_ref = run_file_ours(dir + "/float_io.onnx", QdqMode::Integer, x);
    ASSERT_EQ(ours.at(o).dtype(), DType::I8);
    Tensor odq(DType::F32, q.shape());
    for (int64_t i = 0; i < q.numel(); ++i) odq.data<float>()[i] = (ours.at(o).data<int8_t>()[i] - z) * s;
    const double ours_within =
        fraction_within(odq, ours_ref.at(o), std::vector<float>(size_t(q.numel()), s), 1);
    std::printf("  uint8 io %-6s: ours %.4f within 1 output step of our float-io run\n", o.c_str(),
                ours_within);
    EXPECT_GE(ours_within, 0.999) << o;
  }
}

TEST(QuantizeSsd, RangesAndFilesReproducible) {
  NEED_SSD();
  const std::string dir = work_dir("ssd_repro");
  const QuantizeResult a = quantize_model(kSsd, ssd_options(Precision::INT8));
  write_quantized(a, dir + "/a.onnx");
  write_quantized(ssd_int8(), dir + "/b.onnx");
  EXPECT_EQ(a.ranges.size(), ssd_int8().ranges.size());
  for (const auto& [k, v] : a.ranges) {
    EXPECT_EQ(v.lo, ssd_int8().ranges.at(k).lo) << k;
    EXPECT_EQ(v.hi, ssd_int8().ranges.at(k).hi) << k;
  }
  EXPECT_TRUE(slurp(dir + "/a.onnx") == slurp(dir + "/b.onnx")) << "files differ";
}

// ---- a trained detector: ONNX Runtime vs ours --------------------------------
// The random-weight SSDLite is chaotic under quantization (in ONNX Runtime
// alone, an input change of 1e-5 moves 3/4 of its outputs, a quarter of them
// by more than 2 steps), so engine parity is checked on the trained UltraFace
// (../shared) and on the small model above.

TEST(QuantizeUltraFace, OrtAgreesWithOursWithinTwoSteps) {
  const std::string shared = VEDGE_SHARED_DIR;
  const std::string model = shared + "/models/ultraface-rfb-320.onnx";
  const std::string images = shared + "/data/coco128/images";
  if (!fs::exists(model) || !fs::exists(images)) GTEST_SKIP() << "../shared absent: " << model;
  QuantizeOptions opt;
  opt.calib_path = images + "/train2017";
  opt.calib_set.samples = 8;
  opt.spec_path = std::string(VEDGE_SOURCE_DIR) + "/models/ultraface-rfb-320.vedge.json";
  opt.progress = false;
  const QuantizeResult r = quantize_model(model, opt);
  // The sidecar spec is now inside the file.
  EXPECT_EQ(r.metadata.count("vedge.detector"), 1u);
  const std::string dir = work_dir("ultraface");
  write_quantized(r, dir + "/q.onnx");
  CalibSetOptions one;
  one.samples = 2;
  const CalibrationSet val =
      load_calibration_set(images + "/val2017", load_detector_spec_file(opt.spec_path).input, one);
  for (size_t i = 0; i < val.inputs.size(); ++i) {
    const Tensor& x = val.inputs[i];
    const auto ort = run_ort(dir + "/q.onnx", "input", x, {"boxes", "scores"}, dir);
    const auto fp = run_ours(r.prepared, x);
    for (QdqMode mode : {QdqMode::Integer, QdqMode::Simulate}) {
      const auto ours = run_file_ours(dir + "/q.onnx", mode, x);
      for (size_t k = 0; k < r.qdq.outputs.size(); ++k) {
        const std::string o = r.qdq.values[static_cast<size_t>(r.qdq.outputs[k])].name;
        if (!ort.count(o)) continue;
        const double f = fraction_within(ours.at(o), ort.at(o), output_steps(r.qdq, int(k)), 2);
        std::printf("  UltraFace INT8 image %zu %-9s %-6s: %.4f within 2 steps of ORT; "
                    "ORT vs float L2 rel %.3f\n", i, qdq_mode_name(mode), o.c_str(), f,
                    l2_relative(ort.at(o), fp.at(o)));
        EXPECT_GE(f, 0.99) << o << " " << qdq_mode_name(mode);
      }
    }
  }
}

// ---- the CLI -----------------------------------------------------------------

struct CliResult {
  int code;
  std::string out, err;
};

CliResult cli(const std::string& args, const std::string& dir) {
  const std::string cmd = std::string(VEDGE_CLI) + " quantize " + args + " >" + dir + "/out.txt 2>" + dir + "/err.txt";
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(dir + "/out.txt"), slurp(dir + "/err.txt")};
}

TEST(QuantizeCli, BadInputIsOneLineAndNoFile) {
  const std::string dir = work_dir("cli_errors");
  const std::string out = dir + "/out.onnx";
  fs::remove(out);
  std::ofstream(dir + "/bad.onnx") << "not a model";
  const std::string model = have_ssd() ? kSsd : dir + "/bad.onnx";
  std::vector<std::pair<std::string, std::string>> cases = {
      {model + " -o " + out, "--calib"},                                         // int8 without --calib
      {model + " --calib " + dir + " --method median -o " + out, "median"},        // unknown method
      {dir + "/bad.onnx --precision fp16 -o " + out, "bad.onnx"},                  // not a model
      {dir + "/missing.onnx --precision fp16 -o " + out, "missing.onnx"},          // no file
      {model + " --precision int4 -o " + out, "int4"},                             // unknown precision
      {model + " --precision fp16 --io int8 -o " + out, "--io"},                   // int8-only flag
      {model + " --calib " + dir + "/empty -o " + out, "empty"},                   // no images
  };
  fs::create_directories(dir + "/empty");
  if (have_ssd()) {  // an FP16 file is a quantized model too
    ASSERT_EQ(cli(kSsd + " --precision fp16 -o " + dir + "/fp16.onnx", dir).code, 0);
    cases.push_back({dir + "/fp16.onnx --precision dynamic -o " + out, "already quantized"});
  }
  for (const auto& [args, needle] : cases) {
    const CliResult r = cli(args, dir);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

TEST(QuantizeCli, Int8SummaryAndFile) {
  NEED_SSD();
  const std::string dir = work_dir("cli_int8");
  const std::string out = dir + "/q.onnx";
  fs::remove(out);
  const CliResult r = cli(kSsd + " --calib " + calib_set() + " --samples 4 --method percentile -o " + out, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::printf("  %s", r.out.c_str());
  EXPECT_NE(r.out.find("int8 (percentile, 4 samples"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("warning: only 4 calibration images"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(out));
  const Graph g = import_onnx_file(out, ImportOptions{});
  const auto j = nlohmann::json::parse(g.metadata.at("vedge.quantization"));
  EXPECT_EQ(j.at("method"), "percentile");
  EXPECT_EQ(j.at("samples"), 4);
}

}  // namespace

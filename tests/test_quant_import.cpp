// test_quant_import.cpp: QDQ ONNX models (built with tests/onnx_builder.h in
// the form `vedge quantize` writes: int8 per-channel weights, int32 biases,
// Q/DQ after every activation) imported in QdqMode::Integer and
// QdqMode::Simulate and run against ONNX Runtime on the same file: outputs
// within one quantization step of ONNX Runtime on >= 99% of the elements,
// and lower_qdq produced the expected integer ops. Malformed QDQ gives one
// clear error line. Each model is tiny; the whole file runs in seconds
// (ONNX Runtime is started once per model).
// Depends on runtime/ (onnx_import.h, executor.h, npy.h), tests/onnx_builder.h,
// tests/ort_peer.h and GoogleTest.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "onnx_builder.h"
#include "ort_peer.h"
#include "qdq_net.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"

namespace vedge {
namespace {

namespace fs = std::filesystem;
using test::attr_f;
using test::attr_i;
using test::attr_ints;

using test::QdqNet;
using test::raw_tensor;

std::string work_dir(const std::string& name) {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/quant_import/" + name;
  fs::create_directories(d);
  return d;
}

Tensor random_input(DType dt, const Shape& s, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  Tensor t(dt, s);
  if (dt == DType::F32) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  } else {
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<uint8_t>()[i] = static_cast<uint8_t>(rng() & 255);
  }
  return t;
}

// Elements farther apart than `step` (with a small float margin).
int64_t count_off(const Tensor& got, const Tensor& want, double step) {
  EXPECT_EQ(got.shape(), want.shape());
  EXPECT_EQ(got.dtype(), want.dtype());
  if (got.shape() != want.shape() || got.dtype() != want.dtype()) return got.numel() + 1;
  int64_t off = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    off += std::fabs(got.at_f64(i) - want.at_f64(i)) > step * 1.0001;
  return off;
}

Tensor run_ours(const Graph& g, const Tensor& x, Backend be) {
  SessionOptions o;
  o.backend = be;
  Session s(g, o);
  s.set_input(0, x);
  s.run();
  return s.output(0);
}

// Saves the model, runs ONNX Runtime on `x`, then ours in both modes (the
// integer graph with the reference and the fast backend); returns the
// integer graph for op checks. `step` is the output's quantization step:
// 1 for an integer output (compared as integers, type out_type), else the
// float output's DequantizeLinear scale; quantized_output = false for a
// float-only output (compared within `step` only).
Graph check_model(const std::string& name, QdqNet& net, const std::string& out, DType in_dt,
                  const Shape& in_shape, double step,
                  int out_type = onnx::TensorProto_DataType_INT8, bool quantized_output = true) {
  const std::string dir = work_dir(name);
  const std::string model = dir + "/model.onnx";
  net.b.output(out, {}, step == 1.0 ? out_type : onnx::TensorProto_DataType_FLOAT);
  net.b.save(model);
  const Tensor x = random_input(in_dt, in_shape, 7);
  write_npy(dir + "/x.npy", x);
  ImportOptions integer, simulate;
  simulate.qdq = QdqMode::Simulate;
  Graph gi = import_onnx_file(model, integer);
  Graph gs = import_onnx_file(model, simulate);
  if (!test::ort_peer_available()) return gi;
  test::run_node("ort_run.js", model + " --input x=" + dir + "/x.npy --out " + dir + "/ort", dir);
  if (::testing::Test::HasFailure()) return gi;
  const Tensor ort = read_npy(dir + "/ort/" + out + ".npy");
  const int64_t budget = ort.numel() / 100;  // >= 99% within one step
  struct Run {
    const char* label;
    const Graph* g;
    Backend be;
  };
  for (Run r : {Run{"integer, reference", &gi, Backend::Reference},
                Run{"integer, fast", &gi, Backend::Fast},
                Run{"simulate, reference", &gs, Backend::Reference},
                Run{"simulate, fast", &gs, Backend::Fast}}) {
    const Tensor ours = run_ours(*r.g, x, r.be);
    const int64_t off = count_off(ours, ort, step), differ = count_off(ours, ort, 0.0);
    std::printf("  %-16s %-20s of %lld elements: %lld differ, %lld by more than one step\n",
                name.c_str(), r.label, static_cast<long long>(ort.numel()),
                static_cast<long long>(differ), static_cast<long long>(off));
    EXPECT_LE(off, budget) << name << " (" << r.label << ")";
    // Rounding ties aside, both engines compute the same integers: a shift
    // by one step everywhere (a wrong zero point) must not pass.
    if (quantized_output) {
      EXPECT_LE(differ, ort.numel() / 10) << name << " (" << r.label << ")";
    }
  }
  return gi;
}

TEST(QuantImport, ConvRelu) {
  QdqNet n(1);
  n.b.input("x", {1, 3, 10, 10});
  std::string y = n.qdq("x", 1.f / 128, 0);
  y = n.qdq(n.op("Relu", {n.conv(y, 8, 3, 3, 1)}), 0.02f, -128);
  Graph g = check_model("conv_relu", n, y, DType::F32, {1, 3, 10, 10}, 0.02);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 1);
  EXPECT_EQ(h["Conv"] + h["Relu"], 0);
  EXPECT_EQ(h["QuantizeLinear"], 1);    // the float input
  EXPECT_EQ(h["DequantizeLinear"], 1);  // the float output
}

TEST(QuantImport, DepthwiseWithRelu6) {
  QdqNet n(2);
  n.b.input("x", {1, 3, 12, 12});
  std::string y = n.qdq("x", 1.f / 128, 0);
  y = n.qdq(n.clip(n.conv(y, 8, 3, 1, 1), 0.f, 6.f), 0.03f, -128);
  y = n.qdq(n.op("Relu", {n.conv(y, 8, 8, 3, 2, 8)}), 0.02f, -128);
  Graph g = check_model("depthwise", n, y, DType::F32, {1, 3, 12, 12}, 0.02);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 2);
  EXPECT_EQ(h["Conv"] + h["Clip"] + h["Relu"], 0);
  for (const Node& nd : g.nodes)
    if (nd.op == "QConv" && nd.attrs.get_i("group", 1) == 8) {
      EXPECT_EQ(nd.attrs.get_s("activation"), "relu");
    } else if (nd.op == "QConv") {
      EXPECT_EQ(nd.attrs.get_s("activation"), "relu6");
    }
}

TEST(QuantImport, HardSwishBecomesLookupTable) {
  QdqNet n(3);
  n.b.input("x", {1, 3, 8, 8});
  std::string y = n.qdq("x", 1.f / 128, 0);
  y = n.qdq(n.conv(y, 8, 3, 3, 1), 0.03f, 0);
  y = n.qdq(n.hardswish(y), 0.02f, -20);
  Graph g = check_model("hardswish", n, y, DType::F32, {1, 3, 8, 8}, 0.02);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 1);
  EXPECT_EQ(h["QLut"], 1);
  EXPECT_EQ(h["Mul"] + h["HardSigmoid"] + h["HardSwish"], 0);
}

TEST(QuantImport, SqueezeExcitationBlock) {
  QdqNet n(4);
  n.b.input("x", {1, 3, 8, 8});
  std::string a = n.qdq("x", 1.f / 128, 0);
  a = n.qdq(n.op("Relu", {n.conv(a, 8, 3, 3, 1)}), 0.02f, -128);
  std::string s = n.qdq(n.op("GlobalAveragePool", {a}), 0.01f, -128);
  s = n.qdq(n.op("Relu", {n.conv(s, 4, 8, 1, 1)}), 0.02f, -128);
  s = n.qdq(n.conv(s, 8, 4, 1, 1), 0.05f, 0);
  s = n.qdq(n.op("HardSigmoid", {s}, {attr_f("alpha", 1.f / 6.f), attr_f("beta", 0.5f)}), 1.f / 255,
            -128);
  const std::string y = n.qdq(n.op("Mul", {a, s}), 0.02f, -128);
  Graph g = check_model("se_block", n, y, DType::F32, {1, 3, 8, 8}, 0.02);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 3);
  EXPECT_EQ(h["QGlobalAveragePool"], 1);
  EXPECT_EQ(h["QLut"], 1);
  EXPECT_EQ(h["QMul"], 1);
  EXPECT_EQ(h["Conv"] + h["Mul"] + h["GlobalAveragePool"] + h["HardSigmoid"], 0);
}

TEST(QuantImport, ResidualAdd) {
  QdqNet n(5);
  n.b.input("x", {1, 3, 8, 8});
  std::string x = n.qdq("x", 1.f / 128, 0);
  const std::string c1 = n.qdq(n.conv(x, 8, 3, 3, 1), 0.03f, 0);
  const std::string c2 = n.qdq(n.conv(c1, 8, 8, 1, 1), 0.03f, 5);
  const std::string y = n.qdq(n.op("Add", {c1, c2}), 0.05f, 0);
  Graph g = check_model("add", n, y, DType::F32, {1, 3, 8, 8}, 0.05);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 2);
  EXPECT_EQ(h["QAdd"], 1);
  EXPECT_EQ(h["Add"], 0);
}

TEST(QuantImport, HeadsConcatWithInt8Output) {
  // Two heads: conv -> Q/DQ -> Transpose -> Reshape, then Concat -> Q with an
  // int8 graph output (full-integer I/O); DQ moves past the data movement.
  QdqNet n(6);
  n.b.input("x", {1, 3, 8, 8});
  std::string x = n.qdq("x", 1.f / 128, 0);
  auto head = [&](int64_t stride, float s, int z) {
    std::string h = n.qdq(n.conv(x, 4, 3, 3, stride), s, z);
    h = n.op("Transpose", {h}, {attr_ints("perm", {0, 2, 3, 1})});
    return n.op("Reshape", {h, n.i64({1, -1, 4})});
  };
  const std::string a = head(1, 0.02f, 0), c = head(2, 0.04f, 3);
  const std::string y = n.quantize(n.op("Concat", {a, c}, {attr_i("axis", 1)}), 0.03f, -2);
  Graph g = check_model("concat", n, y, DType::F32, {1, 3, 8, 8}, 1.0);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConcat"], 1);
  EXPECT_EQ(h["QConv"], 2);
  EXPECT_EQ(h["DequantizeLinear"] + h["Concat"], 0);
  const Value& out = g.values[g.outputs[0]];
  EXPECT_EQ(out.dtype, DType::I8);
  ASSERT_TRUE(out.quant.present());
  EXPECT_EQ(out.quant.scale[0], 0.03f);
  EXPECT_EQ(out.quant.zero_point[0], -2);
  for (const Node& nd : g.nodes)
    if (nd.op == "Reshape" || nd.op == "Transpose") {
      EXPECT_EQ(g.values[nd.outputs[0]].dtype, DType::I8);
    }
}

TEST(QuantImport, FullIntegerUint8InputUint8Activations) {
  // uint8 image -> DQ -> conv+relu -> uint8 Q/DQ -> 1x1 conv -> int8 output.
  QdqNet n(7);
  n.b.input("x", {1, 3, 10, 10}, onnx::TensorProto_DataType_UINT8);
  std::string x = n.dequantize("x", 1.f / 255, 0, true);
  n.note_scale(x, 1.f / 255);
  std::string y = n.qdq(n.op("Relu", {n.conv(x, 8, 3, 3, 1)}), 0.01f, 0, true);
  y = n.quantize(n.conv(y, 4, 8, 1, 1), 0.03f, 0);
  Graph g = check_model("full_integer_u8", n, y, DType::U8, {1, 3, 10, 10}, 1.0);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 2);
  EXPECT_EQ(h["Conv"], 0);
  const Value& in = g.values[g.inputs[0]];
  EXPECT_EQ(in.dtype, DType::U8);
  ASSERT_TRUE(in.quant.present());
  EXPECT_EQ(in.quant.scale[0], 1.f / 255);
  EXPECT_EQ(in.quant.zero_point[0], 0);
  // uint8 activations run as int8 with zero point - 128.
  for (const Node& nd : g.nodes)
    if (nd.op == "QConv" && nd.attrs.get_s("activation") == "relu") {
      EXPECT_EQ(g.values[nd.outputs[0]].quant.zero_point[0], -128);
    }
  EXPECT_EQ(g.values[g.outputs[0]].dtype, DType::I8);
  // The same I/O parameters in Simulate mode.
  ImportOptions sim;
  sim.qdq = QdqMode::Simulate;
  const Graph gs = import_onnx_file(
      std::string(VEDGE_TEST_WORK_DIR) + "/quant_import/full_integer_u8/model.onnx", sim);
  EXPECT_EQ(gs.values[gs.inputs[0]].quant.scale, in.quant.scale);
  EXPECT_EQ(gs.values[gs.outputs[0]].quant.scale, std::vector<float>{0.03f});
}

TEST(QuantImport, Uint8OutputConvertedAtTheBoundary) {
  // float input, uint8 activations and a uint8 graph output: the conv runs
  // as a QConv into int8 (zero point 100 - 128), then DQ -> Q to uint8.
  QdqNet n(14);
  n.b.input("x", {1, 3, 6, 6});
  std::string y = n.qdq("x", 1.f / 128, 128, true);
  y = n.quantize(n.conv(y, 4, 3, 3, 1), 0.02f, 100, true);
  Graph g = check_model("uint8_output", n, y, DType::F32, {1, 3, 6, 6}, 1.0,
                        onnx::TensorProto_DataType_UINT8);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QConv"], 1);
  const Value& out = g.values[g.outputs[0]];
  EXPECT_EQ(out.dtype, DType::U8);
  ASSERT_TRUE(out.quant.present());
  EXPECT_EQ(out.quant.zero_point[0], 100);
}

TEST(QuantImport, DynamicRangeWeightsOnlyRunInFloat) {
  // Only the weights are quantized (no activation Q/DQ): both modes fold
  // the weight DequantizeLinear into a float Conv.
  QdqNet n(15);
  n.b.input("x", {1, 3, 6, 6});
  n.note_scale("x", 1.f / 128);
  const std::string y = n.op("Relu", {n.conv("x", 4, 3, 3, 1)});
  Graph g = check_model("dynamic_range", n, y, DType::F32, {1, 3, 6, 6}, 1e-5,
                        onnx::TensorProto_DataType_FLOAT, false);
  auto h = op_histogram(g);
  EXPECT_EQ(h["Conv"], 1);
  EXPECT_EQ(h["DequantizeLinear"] + h["QConv"], 0);
}

TEST(QuantImport, Opset10DefaultUint8ZeroPoints) {
  // Opset 10: no axis, zero points absent (uint8 0): x -> Q -> DQ -> Sigmoid
  // -> Q -> DQ; the uint8 pairs run as int8 (zero point -128).
  QdqNet n(13, 10);
  n.b.input("x", {1, 2, 4, 4});
  auto pair = [&](const std::string& v, float s) {
    const std::string sc = n.fresh("s"), q = n.fresh("q"), d = n.fresh("dq");
    n.b.initializer(sc, {}, {s});
    n.b.node("QuantizeLinear", {v, sc}, {q});
    n.b.node("DequantizeLinear", {q, sc}, {d});
    return d;
  };
  const std::string y = pair(n.op("Sigmoid", {pair("x", 1.f / 64)}), 1.f / 255);
  Graph g = check_model("opset10", n, y, DType::F32, {1, 2, 4, 4}, 1.0 / 255);
  auto h = op_histogram(g);
  EXPECT_EQ(h["QLut"], 1);
  EXPECT_EQ(h["Sigmoid"], 0);
}

TEST(QuantImport, Fp16WeightsAreCastToFloat) {
  // W stored as float16 followed by Cast(to=float): folded at import.
  test::OnnxBuilder b(13);
  b.input("x", {1, 1, 1, 2});
  std::vector<uint16_t> w{float_to_half(0.5f), float_to_half(-2.f)};
  b.initializer(raw_tensor("w16", {2, 1, 1, 1}, onnx::TensorProto_DataType_FLOAT16, w.data(), 4));
  b.node("Cast", {"w16"}, {"w"}, {attr_i("to", onnx::TensorProto_DataType_FLOAT)});
  b.node("Conv", {"x", "w"}, {"y"});
  b.output("y");
  Graph g = import_onnx_bytes(b.bytes(), "fp16.onnx");
  Tensor x = Tensor::from_floats({1, 1, 1, 2}, {3.f, 4.f});
  EXPECT_EQ(run_ours(g, x, Backend::Reference).to_floats(),
            (std::vector<float>{1.5f, 2.f, -6.f, -8.f}));
}

// ---- malformed QDQ -----------------------------------------------------------------

std::string import_error(test::OnnxBuilder& b) {
  try {
    import_onnx_bytes(b.bytes(), "bad.onnx");
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "expected an import error";
  return "";
}

TEST(QuantImport, MalformedQdqIsOneClearError) {
  {
    QdqNet n(8);
    n.b.input("x", {1, 2});
    n.b.output(n.qdq("x", 0.f, 0));
    EXPECT_NE(import_error(n.b).find("scale 0 is not positive and finite"), std::string::npos);
  }
  {
    QdqNet n(9);
    n.b.input("x", {1, 2});
    const std::string q = n.quantize("x", 0.1f, 0);
    n.b.output(n.dequantize(q, 0.1f, 0, true));  // int8 data, uint8 zero point
    EXPECT_NE(import_error(n.b).find("zero point has type uint8, the input is int8"),
              std::string::npos);
  }
  {
    QdqNet n(10);
    n.b.input("x", {1, 3});
    n.b.initializer("s3", {3}, {0.1f, 0.2f, 0.3f});
    std::vector<int8_t> z{0, 0, 0};
    n.b.initializer(raw_tensor("z3", {3}, onnx::TensorProto_DataType_INT8, z.data(), 3));
    n.b.node("QuantizeLinear", {"x", "s3", "z3"}, {"q"}, {attr_i("axis", 5)});
    n.b.output("q");
    EXPECT_NE(import_error(n.b).find("axis 5 out of range"), std::string::npos);
  }
  {
    QdqNet n(11);
    n.b.input("x", {1, 2});
    n.b.initializer("s2", {2}, {0.1f, 0.2f});
    std::vector<int8_t> z{0, 0};
    n.b.initializer(raw_tensor("z2", {2}, onnx::TensorProto_DataType_INT8, z.data(), 2));
    n.b.node("QuantizeLinear", {"x", "s2", "z2"}, {"q"}, {attr_i("axis", 0)});
    n.b.output("q");
    EXPECT_NE(import_error(n.b).find("scale has 2 values, axis 0 of input [1,2] has 1"),
              std::string::npos);
  }
  {
    QdqNet n(12);
    n.b.input("x", {1, 2});
    n.b.output(n.op("Relu", {n.quantize("x", 0.1f, 0)}));  // int8 into a float op
    EXPECT_NE(import_error(n.b).find("dequantize it with DequantizeLinear first"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace vedge

// test_edgetpu.cpp: tools/export/edgetpu.h, the Edge TPU readiness check.
// Operator listings are built by hand (each condition of the published
// table on its own) and from files written by tools/export/tflite_writer.h
// and listed by read_tflite_info, including `vedge info --edgetpu` on a
// file with a custom operator the importer cannot run.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/tflite_import.h"
#include "tools/export/edgetpu.h"
#include "tools/export/tflite_writer.h"

namespace vedge {
namespace {

namespace fs = std::filesystem;
using TT = tflite::TensorType;

const std::string kWork = std::string(VEDGE_TEST_WORK_DIR) + "/edgetpu";

// One listed op: all tensors of `type` unless given per input.
TfliteOpInfo op(const std::string& name, std::vector<Shape> in, std::vector<Shape> out,
                const std::string& type = "int8") {
  TfliteOpInfo o;
  o.op = name;
  o.input_shapes = std::move(in);
  o.output_shapes = std::move(out);
  o.input_types.assign(o.input_shapes.size(), type);
  o.output_types.assign(o.output_shapes.size(), type);
  o.input_constant.assign(o.input_shapes.size(), false);
  return o;
}

EdgeTpuOpCheck check_one(TfliteOpInfo o) {
  TfliteModelInfo info;
  info.ops.push_back(std::move(o));
  std::vector<EdgeTpuOpCheck> c = edgetpu_check(info);
  EXPECT_EQ(c.size(), 1u);
  return c.at(0);
}

TEST(EdgeTpu, TableOpsWithInt8TensorsMap) {
  TfliteOpInfo conv = op("CONV_2D", {{1, 8, 8, 3}, {4, 3, 3, 3}, {4}}, {{1, 8, 8, 4}});
  conv.input_types[2] = "int32";  // the bias
  conv.input_constant = {false, true, true};
  EXPECT_TRUE(check_one(conv).mapped) << check_one(conv).reason;
  EXPECT_TRUE(check_one(op("ADD", {{1, 4, 4, 8}, {1, 4, 4, 8}}, {{1, 4, 4, 8}}, "uint8")).mapped);
  EXPECT_TRUE(check_one(op("LOGISTIC", {{1, 4, 4, 8}}, {{1, 4, 4, 8}})).mapped);
}

TEST(EdgeTpu, OpsOutsideTheTableDoNotMap) {
  for (const char* name : {"HARD_SWISH", "DEQUANTIZE", "GATHER", "TRANSPOSE"}) {
    EdgeTpuOpCheck c = check_one(op(name, {{1, 4, 4, 8}}, {{1, 4, 4, 8}}));
    EXPECT_FALSE(c.mapped) << name;
    EXPECT_EQ(c.reason, "not in the Edge TPU's supported operations") << name;
  }
  TfliteOpInfo pp = op("TFLite_Detection_PostProcess", {{1, 10, 4}, {1, 10, 3}, {10, 4}},
                       {{1, 5, 4}, {1, 5}, {1, 5}, {1}}, "float32");
  pp.custom = true;
  EXPECT_EQ(check_one(pp).reason, "custom operator: runs on the CPU");
}

TEST(EdgeTpu, GeneralTensorConditions) {
  EdgeTpuOpCheck f = check_one(op("CONV_2D", {{1, 8, 8, 3}, {4, 3, 3, 3}, {4}}, {{1, 8, 8, 4}}, "float32"));
  EXPECT_FALSE(f.mapped);
  EXPECT_EQ(f.reason, "input 0 is float32 (the Edge TPU runs 8-bit quantized tensors only)");
  TfliteOpInfo q = op("QUANTIZE", {{1, 8, 8, 3}}, {{1, 8, 8, 3}});
  q.input_types[0] = "float32";
  EXPECT_EQ(check_one(q).reason, "quantizes a float32 tensor: runs on the CPU (use 8-bit model input)");
  q.input_types[0] = "uint8";  // a requantization between 8-bit types maps
  EXPECT_TRUE(check_one(q).mapped);
  TfliteOpInfo deq_out = op("ADD", {{1, 4}, {1, 4}}, {{1, 4}});
  deq_out.output_types[0] = "float32";
  EXPECT_EQ(check_one(deq_out).reason, "output 0 is float32 (the Edge TPU runs 8-bit quantized tensors only)");
  EdgeTpuOpCheck big = check_one(op("ADD", {{2, 4, 4, 8}, {2, 4, 4, 8}}, {{2, 4, 4, 8}}));
  EXPECT_EQ(big.reason, "tensor [2,4,4,8] has more than 3 dimensions larger than 1");
  EXPECT_TRUE(check_one(op("ADD", {{1, 1, 4, 4, 8}, {1, 1, 4, 4, 8}}, {{1, 1, 4, 4, 8}})).mapped);
  EXPECT_EQ(check_one(op("RELU", {{1, -1, 4, 8}}, {{1, -1, 4, 8}})).reason, "dynamic shape [1,-1,4,8]");
}

TEST(EdgeTpu, PerOpConditions) {
  // SOFTMAX: one dimension larger than 1, at most 16000 elements.
  EXPECT_TRUE(check_one(op("SOFTMAX", {{1, 100}}, {{1, 100}})).mapped);
  EXPECT_EQ(check_one(op("SOFTMAX", {{1, 2034, 3}}, {{1, 2034, 3}})).reason,
            "input [1,2034,3] is not one-dimensional");
  EXPECT_EQ(check_one(op("SOFTMAX", {{1, 16001}}, {{1, 16001}})).reason,
            "input has 16001 elements (at most 16000)");
  // FULLY_CONNECTED: one-dimensional output.
  EXPECT_TRUE(check_one(op("FULLY_CONNECTED", {{1, 64}, {10, 64}}, {{1, 10}})).mapped);
  EXPECT_EQ(check_one(op("FULLY_CONNECTED", {{2, 64}, {10, 64}}, {{2, 10}})).reason,
            "output [2,10] is not one-dimensional");
  // MEAN: not along the batch; a channel reduction needs a multiple of 4.
  TfliteOpInfo mean = op("MEAN", {{1, 7, 7, 96}, {2}}, {{1, 1, 1, 96}});
  mean.input_types[1] = "int32";
  mean.input_constant[1] = true;
  EXPECT_TRUE(check_one(mean).mapped) << check_one(mean).reason;
  mean.input_shapes[0] = {1, 7, 7, 6};
  mean.output_shapes[0] = {1, 7, 7, 1};
  EXPECT_EQ(check_one(mean).reason, "reduces channels whose count 6 is not a multiple of 4");
  mean.input_shapes[0] = {1, 7, 7, 8};
  EXPECT_TRUE(check_one(mean).mapped);
  // PAD: not along the batch.
  TfliteOpInfo pad = op("PAD", {{1, 4, 8}, {3, 2}}, {{3, 4, 8}});
  pad.input_types[1] = "int32";
  pad.input_constant[1] = true;
  EXPECT_EQ(check_one(pad).reason, "changes the batch dimension (padding along batch is not supported)");
  // CONCATENATION: a constant input only as the second of two (zero padding).
  TfliteOpInfo cat = op("CONCATENATION", {{1, 4, 4, 8}, {1, 4, 4, 8}, {1, 4, 4, 8}}, {{1, 4, 4, 24}});
  EXPECT_TRUE(check_one(cat).mapped);
  cat.input_constant[2] = true;
  EXPECT_EQ(check_one(cat).reason,
            "a constant input is only allowed with exactly 2 inputs (a zero padding)");
}

TEST(EdgeTpu, SummaryNamesTheSplitPoint) {
  std::vector<EdgeTpuOpCheck> all = {{0, "CONV_2D", true, ""}, {1, "ADD", true, ""}};
  EXPECT_EQ(edgetpu_summary_line(all), "2 of 2 ops map to the Edge TPU; the whole graph can run on the Edge TPU");
  std::vector<EdgeTpuOpCheck> split = {{0, "CONV_2D", true, ""},
                                       {1, "HARD_SWISH", false, "x"},
                                       {2, "CONV_2D", true, ""},
                                       {3, "DEQUANTIZE", false, "x"}};
  EdgeTpuSummary s = edgetpu_summary(split);
  EXPECT_EQ(s.total, 4);
  EXPECT_EQ(s.mapped, 2);
  EXPECT_EQ(s.first_cpu_op, 1);
  EXPECT_EQ(s.on_edgetpu, 1);
  EXPECT_EQ(edgetpu_summary_line(split),
            "2 of 4 ops map to the Edge TPU; op 1 (HARD_SWISH) splits the graph: ops before it (1) "
            "run on the Edge TPU, ops 1..3 run on the CPU");
}

// ---- from written files -----------------------------------------------------------

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// uint8 image -> QUANTIZE (uint8 -> int8) -> CONV_2D int8 -> HARD_SWISH ->
// RESHAPE [1,16,2] -> DEQUANTIZE -> TFLite_Detection_PostProcess-like
// custom op (float).
tflite::Model small_int8_detector() {
  tflite::Model m;
  auto act = [&](const std::string& name, TT type, std::vector<int32_t> shape, float scale, int64_t zp) {
    tflite::Tensor t;
    t.name = name;
    t.type = type;
    t.shape = std::move(shape);
    if (scale > 0) t.quant = {{scale}, {zp}, 0};
    return m.add_tensor(t);
  };
  int32_t img = act("images", TT::UInt8, {1, 4, 4, 3}, 0.02f, 128);
  int32_t x = act("x", TT::Int8, {1, 4, 4, 3}, 0.02f, 0);
  int32_t w = m.add_constant("w", TT::Int8, {2, 1, 1, 3}, bytes_of(std::vector<int8_t>{1, 2, 3, 4, 5, 6}),
                             {{0.1f, 0.2f}, {0, 0}, 0});
  int32_t b = m.add_constant("b", TT::Int32, {2}, bytes_of(std::vector<int32_t>{0, 0}),
                             {{0.002f, 0.004f}, {0, 0}, 0});
  int32_t c = act("c", TT::Int8, {1, 4, 4, 2}, 0.05f, 0);
  int32_t h = act("h", TT::Int8, {1, 4, 4, 2}, 0.05f, 0);
  int32_t shape = m.add_constant("shape", TT::Int32, {3}, bytes_of(std::vector<int32_t>{1, 16, 2}));
  int32_t r = act("r", TT::Int8, {1, 16, 2}, 0.05f, 0);
  int32_t f = act("f", TT::Float32, {1, 16, 2}, 0, 0);
  int32_t y = act("detections", TT::Float32, {1, 16, 2}, 0, 0);
  auto mk = [](tflite::Op o, std::vector<int32_t> in, std::vector<int32_t> out) {
    tflite::Operator op;
    op.op = o;
    op.inputs = std::move(in);
    op.outputs = std::move(out);
    return op;
  };
  tflite::Operator custom = mk(tflite::Op::Custom, {f}, {y});
  custom.custom_code = "VedgeTestPostprocess";
  m.operators = {mk(tflite::Op::Quantize, {img}, {x}), mk(tflite::Op::Conv2D, {x, w, b}, {c}),
                 mk(tflite::Op::HardSwish, {c}, {h}), mk(tflite::Op::Reshape, {h, shape}, {r}),
                 mk(tflite::Op::Dequantize, {r}, {f}), custom};
  m.inputs = {img};
  m.outputs = {y};
  return m;
}

TEST(EdgeTpu, WrittenInt8ModelSplitsAtHardSwish) {
  const std::vector<EdgeTpuOpCheck> c =
      edgetpu_check(read_tflite_info(tflite::serialize(small_int8_detector()), "det.tflite"));
  ASSERT_EQ(c.size(), 6u);
  const std::vector<std::string> ops = {"QUANTIZE", "CONV_2D", "HARD_SWISH", "RESHAPE", "DEQUANTIZE",
                                        "VedgeTestPostprocess"};
  const std::vector<bool> mapped = {true, true, false, true, false, false};
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].index, static_cast<int>(i));
    EXPECT_EQ(c[i].op, ops[i]);
    EXPECT_EQ(c[i].mapped, mapped[i]) << ops[i] << ": " << c[i].reason;
  }
  EXPECT_EQ(c[4].reason, "not in the Edge TPU's supported operations");
  EXPECT_EQ(edgetpu_summary(c).first_cpu_op, 2);
}

std::string run_cli(const std::string& args, int* status) {
  std::string cmd = std::string(VEDGE_CLI) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr) << cmd;
  if (!p) return "";
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  *status = pclose(p);
  return out;
}

TEST(EdgeTpu, InfoCommandListsEveryOpOfAFileWithACustomOp) {
  fs::create_directories(kWork);
  const std::string path = kWork + "/det.tflite";
  tflite::write_file(small_int8_detector(), path);
  int status = 0;
  const std::string out = run_cli("info " + path + " --edgetpu", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("    1  CONV_2D"), std::string::npos) << out;
  EXPECT_NE(out.find("    2  HARD_SWISH                     no       not in the Edge TPU's supported operations"),
            std::string::npos) << out;
  EXPECT_NE(out.find("    5  VedgeTestPostprocess           no       custom operator: runs on the CPU"),
            std::string::npos) << out;
  EXPECT_NE(out.find("3 of 6 ops map to the Edge TPU; op 2 (HARD_SWISH) splits the graph: ops before it (2) "
                     "run on the Edge TPU, ops 2..5 run on the CPU"),
            std::string::npos) << out;
  const std::string json = run_cli("info " + path + " --edgetpu --json", &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_NE(json.find("\"first_cpu_op\": 2"), std::string::npos) << json;
  // Not a TFLite file: one clear error.
  const std::string onnx = kWork + "/not.onnx";
  { std::FILE* f = std::fopen(onnx.c_str(), "w"); std::fputs("x", f); std::fclose(f); }
  const std::string err = run_cli("info " + onnx + " --edgetpu", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(err.find("--edgetpu needs a .tflite model"), std::string::npos) << err;
}

}  // namespace
}  // namespace vedge

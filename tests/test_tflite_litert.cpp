// test_tflite_litert.cpp: the TFLite export acceptance test (issue 6). Every
// variant of the demo architecture (the random-weight
// ssdlite320_mobilenet_v3_small_2fm_op17.onnx test model) is exported with
// export_tflite (tools/export/tflite_export.h), loaded and run in a real TFLite
// runtime, LiteRT.js (@litertjs/core under Node, CPU/wasm; tests/litert_peer.h),
// and its outputs `boxes` [1,A,4] and `scores` [1,A,C] are compared with our
// runtime's Session on the same input (a preprocessed synthetic image; NCHW
// for us, transposed to the file's NHWC for LiteRT).
//
// Tolerances, per output tensor (o = ours, l = LiteRT, M = max_i |o_i|,
// rel_l2 = ||l - o||_2 / ||o||_2):
//   fp32     vs the float ONNX model: |l_i - o_i| <= 1e-4 * max(1, M) for
//            every element (absolute 1e-4 at unit scale).
//   fp16     (float16 weights + DEQUANTIZE) vs the float ONNX model:
//            rel_l2 <= 1e-2; and vs our fp16 ONNX twin from tools/quantize
//            (the same float16 weights): the fp32 bound, so the conversion
//            itself is exact. (The fp16 rounding of the weights alone moves
//            the largest logits by ~1.2% of M, in our runtime as in LiteRT.)
//   dynamic  (int8 per-channel weights + DEQUANTIZE, float compute) vs our
//            dynamic ONNX twin (the same int8 weights and scales): the fp32
//            bound.
//   int8     io float | int8 | uint8, each converted from the QDQ ONNX that
//            quantize_model wrote (one calibration on 4 synthetic images,
//            re-built per io with rebuild()), vs Session on that QDQ ONNX
//            (imported and lowered to the integer kernels). A step is the
//            scale of the quantized tensor a value comes from (integer
//            outputs: 1 in integer units; float outputs: the scale of the
//            value their DequantizeLinear reads, per element).
//            Per layer: every integer op of the model, fed the same int8
//            input in both runtimes (all ops side by side in one model),
//            agrees within 2 steps on >= 99% of its elements (measured: 100%
//            within 1 step; only HARD_SWISH differs, by 1 step on <= 2%: the
//            QDQ graph's hard-swish is the exact function, TFLite's int8
//            kernel is fixed point). End to end, those rare 1-step
//            differences are amplified through ~100 layers (random-weight
//            model: ~91% of box elements within 2 steps), so against the QDQ
//            ONNX the check is rel_l2 <= 0.1 of the dequantized outputs (a
//            wrong scale, zero point or layout gives rel_l2 ~ 1) and the
//            fraction within 2 steps is printed. Against our runtime running
//            the .tflite file itself (import_tflite_file with
//            TfliteNumbers::Integer, which gives HARD_SWISH TFLite's own
//            fixed-point table, runtime/tflite_hardswish.h) the issue's
//            criterion holds: >= 99% of elements within 2 steps (measured:
//            100%, max 1 step). The int8 HARD_SWISH op alone: 60 random
//            quantizations x all 256 inputs, ours (the .tflite imported)
//            equal to LiteRT on every entry.
//            The int8 files are also checked to be full-integer: int8
//            convolutions with int8 weights and int32 biases, no float
//            constants.
// Slow-ish (~35 s in one process, ~70 s as separate CTest processes): nine
// LiteRT runs in WebAssembly, seven of them of a 320x320 detector.
// Depends on tools/ (export, convert, writer, quantize), runtime/,
// data/synthetic.h and the LiteRT.js peer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/synthetic.h"
#include "litert_peer.h"
#include "runtime/detector_spec.h"
#include "runtime/executor.h"
#include "runtime/onnx_import.h"
#include "runtime/quant_math.h"
#include "runtime/tflite_import.h"
#include "tools/export/tflite_convert.h"
#include "tools/export/tflite_export.h"
#include "tools/export/tflite_writer.h"
#include "tools/quantize/quantize.h"

namespace vedge {
namespace {
namespace fs = std::filesystem;

const std::string kModel = std::string(VEDGE_TEST_WORK_DIR) + "/models/ssdlite320_mobilenet_v3_small_2fm_op17.onnx";

#define NEED_MODEL_AND_PEER()                                                                        \
  if (!fs::exists(kModel)) GTEST_SKIP() << kModel << " absent: the export_test_models CTest fixture writes it"; \
  if (!test::litert_available()) return

// A folder of the current test (CTest runs the tests as parallel processes:
// none shares a file with another).
std::string work_dir(const std::string& name) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/tflite_litert/" + test + "/" + name;
  fs::create_directories(d);
  return d;
}

// A synthetic shapes split of n images, written once; returns its COCO JSON.
std::string shapes_split(const std::string& split, int n, uint64_t seed) {
  const std::string dir = work_dir("data");
  const std::string json = dir + "/" + split + ".json";
  if (!fs::exists(json)) {
    ShapesConfig cfg;
    cfg.num_images = n;
    cfg.seed = seed;
    generate_shapes(cfg, dir, split);
  }
  return json;
}

// The test input: a held-out synthetic image preprocessed by the model's
// detector spec, float [1,3,320,320].
const Tensor& float_input() {
  static const Tensor x = [] {
    const DetectorSpec spec = resolve_detector_spec(kModel, import_onnx_file(kModel).metadata);
    return load_calibration_set(shapes_split("test", 1, 12), spec.input, CalibSetOptions{}).inputs.at(0);
  }();
  return x;
}

// NCHW -> NHWC of a [1,C,H,W] tensor of any 1- or 4-byte dtype.
Tensor to_nhwc(const Tensor& t) {
  const Shape& s = t.shape();
  const int64_t C = s[1], H = s[2], W = s[3];
  Tensor out(t.dtype(), {s[0], H, W, C});
  const size_t es = dtype_size(t.dtype());
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < H * W; ++i) std::memcpy(dst + (i * C + c) * es, src + (c * H * W + i) * es, es);
  return out;
}

// The graph input quantized to its integer type with its Value::quant.
Tensor quantize_input(const Value& in, const Tensor& x) {
  EXPECT_TRUE(in.quant.present()) << in.name;
  const float scale = in.quant.scale.at(0);
  const int zp = in.quant.zero_point.at(0);
  const bool u8 = in.dtype == DType::U8;
  Tensor q(in.dtype, x.shape());
  const float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int32_t v = quantize_to(p[i], scale, zp, u8 ? 0 : -128, u8 ? 255 : 127);
    if (u8) q.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    else q.data<int8_t>()[i] = static_cast<int8_t>(v);
  }
  return q;
}

// Per-element step of a float output made of DequantizeLinear outputs
// (through Concat and shape-only ops); empty when it has none.
std::vector<float> dequantized_steps(const Graph& g, int id) {
  const Value& v = g.values[id];
  const Node* p = nullptr;
  for (const Node& n : g.nodes)
    if (!n.outputs.empty() && n.outputs[0] == id) p = &n;
  if (!p) return {};
  if (p->op == "DequantizeLinear") {
    const Value& q = g.values[p->inputs.at(0)];
    if (!q.quant.present()) return {};
    return std::vector<float>(static_cast<size_t>(numel(v.shape)), q.quant.scale.at(0));
  }
  if (p->op == "Reshape" || p->op == "Flatten" || p->op == "Squeeze" || p->op == "Unsqueeze") {
    return dequantized_steps(g, p->inputs.at(0));
  }
  if (p->op != "Concat") return {};
  int64_t axis = p->attrs.get_i("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(v.shape.size());
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= v.shape[d];
  std::vector<std::vector<float>> parts;
  for (int in : p->inputs) {
    parts.push_back(dequantized_steps(g, in));
    if (parts.back().empty()) return {};
  }
  std::vector<float> out;
  for (int64_t o = 0; o < outer; ++o)
    for (const auto& part : parts) {
      const size_t inner = part.size() / static_cast<size_t>(outer);
      out.insert(out.end(), part.begin() + o * inner, part.begin() + (o + 1) * inner);
    }
  return out;
}

struct Outputs {
  std::map<std::string, Tensor> values;              // by output name
  std::map<std::string, std::vector<float>> steps;   // quantized graphs: step per element
};

// Our runtime: Session (fast backend) on `g` with input x (quantized first
// when the graph input is integer).
Outputs run_ours(const Graph& g, const Tensor& x) {
  const Value in = g.values[g.inputs.at(0)];
  Session s(g);
  s.set_input(0, in.dtype == DType::F32 ? x : quantize_input(in, x));
  s.run();
  Outputs o;
  for (int i = 0; i < s.num_outputs(); ++i) {
    const Value& v = g.values[g.outputs[i]];
    o.values[v.name] = s.output(i);
    if (v.quant.present()) o.steps[v.name].assign(static_cast<size_t>(numel(v.shape)), v.quant.scale.at(0));
    else o.steps[v.name] = dequantized_steps(g, g.outputs[i]);
  }
  return o;
}

// LiteRT.js on `tflite` with the NHWC input (quantized like ours).
test::LitertRun run_theirs(const std::string& tflite, const Graph& ours, const Tensor& x, const std::string& dir) {
  const Value in = ours.values[ours.inputs.at(0)];
  const Tensor feed = to_nhwc(in.dtype == DType::F32 ? x : quantize_input(in, x));
  return test::run_litert(tflite, {{"images", feed}}, dir);
}

const test::LitertOutput* find_output(const test::LitertRun& r, const std::string& name) {
  for (const auto& o : r.outputs)
    if (o.io.name == name) return &o;
  ADD_FAILURE() << "LiteRT has no output '" << name << "'";
  return nullptr;
}

double rel_l2(const std::vector<float>& ours, const std::vector<float>& theirs) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    num += (double(theirs[i]) - ours[i]) * (double(theirs[i]) - ours[i]);
    den += double(ours[i]) * ours[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Every element within tol * max(1, M) (the fp32 bound; see the header).
void expect_elementwise(const std::string& what, const Tensor& ours, const Tensor& theirs, double tol) {
  ASSERT_EQ(shape_str(ours.shape()), shape_str(theirs.shape())) << what;
  ASSERT_EQ(theirs.dtype(), DType::F32) << what;
  const std::vector<float> a = ours.to_floats(), b = theirs.to_floats();
  double m = 0, worst = 0;
  for (float v : a) m = std::max(m, double(std::fabs(v)));
  const double bound = tol * std::max(1.0, m);
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    worst = std::max(worst, d);
    if (!(d <= bound)) ++bad;
  }
  std::printf("  %-24s max|ours| %8.4f  max|diff| %.3g (bound %.3g)\n", what.c_str(), m, worst, bound);
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << a.size() << " elements beyond " << bound
                     << " (max |diff| " << worst << ")";
}

// rel_l2 <= tol.
void expect_rel_l2(const std::string& what, const Tensor& ours, const Tensor& theirs, double tol) {
  ASSERT_EQ(shape_str(ours.shape()), shape_str(theirs.shape())) << what;
  const std::vector<float> a = ours.to_floats(), b = theirs.to_floats();
  double m = 0, worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, double(std::fabs(a[i])));
    worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
  }
  const double r = rel_l2(a, b);
  std::printf("  %-24s rel_l2 %.3g (bound %.3g)  max|diff| %.3g = %.2f%% of max|ours|\n", what.c_str(), r, tol, worst,
              100 * worst / std::max(m, 1e-30));
  EXPECT_LE(r, tol) << what;
}

std::string export_variant(const std::string& source, Precision p, DType io, const std::string& name) {
  TfliteExportOptions opt;
  opt.precision = p;
  opt.io = io;
  opt.progress = false;
  const std::string out = work_dir("models") + "/" + name + ".tflite";
  export_tflite(source, out, opt);
  return out;
}

// Our ONNX twin of a float-compute variant (tools/quantize), imported.
Graph onnx_twin(Precision p) {
  QuantizeOptions q;
  q.qdq.precision = p;
  q.progress = false;
  const std::string onnx = work_dir("models") + "/" + precision_name(p) + "_twin.onnx";
  write_quantized(quantize_model(kModel, q), onnx);
  return import_onnx_file(onnx);
}

// Exports precision p and runs it in LiteRT; ours = Session on `reference`.
std::pair<Outputs, test::LitertRun> run_float_variant(Precision p, const Graph& reference) {
  const std::string name = precision_name(p);
  const std::string tfl = export_variant(kModel, p, DType::F32, name);
  test::LitertRun theirs = run_theirs(tfl, reference, float_input(), work_dir("run_" + name));
  if (theirs.ok) {
    EXPECT_EQ(theirs.outputs.size(), 2u);
    EXPECT_EQ(theirs.inputs.at(0).type, "float32");
    EXPECT_EQ(shape_str(theirs.inputs.at(0).shape), "[1,320,320,3]");
  }
  return {run_ours(reference, float_input()), std::move(theirs)};
}

TEST(TfliteLitert, Fp32MatchesOurRuntime) {
  NEED_MODEL_AND_PEER();
  const auto [ours, theirs] = run_float_variant(Precision::FP32, import_onnx_file(kModel));
  ASSERT_TRUE(theirs.ok);
  for (const char* out : {"boxes", "scores"})
    if (const auto* t = find_output(theirs, out)) expect_elementwise(std::string("fp32 ") + out, ours.values.at(out), t->value, 1e-4);
}

TEST(TfliteLitert, Fp16MatchesFloatModelAndOurFp16Twin) {
  NEED_MODEL_AND_PEER();
  const auto [twin, theirs] = run_float_variant(Precision::FP16, onnx_twin(Precision::FP16));
  ASSERT_TRUE(theirs.ok);
  const Outputs fp32 = run_ours(import_onnx_file(kModel), float_input());
  for (const char* out : {"boxes", "scores"}) {
    const auto* t = find_output(theirs, out);
    if (!t) continue;
    expect_rel_l2(std::string("fp16 vs float ") + out, fp32.values.at(out), t->value, 1e-2);
    expect_elementwise(std::string("fp16 vs fp16 twin ") + out, twin.values.at(out), t->value, 1e-4);
  }
}

TEST(TfliteLitert, DynamicMatchesOurDynamicTwin) {
  NEED_MODEL_AND_PEER();
  const auto [twin, theirs] = run_float_variant(Precision::Dynamic, onnx_twin(Precision::Dynamic));
  ASSERT_TRUE(theirs.ok);
  for (const char* out : {"boxes", "scores"})
    if (const auto* t = find_output(theirs, out))
      expect_elementwise(std::string("dynamic ") + out, twin.values.at(out), t->value, 1e-4);
}

// The calibrated INT8 result, once (io float); rebuilt per io.
QuantizeResult& int8_result() {
  static QuantizeResult r = [] {
    QuantizeOptions q;
    q.qdq.precision = Precision::INT8;
    q.calib_path = shapes_split("calib", 4, 11);
    q.calib_set.samples = 4;
    q.progress = false;
    return quantize_model(kModel, q);
  }();
  return r;
}

// The QDQ ONNX of `io`, written once per io.
std::string int8_onnx(DType io) {
  const std::string name = std::string("int8_io_") + (io == DType::F32 ? "float" : io == DType::I8 ? "int8" : "uint8");
  const std::string path = work_dir("models") + "/" + name + ".onnx";
  QuantizeResult& r = int8_result();
  QdqOptions o = r.options.qdq;
  o.io = io;
  rebuild(r, o);
  write_quantized(r, path);
  return path;
}

// Every convolution of an int8 file is integer: int8 activations in and
// out, int8 weights, int32 bias; no float32 constant anywhere.
void expect_full_integer(const std::string& tflite, DType io) {
  const TfliteModelInfo info = read_tflite_info_file(tflite);
  int convs = 0, quantize = 0, dequantize = 0;
  for (const TfliteOpInfo& op : info.ops) {
    for (size_t i = 0; i < op.input_types.size(); ++i) {
      if (i < op.input_constant.size() && op.input_constant[i]) {
        EXPECT_NE(op.input_types[i], "float32") << op.op << " #" << op.index << " has a float constant input " << i;
      }
    }
    if (op.op == "QUANTIZE") ++quantize;
    if (op.op == "DEQUANTIZE") ++dequantize;
    if (op.op != "CONV_2D" && op.op != "DEPTHWISE_CONV_2D") continue;
    ++convs;
    ASSERT_GE(op.input_types.size(), 3u) << op.op << " #" << op.index;
    EXPECT_EQ(op.input_types[0], "int8") << op.op << " #" << op.index;
    EXPECT_EQ(op.input_types[1], "int8") << op.op << " #" << op.index;
    EXPECT_EQ(op.input_types[2], "int32") << op.op << " #" << op.index;
    EXPECT_EQ(op.output_types.at(0), "int8") << op.op << " #" << op.index;
  }
  EXPECT_GT(convs, 20);
  // io float: a QUANTIZE at the input and DEQUANTIZEs at the outputs; int8
  // or uint8 io: no DEQUANTIZE (the outputs stay int8).
  if (io == DType::F32) {
    EXPECT_GE(quantize, 1) << tflite;
    EXPECT_GE(dequantize, 2) << tflite;
  } else {
    EXPECT_EQ(dequantize, 0) << tflite;
  }
  std::printf("  %s: %.3f MB, %d integer convolutions\n", fs::path(tflite).filename().c_str(),
              fs::file_size(tflite) / 1e6, convs);
}

// Compares one int8-model output of ours with LiteRT's in quantization
// steps (`step` per element, see the header); prints the fraction within 2
// steps and rel_l2 of the dequantized values; asserts rel_l2 <= 0.1 and, when
// min_within2 > 0, that fraction.
void compare_int8_output(const std::string& what, const Tensor& ours, const std::vector<float>& step,
                         const test::LitertOutput& theirs, double min_within2 = 0) {
  ASSERT_EQ(ours.dtype(), theirs.value.dtype()) << what;
  ASSERT_EQ(shape_str(ours.shape()), shape_str(theirs.value.shape())) << what;
  ASSERT_EQ(step.size(), static_cast<size_t>(ours.numel())) << what << ": no quantization step found";
  std::vector<float> a = ours.to_floats(), b = theirs.value.to_floats();
  if (ours.dtype() != DType::F32) {  // integer outputs: the file's params = the graph's; compare dequantized
    ASSERT_TRUE(theirs.io.quantized()) << what;
    const float scale = theirs.io.scale.at(0);
    const int64_t zp = theirs.io.zero_point.at(0);
    EXPECT_FLOAT_EQ(scale, step.at(0)) << what << ": the file's output scale differs from the QDQ graph's";
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = (a[i] - zp) * scale;
      b[i] = (b[i] - zp) * scale;
    }
  }
  size_t within2 = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double steps = std::fabs(double(a[i]) - double(b[i])) / step[i];
    worst = std::max(worst, steps);
    if (steps <= 2 + 1e-3) ++within2;
  }
  const double f2 = double(within2) / a.size(), r = rel_l2(a, b);
  std::printf("  %-40s %.2f%% within 2 steps (max %.0f), rel_l2 %.3g\n", what.c_str(), 100 * f2, worst, r);
  EXPECT_LE(r, 0.1) << what;
  if (min_within2 > 0) {
    EXPECT_GE(f2, min_within2) << what << ": max " << worst << " steps";
  }
}

void check_int8_variant(DType io) {
  const std::string onnx = int8_onnx(io);
  const std::string name = fs::path(onnx).stem().string();
  const std::string tfl = export_variant(onnx, Precision::INT8, io, name);
  expect_full_integer(tfl, io);

  const Graph lowered = import_onnx_file(onnx);  // QDQ -> integer kernels (QdqMode::Integer)
  const Outputs ours = run_ours(lowered, float_input());
  const test::LitertRun theirs = run_theirs(tfl, lowered, float_input(), work_dir("run_" + name));
  ASSERT_TRUE(theirs.ok);
  const Value& in = lowered.values[lowered.inputs.at(0)];
  EXPECT_EQ(theirs.inputs.at(0).type, io == DType::F32 ? "float32" : io == DType::I8 ? "int8" : "uint8");
  if (io != DType::F32) {  // the file's input quantization = the QDQ graph's
    ASSERT_TRUE(theirs.inputs.at(0).quantized());
    EXPECT_FLOAT_EQ(theirs.inputs.at(0).scale.at(0), in.quant.scale.at(0));
    EXPECT_EQ(theirs.inputs.at(0).zero_point.at(0), in.quant.zero_point.at(0));
  }
  // Our runtime on the .tflite file itself (integer import, TFLite's op
  // semantics), fed the same NHWC input as LiteRT.
  TfliteImportOptions integer;
  integer.numbers = TfliteNumbers::Integer;
  const Graph imported = import_tflite_file(tfl, nullptr, integer);
  const Outputs ours_tfl = run_ours(imported, to_nhwc(float_input()));
  for (const char* out : {"boxes", "scores"}) {
    const auto* t = find_output(theirs, out);
    if (!t) continue;
    const std::vector<float>& step = ours.steps.at(out);
    compare_int8_output(name + " " + out + " vs QDQ ONNX", ours.values.at(out), step, *t);
    compare_int8_output(name + " " + out + " vs same .tflite", ours_tfl.values.at(out), step, *t, 0.99);
  }
}

TEST(TfliteLitert, Int8IoFloatMatchesOurIntegerRuntime) {
  NEED_MODEL_AND_PEER();
  check_int8_variant(DType::F32);
}

TEST(TfliteLitert, Int8IoInt8MatchesOurIntegerRuntime) {
  NEED_MODEL_AND_PEER();
  check_int8_variant(DType::I8);
}

TEST(TfliteLitert, Int8IoUint8MatchesOurIntegerRuntime) {
  NEED_MODEL_AND_PEER();
  check_int8_variant(DType::U8);
}

// NHWC -> NCHW of a [1,H,W,C] int8 tensor.
Tensor to_nchw_i8(const Tensor& t) {
  const Shape& s = t.shape();
  Tensor out(t.dtype(), {s[0], s[3], s[1], s[2]});
  const int64_t HW = s[1] * s[2], C = s[3];
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < HW; ++i) out.data<int8_t>()[c * HW + i] = t.data<int8_t>()[i * C + c];
  return out;
}

// Every integer op of the int8 model, side by side in one model whose
// inputs are that op's inputs as our full run computed them.
TEST(TfliteLitert, Int8EveryLayerWithinTwoSteps) {
  NEED_MODEL_AND_PEER();
  const Graph g = import_onnx_file(int8_onnx(DType::I8));
  auto integer = [&](int id) { return id >= 0 && g.values[id].dtype == DType::I8; };
  std::vector<const Node*> ops;
  for (const Node& n : g.nodes) {
    bool ok = n.op.size() > 1 && n.op[0] == 'Q' && n.op != "QuantizeLinear" && integer(n.outputs.at(0));
    for (int id : n.inputs) ok = ok && (id < 0 || g.values[id].is_constant() || integer(id));
    if (ok) ops.push_back(&n);
  }
  ASSERT_GT(ops.size(), 80u);

  // Our full run, keeping every value an op reads or writes.
  Graph all = g;
  all.outputs.clear();
  std::map<int, int> slot;  // value id -> output index
  for (const Node* n : ops)
    for (int id : n->inputs)
      if (id >= 0 && !g.values[id].is_constant() && id != g.inputs.at(0) && !slot.count(id)) {
        slot[id] = static_cast<int>(all.outputs.size());
        all.outputs.push_back(id);
      }
  for (const Node* n : ops)
    if (!slot.count(n->outputs[0])) {
      slot[n->outputs[0]] = static_cast<int>(all.outputs.size());
      all.outputs.push_back(n->outputs[0]);
    }
  const Tensor x = quantize_input(g.values[g.inputs.at(0)], float_input());
  Session s(all);
  s.set_input(0, x);
  s.run();
  auto value = [&](int id) { return id == g.inputs.at(0) ? x : s.output(slot.at(id)); };

  Graph side;
  side.source = "every integer layer";
  std::map<int, int> constants;
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (size_t k = 0; k < ops.size(); ++k) {
    Node m = *ops[k];
    m.name = "layer" + std::to_string(k) + "_" + m.name;
    for (size_t j = 0; j < m.inputs.size(); ++j) {
      const int id = m.inputs[j];
      if (id < 0) continue;
      if (g.values[id].is_constant()) {
        if (!constants.count(id)) constants[id] = side.add_value(g.values[id]);
        m.inputs[j] = constants[id];
        continue;
      }
      Value v = g.values[id];
      v.name = "layer" + std::to_string(k) + "_in" + std::to_string(j);
      m.inputs[j] = side.add_value(v);
      side.inputs.push_back(m.inputs[j]);
      const Tensor t = value(id);
      feeds.emplace_back(v.name, t.shape().size() == 4 ? to_nhwc(t) : t);
    }
    Value out = g.values[m.outputs.at(0)];
    out.name = "layer" + std::to_string(k) + "_out";
    m.outputs = {side.add_value(out)};
    side.outputs.push_back(m.outputs[0]);
    side.nodes.push_back(m);
  }
  const std::string tfl = work_dir("models") + "/every_layer.tflite";
  tflite::write_file(graph_to_tflite(side), tfl);
  const test::LitertRun theirs = test::run_litert(tfl, feeds, work_dir("run_every_layer"));
  ASSERT_TRUE(theirs.ok);
  ASSERT_EQ(theirs.outputs.size(), ops.size());

  size_t total = 0, within1 = 0, differing_layers = 0;
  for (size_t k = 0; k < ops.size(); ++k) {
    const Tensor ours = value(ops[k]->outputs[0]);
    const test::LitertOutput& t = theirs.outputs[k];
    ASSERT_EQ(t.io.name, "layer" + std::to_string(k) + "_out");
    const Tensor th = t.value.shape().size() == 4 ? to_nchw_i8(t.value) : t.value;
    ASSERT_EQ(shape_str(ours.shape()), shape_str(th.shape())) << ops[k]->label();
    size_t n1 = 0, n2 = 0;
    int worst = 0;
    for (int64_t i = 0; i < ours.numel(); ++i) {
      const int d = std::abs(int(ours.data<int8_t>()[i]) - int(th.data<int8_t>()[i]));
      worst = std::max(worst, d);
      n1 += d <= 1;
      n2 += d <= 2;
    }
    total += static_cast<size_t>(ours.numel());
    within1 += n1;
    if (worst > 0) ++differing_layers;
    EXPECT_GE(double(n2) / ours.numel(), 0.99) << ops[k]->label() << ": max " << worst << " steps";
  }
  std::printf("  %zu integer layers: %zu differ at all; %.4f%% of %zu elements within 1 step\n", ops.size(),
              differing_layers, 100.0 * within1 / total, total);
}

// int8 HARD_SWISH, the one op whose TFLite arithmetic (fixed point) differs
// from the exact function: 60 random (input, output) quantizations side by
// side in one model, each fed all 256 int8 values. Our runtime running the
// .tflite file (integer import: runtime/tflite_hardswish.h) equals LiteRT on
// every entry.
TEST(TfliteLitert, Int8HardSwishOfTfliteFileEqualsLiteRt) {
  if (!test::litert_available()) return;
  constexpr int kPairs = 60;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  tflite::Model m;
  std::vector<std::pair<std::string, Tensor>> feeds;
  Tensor all(DType::I8, {1, 256});
  for (int i = 0; i < 256; ++i) all.data<int8_t>()[i] = static_cast<int8_t>(i - 128);
  for (int k = 0; k < kPairs; ++k) {
    tflite::Tensor in;
    in.name = "in" + std::to_string(k);
    in.type = tflite::TensorType::Int8;
    in.shape = {1, 256};
    in.quant.scale = {0.005f * std::pow(100.f, u(rng))};  // 0.005 .. 0.5
    in.quant.zero_point = {static_cast<int64_t>(u(rng) * 255) - 128};
    tflite::Tensor out = in;
    out.name = "out" + std::to_string(k);
    out.quant.scale = {in.quant.scale[0] * (0.2f + 1.3f * u(rng))};
    out.quant.zero_point = {static_cast<int64_t>(u(rng) * 255) - 128};
    tflite::Operator op;
    op.op = tflite::Op::HardSwish;
    op.inputs = {m.add_tensor(in)};
    op.outputs = {m.add_tensor(out)};
    m.inputs.push_back(op.inputs[0]);
    m.outputs.push_back(op.outputs[0]);
    m.operators.push_back(op);
    feeds.emplace_back(in.name, all);
  }
  const std::string tfl = work_dir("models") + "/hard_swish.tflite";
  tflite::write_file(m, tfl);
  const test::LitertRun theirs = test::run_litert(tfl, feeds, work_dir("run_hard_swish"));
  ASSERT_TRUE(theirs.ok);
  ASSERT_EQ(theirs.outputs.size(), static_cast<size_t>(kPairs));

  TfliteImportOptions integer;
  integer.numbers = TfliteNumbers::Integer;
  Session s(import_tflite_file(tfl, nullptr, integer));
  for (int k = 0; k < kPairs; ++k) s.set_input(k, all);
  s.run();
  int differ = 0, reported = 0;
  for (int k = 0; k < kPairs; ++k) {
    const Tensor ours = s.output(k);
    const Tensor& t = theirs.outputs[k].value;
    ASSERT_EQ(ours.dtype(), DType::I8);
    ASSERT_EQ(t.dtype(), DType::I8);
    for (int i = 0; i < 256; ++i) {
      const int d = std::abs(int(ours.data<int8_t>()[i]) - int(t.data<int8_t>()[i]));
      differ += d > 0;
      if (d > 0 && ++reported <= 5) {
        ADD_FAILURE() << "pair " << k << " (in scale " << m.tensors[m.inputs[k]].quant.scale[0] << " zp "
                      << m.tensors[m.inputs[k]].quant.zero_point[0] << ", out scale "
                      << m.tensors[m.outputs[k]].quant.scale[0] << " zp " << m.tensors[m.outputs[k]].quant.zero_point[0]
                      << "): input " << i - 128 << " -> ours " << int(ours.data<int8_t>()[i]) << ", LiteRT "
                      << int(t.data<int8_t>()[i]);
      }
    }
  }
  std::printf("  int8 HARD_SWISH: %d of %d table entries differ from LiteRT\n", differ, kPairs * 256);
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace vedge

// TFLite importer (runtime/tflite_import.h):
//  - the shared uint8 MobileNetV3-Small and MobileNetV2 classifiers, run in
//    our float runtime with the input preprocessing taken from the input
//    tensor's quantization, classify ../shared/models/cat.bmp as
//    "Egyptian cat";
//  - a hand-built model (FlatBufferBuilder, tests/tflite_builder.h) with
//    per-channel int8 / uint8 / int32 quantized weights and biases, SAME
//    padding, depthwise multiplier 2, broadcast add, hard-swish, spatial
//    mean, fully-connected, softmax, NHWC reshape and concat, against an
//    NHWC reference written here from the TFLite op definitions; and a 1-op
//    model whose output is computed by hand;
//  - malformed files (empty, bad identifier, truncated, out-of-range tensor,
//    buffer and opcode indices, wrong buffer size, unsupported op, declared
//    shape that does not match) end in one clear vedge::Error line;
//  - read_tflite_info lists the operators of a file with a custom op the
//    importer cannot run; Model.metadata reaches Graph::metadata;
//  - a hand-built .tflite detector with "vedge.detector" metadata runs in
//    Detector (NCHW image input) with the detections of its ONNX twin, float
//    and full-integer (int8 TFLite vs the QDQ ONNX twin on the same integer
//    kernels), also through `vedge detect`;
//  - integer import of an int8 convolution against integers worked out by
//    hand (with and without fused ReLU), TRANSPOSE, int8 PAD;
//  - the full-integer demo architecture (random weights, the CTest model
//    fixture) quantized once and exported to .tflite: the Detector gives
//    exactly the detections of its QDQ ONNX twin (same integer kernels).
// Also writes the libFuzzer seeds for tests/fuzz/fuzz_tflite.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "onnx_builder.h"
#include "runtime/detector.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "runtime/npy.h"
#include "runtime/onnx_import.h"
#include "runtime/preprocess.h"
#include "runtime/tflite_hardswish.h"
#include "runtime/tflite_import.h"
#include "test_util.h"
#include "tflite_builder.h"
#include "tools/export/tflite_export.h"
#include "tools/quantize/quantize.h"

namespace fs = std::filesystem;
using namespace vedge;
using vedge::test::TfliteBuilder;
using V = std::vector<float>;

namespace {

const std::string kModels = std::string(VEDGE_SHARED_DIR) + "/models";
const std::string kWork = std::string(VEDGE_TEST_WORK_DIR) + "/tflite";

std::string read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
void write_all(const std::string& p, const std::string& bytes) {
  fs::create_directories(fs::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// ---- the tiny model and its NHWC reference ----------------------------------

// BuiltinOperator and BuiltinOptions values (docs/tflite-format.md).
enum : int32_t { ADD = 0, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4, DEQUANTIZE = 6,
                 FULLY_CONNECTED = 9, RESHAPE = 22, SOFTMAX = 25, TANH = 28, MEAN = 40,
                 HARD_SWISH = 117 };
enum : uint8_t { kConvOpts = 1, kDwOpts = 2, kFcOpts = 8, kSoftmaxOpts = 9, kConcatOpts = 10,
                 kAddOpts = 11, kReducerOpts = 27 };

// The conv result is uint8 with this scale and zero point 0: it saturates at
// 255 * kConvScale = 1.02, which clips some of its values (checked below).
constexpr float kConvScale = 0.004f;

struct Tiny {
  V x, conv_w, conv_b, dw_w, dw_b, add_c, fc_w, fc_b;  // real (dequantized) values
  std::vector<int8_t> conv_wq;
  std::vector<int32_t> conv_bq, dw_bq;
  std::vector<uint8_t> dw_wq;
};

Tiny tiny_values() {
  Tiny t;
  for (int i = 0; i < 32; ++i) t.x.push_back(0.5f * static_cast<float>((i * 7) % 11 - 5));
  const float cs[2] = {0.1f, 0.05f};  // per output channel
  for (int i = 0; i < 36; ++i) {
    t.conv_wq.push_back(static_cast<int8_t>((i * 5) % 9 - 4));
    t.conv_w.push_back(cs[i / 18] * t.conv_wq.back());
  }
  t.conv_bq = {3, -8};
  t.conv_b = {0.05f * 3, 0.025f * -8};
  for (int i = 0; i < 36; ++i) {
    t.dw_wq.push_back(static_cast<uint8_t>(128 + (i * 3) % 13 - 6));
    t.dw_w.push_back(0.02f * static_cast<float>((i * 3) % 13 - 6));
  }
  t.dw_bq = {10, -20, 5, 0};
  t.dw_b = {0.1f, -0.2f, 0.05f, 0.f};
  t.add_c = {0.5f, -0.25f, 1.f, -1.5f};
  for (int i = 0; i < 12; ++i) t.fc_w.push_back(0.1f * static_cast<float>((i * 5) % 7 - 3));
  t.fc_b = {0.1f, 0.f, -0.1f};
  return t;
}

// x uint8 [1,4,4,2] -> CONV_2D 3x3/2 SAME relu (int8 per-channel) [1,2,2,2]
// -> DEPTHWISE 3x3/1 SAME x2 relu6 (uint8) [1,2,2,4] -> ADD const [4]
// -> HARD_SWISH -> MEAN(1,2) [1,4] -> FULLY_CONNECTED [1,3] -> SOFTMAX
// -> DEQUANTIZE = output "probs" (uint8 tensors saturate at their range); RESHAPE(add) [1,16] = output "flat";
// CONCATENATION(dw, add, axis -1) [1,2,2,8] = output "cat".
std::string tiny_model() {
  const Tiny v = tiny_values();
  TfliteBuilder b;
  using T = TfliteBuilder;
  int x = b.tensor("x", {1, 4, 4, 2}, T::U8, 0, {0.5f}, {10});
  int cw = b.constant("conv_w", {2, 3, 3, 2}, T::I8, v.conv_wq, {0.1f, 0.05f}, {0, 0}, 0);
  int cb = b.constant("conv_b", {2}, T::I32, v.conv_bq, {0.05f, 0.025f}, {0, 0}, 0);
  int c = b.tensor("conv", {1, 2, 2, 2}, T::U8, 0, {kConvScale}, {0});
  int dw = b.constant("dw_w", {1, 3, 3, 4}, T::U8, v.dw_wq, {0.02f}, {128});
  int db = b.constant("dw_b", {4}, T::I32, v.dw_bq, {0.01f}, {0});
  int d = b.tensor("dw", {1, 2, 2, 4}, T::U8, 0, {6.f / 255}, {0});
  int ac = b.constant("add_c", {4}, T::F32, v.add_c);
  int a = b.tensor("add", {1, 2, 2, 4}, T::F32);
  int h = b.tensor("hswish", {1, 2, 2, 4}, T::F32);
  int axes = b.constant("axes", {2}, T::I32, std::vector<int32_t>{1, 2});
  int m = b.tensor("mean", {1, 4}, T::F32);
  int fw = b.constant("fc_w", {3, 4}, T::F32, v.fc_w);
  int fb = b.constant("fc_b", {3}, T::F32, v.fc_b);
  int f = b.tensor("fc", {1, 3}, T::F32);
  int s = b.tensor("softmax", {1, 3}, T::U8, 0, {1.f / 256}, {0});
  int p = b.tensor("probs", {1, 3}, T::F32);
  int shp = b.constant("flat_shape", {2}, T::I32, std::vector<int32_t>{1, 16});
  int fl = b.tensor("flat", {1, 16}, T::F32);
  int ct = b.tensor("cat", {1, 2, 2, 8}, T::F32);
  b.op(CONV_2D, {x, cw, cb}, {c}, kConvOpts, {{0, 'b', 0}, {1, 'i', 2}, {2, 'i', 2}, {3, 'b', 1}});
  b.op(DEPTHWISE_CONV_2D, {c, dw, db}, {d}, kDwOpts,
       {{0, 'b', 0}, {1, 'i', 1}, {2, 'i', 1}, {3, 'i', 2}, {4, 'b', 3}});
  b.op(ADD, {d, ac}, {a}, kAddOpts, {{0, 'b', 0}});
  b.op(HARD_SWISH, {a}, {h});
  b.op(MEAN, {h, axes}, {m}, kReducerOpts, {{0, 'b', 0}});
  b.op(FULLY_CONNECTED, {m, fw, fb}, {f}, kFcOpts, {{0, 'b', 0}});
  b.op(SOFTMAX, {f}, {s}, kSoftmaxOpts, {{0, 'f', 1.0}});
  b.op(DEQUANTIZE, {s}, {p});
  b.op(RESHAPE, {a, shp}, {fl});
  b.op(CONCATENATION, {d, a}, {ct}, kConcatOpts, {{0, 'i', -1}, {1, 'b', 0}});
  return b.finish({x}, {p, fl, ct});
}

// NHWC convolution straight from the TFLite definition: filter [O,KH,KW,I]
// (depthwise: [1,KH,KW,C*M], output channel o reads input channel o / M).
V conv_nhwc(const V& x, int H, int W, int C, const V& w, int O, int K, const V& bias, int stride,
            bool depthwise, int* OH, int* OW) {
  const int oh = (H + stride - 1) / stride, ow = (W + stride - 1) / stride;  // SAME
  const int pad_h = std::max(0, (oh - 1) * stride + K - H) / 2;
  const int pad_w = std::max(0, (ow - 1) * stride + K - W) / 2;
  V y(static_cast<size_t>(oh * ow * O));
  for (int i = 0; i < oh; ++i)
    for (int j = 0; j < ow; ++j)
      for (int o = 0; o < O; ++o) {
        double acc = bias[o];
        for (int ki = 0; ki < K; ++ki)
          for (int kj = 0; kj < K; ++kj) {
            int yi = i * stride + ki - pad_h, xj = j * stride + kj - pad_w;
            if (yi < 0 || yi >= H || xj < 0 || xj >= W) continue;
            if (depthwise) {
              acc += x[(yi * W + xj) * C + o / (O / C)] * w[(ki * K + kj) * O + o];
            } else {
              for (int c = 0; c < C; ++c)
                acc += x[(yi * W + xj) * C + c] * w[((o * K + ki) * K + kj) * C + c];
            }
          }
        y[static_cast<size_t>((i * ow + j) * O + o)] = static_cast<float>(acc);
      }
  *OH = oh;
  *OW = ow;
  return y;
}

struct TinyRef {
  V probs, flat, cat;
};

TinyRef tiny_reference() {
  const Tiny v = tiny_values();
  int h1, w1, h2, w2;
  V c = conv_nhwc(v.x, 4, 4, 2, v.conv_w, 2, 3, v.conv_b, 2, false, &h1, &w1);
  int clipped = 0;
  for (float& e : c) {
    clipped += e > 255 * kConvScale;
    e = std::min(std::max(e, 0.f), 255 * kConvScale);
  }
  EXPECT_GT(clipped, 0);
  EXPECT_LT(clipped, static_cast<int>(c.size()));
  V d = conv_nhwc(c, h1, w1, 2, v.dw_w, 4, 3, v.dw_b, 1, true, &h2, &w2);
  for (float& e : d) e = std::min(std::max(e, 0.f), 6.f);
  V a(d.size()), hs(d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    a[i] = d[i] + v.add_c[i % 4];
    hs[i] = a[i] * std::min(std::max(a[i] + 3.f, 0.f), 6.f) / 6.f;
  }
  V mean(4, 0.f);
  for (size_t i = 0; i < hs.size(); ++i) mean[i % 4] += hs[i] / 4.f;
  V fc(3);
  for (int o = 0; o < 3; ++o) {
    fc[o] = v.fc_b[o];
    for (int k = 0; k < 4; ++k) fc[o] += v.fc_w[o * 4 + k] * mean[k];
  }
  const float mx = *std::max_element(fc.begin(), fc.end());
  double sum = 0;
  for (float e : fc) sum += std::exp(e - mx);
  TinyRef r;
  for (float e : fc)  // the uint8 softmax result saturates at 255/256
    r.probs.push_back(std::min(static_cast<float>(std::exp(e - mx) / sum), 255.f / 256));
  r.flat = a;  // NHWC order is the reshape order
  for (int p = 0; p < 4; ++p) {
    for (int ch = 0; ch < 4; ++ch) r.cat.push_back(d[p * 4 + ch]);
    for (int ch = 0; ch < 4; ++ch) r.cat.push_back(a[p * 4 + ch]);
  }
  return r;
}

void expect_near(const Tensor& got, const V& want, float tol, const std::string& what) {
  ASSERT_EQ(static_cast<size_t>(got.numel()), want.size()) << what;
  const float* p = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(p[i], want[i], tol) << what << " [" << i << "]";
}

// The message of the vedge::Error that importing `bytes` throws ("" if none).
std::string import_error(const std::string& bytes) {
  try {
    import_tflite_bytes(bytes, "bad.tflite");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_import_error(const std::string& bytes, const std::string& part) {
  const std::string msg = import_error(bytes);
  EXPECT_NE(msg.find("bad.tflite: "), std::string::npos) << msg;
  EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// ---- the shared classifiers -----------------------------------------------

struct Classified {
  int top1 = -1;
  float p1 = 0;
  Tensor out;
};

Classified classify(const std::string& model, Backend backend) {
  TfliteModelInfo info;
  Graph g = import_tflite_file(model, &info);
  EXPECT_EQ(info.inputs.size(), 1u);
  const TfliteTensorInfo& in = info.inputs.at(0);
  EXPECT_EQ(in.type, "uint8");
  EXPECT_EQ(in.shape, (Shape{1, 224, 224, 3}));
  EXPECT_EQ(in.scale.size(), 1u);
  // The graph takes the dequantized input: real = scale * (pixel - zero_point).
  InputSpec spec;
  spec.name = in.name;
  spec.width = static_cast<int>(in.shape[2]);
  spec.height = static_cast<int>(in.shape[1]);
  for (int c = 0; c < 3; ++c) {
    spec.mean[c] = static_cast<float>(in.zero_point.at(0));
    spec.std[c] = 1.f / in.scale.at(0);
  }
  SessionOptions so;
  so.backend = backend;
  Session s(std::move(g), so);
  Tensor x(DType::F32, in.shape);
  preprocess(decode_image_file(kModels + "/cat.bmp"), spec, x.data<float>(), /*nhwc=*/true);
  s.set_input(0, x);
  s.run();
  Classified r;
  r.out = s.output(0);
  const float* p = r.out.data<float>();
  r.top1 = static_cast<int>(std::max_element(p, p + r.out.numel()) - p);
  r.p1 = p[r.top1];
  return r;
}

std::vector<std::string> labels() {
  std::ifstream f(kModels + "/imagenet-labels.txt");
  std::vector<std::string> v;
  for (std::string l; std::getline(f, l);) v.push_back(l);
  return v;
}

}  // namespace

class SharedClassifier : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedClassifier, ClassifiesCatAsEgyptianCat) {
  const std::string model = kModels + "/" + GetParam();
  if (!fs::exists(model) || !fs::exists(kModels + "/cat.bmp"))
    GTEST_SKIP() << "../shared absent: " << model;
  const std::vector<std::string> names = labels();
  // 1001 outputs: index 0 is "background", the label file has it first.
  ASSERT_EQ(names.size(), 1001u);
  ASSERT_EQ(names[0], "background");
  Classified r = classify(model, Backend::Fast);
  ASSERT_EQ(r.out.shape(), (Shape{1, 1001}));
  EXPECT_EQ(names.at(static_cast<size_t>(r.top1)), "Egyptian cat") << "p=" << r.p1;
  EXPECT_GT(r.p1, 0.2f);
  std::printf("%s: top-1 %s p=%.4f\n", GetParam().c_str(), names[static_cast<size_t>(r.top1)].c_str(), r.p1);
  double sum = 0;
  for (int64_t i = 0; i < r.out.numel(); ++i) sum += r.out.data<float>()[i];
  EXPECT_NEAR(sum, 1.0, 1e-4);  // the float softmax
}

TEST(SharedClassifierBackends, FastMatchesReferenceKernels) {
  const std::string model = kModels + "/mobilenet_v3_small_224_uint8_imagenet.tflite";
  if (!fs::exists(model)) GTEST_SKIP() << "../shared absent: " << model;
  Classified f = classify(model, Backend::Fast), r = classify(model, Backend::Reference);
  EXPECT_EQ(f.top1, r.top1);
  for (int64_t i = 0; i < f.out.numel(); ++i)
    ASSERT_NEAR(f.out.data<float>()[i], r.out.data<float>()[i], 1e-4) << "class " << i;
}

INSTANTIATE_TEST_SUITE_P(Tflite, SharedClassifier,
                         ::testing::Values("mobilenet_v3_small_224_uint8_imagenet.tflite",
                                           "mobilenet_v2_224_uint8_imagenet.tflite"));

TEST(TfliteImport, TinyModelMatchesNhwcReference) {
  TfliteModelInfo info;
  Graph g = import_tflite_bytes(tiny_model(), "tiny.tflite", &info);
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].type, "uint8");
  EXPECT_EQ(info.inputs[0].scale, (std::vector<float>{0.5f}));
  EXPECT_EQ(info.inputs[0].zero_point, (std::vector<int64_t>{10}));
  ASSERT_EQ(info.outputs.size(), 3u);
  const TinyRef want = tiny_reference();
  for (Backend be : {Backend::Fast, Backend::Reference}) {
    SessionOptions so;
    so.backend = be;
    Session s(g, so);
    ASSERT_EQ(s.input_info(0).shape, (Shape{1, 4, 4, 2}));
    s.set_input(0, Tensor::from_floats({1, 4, 4, 2}, tiny_values().x));
    s.run();
    ASSERT_EQ(s.output_info(0).name, "probs");
    ASSERT_EQ(s.output_info(1).name, "flat");
    ASSERT_EQ(s.output_info(2).name, "cat");
    EXPECT_EQ(s.output_info(2).shape, (Shape{1, 2, 2, 8}));
    const std::string tag = be == Backend::Fast ? "fast " : "reference ";
    expect_near(s.output(0), want.probs, 1e-5f, tag + "probs");
    expect_near(s.output(1), want.flat, 1e-5f, tag + "flat");
    expect_near(s.output(2), want.cat, 1e-5f, tag + "cat");
  }
}

// One CONV_2D whose result is worked out by hand: uint8 weights
// q = 12, 14, 16, 18 with scale 0.5 and zero point 10 are 1, 2, 3, 4; the
// int32 bias 4 with scale 0.25 is 1; input 1, 2, 3, 4 (NHWC 1x2x2x1),
// VALID: 1*1 + 2*2 + 3*3 + 4*4 + 1 = 31.
TEST(TfliteImport, OneConvComputedByHand) {
  TfliteBuilder b;
  int x = b.tensor("x", {1, 2, 2, 1}, TfliteBuilder::F32);
  int w = b.constant("w", {1, 2, 2, 1}, TfliteBuilder::U8, std::vector<uint8_t>{12, 14, 16, 18},
                     {0.5f}, {10});
  int bias = b.constant("b", {1}, TfliteBuilder::I32, std::vector<int32_t>{4}, {0.25f}, {0});
  int y = b.tensor("y", {1, 1, 1, 1}, TfliteBuilder::F32);
  b.op(CONV_2D, {x, w, bias}, {y}, kConvOpts, {{0, 'b', 1}, {1, 'i', 1}, {2, 'i', 1}, {3, 'b', 0}});
  Session s(import_tflite_bytes(b.finish({x}, {y}), "one.tflite"));
  s.set_input(0, Tensor::from_floats({1, 2, 2, 1}, {1, 2, 3, 4}));
  s.run();
  EXPECT_FLOAT_EQ(s.output(0).data<float>()[0], 31.f);
}

TEST(TfliteImport, DetectsTheFormat) {
  EXPECT_TRUE(is_tflite_bytes(tiny_model()));
  EXPECT_FALSE(is_tflite_bytes("not a model"));
  EXPECT_FALSE(is_tflite_file(kWork + "/does-not-exist.tflite"));
}

TEST(TfliteImport, MalformedFilesGiveOneClearError) {
  const std::string good = tiny_model();
  ASSERT_EQ(import_error(good), "");
  EXPECT_EQ(import_error(""), "bad.tflite: file is empty");
  std::string magic = good;
  magic.replace(4, 4, "XXXX");
  expect_import_error(magic, "no \"TFL3\" file identifier");
  for (size_t cut : {good.size() / 2, good.size() - 9, size_t{12}})
    expect_import_error(good.substr(0, cut), "flatbuffer verification failed");
  std::string junk(64, '\x7f');
  junk.replace(4, 4, "TFL3");
  expect_import_error(junk, "flatbuffer verification failed");

  using T = TfliteBuilder;
  {  // operator input index out of range
    T b;
    int x = b.tensor("x", {1, 2}, T::F32), y = b.tensor("y", {1, 2}, T::F32);
    b.op(ADD, {x, 99}, {y}, kAddOpts, {{0, 'b', 0}});
    expect_import_error(b.finish({x}, {y}), "tensor index 99 out of range (2 tensors)");
  }
  {  // a required input marked absent (-1), found by fuzzing
    T b;
    int x = b.tensor("x", {1, 2}, T::F32), y = b.tensor("y", {1, 2}, T::F32);
    b.op(HARD_SWISH, {-1}, {y});
    expect_import_error(b.finish({x}, {y}), "input 0 is absent");
  }
  {  // graph input index out of range
    T b;
    int x = b.tensor("x", {1, 2}, T::F32), y = b.tensor("y", {1, 2}, T::F32);
    b.op(HARD_SWISH, {x}, {y});
    expect_import_error(b.finish({-3}, {y}), "tensor index -3 out of range");
  }
  {  // opcode index out of range
    T b;
    int x = b.tensor("x", {1, 2}, T::F32), y = b.tensor("y", {1, 2}, T::F32);
    b.raw_op(5, {x}, {y});
    expect_import_error(b.finish({x}, {y}), "opcode index 5 out of range");
  }
  {  // buffer index out of range
    T b;
    int x = b.tensor("x", {1, 2}, T::F32), c = b.tensor("c", {2}, T::F32, 40);
    int y = b.tensor("y", {1, 2}, T::F32);
    b.op(ADD, {x, c}, {y}, kAddOpts, {{0, 'b', 0}});
    expect_import_error(b.finish({x}, {y}), "'c' refers to buffer 40 of 1");
  }
  {  // buffer too small for the shape
    T b;
    int x = b.tensor("x", {1, 3}, T::F32), c = b.constant("c", {3}, T::F32, V{1, 2});
    int y = b.tensor("y", {1, 3}, T::F32);
    b.op(ADD, {x, c}, {y}, kAddOpts, {{0, 'b', 0}});
    expect_import_error(b.finish({x}, {y}), "constant 'c' float32 [3] needs 12 bytes, its buffer has 8");
  }
  {  // an operator we cannot run
    T b;
    int x = b.tensor("x", {1, 2}, T::F32), y = b.tensor("y", {1, 2}, T::F32);
    b.op(TANH, {x}, {y});
    expect_import_error(b.finish({x}, {y}), "operator 0 (TANH): unsupported operator");
  }
  {  // declared output shape differs from what the op computes
    T b;
    int x = b.tensor("x", {1, 4, 4, 1}, T::F32);
    int w = b.constant("w", {1, 1, 1, 1}, T::F32, V{1});
    int y = b.tensor("y", {1, 3, 3, 1}, T::F32);
    b.op(CONV_2D, {x, w}, {y}, kConvOpts, {{0, 'b', 1}, {1, 'i', 1}, {2, 'i', 1}});
    expect_import_error(b.finish({x}, {y}),
                        "operator 0 (CONV_2D): output 'y' is declared [1,3,3,1] but computes to");
  }
  {  // reads a tensor nothing wrote
    T b;
    int x = b.tensor("x", {1, 2}, T::F32), z = b.tensor("z", {1, 2}, T::F32);
    int y = b.tensor("y", {1, 2}, T::F32);
    b.op(ADD, {x, z}, {y}, kAddOpts, {{0, 'b', 0}});
    expect_import_error(b.finish({x}, {y}), "reads 'z' before any operator writes it");
  }
}

TEST(TfliteImport, WritesFuzzSeeds) {
  const std::string dir = std::string(VEDGE_TEST_WORK_DIR) + "/fuzz-seeds/tflite";
  write_all(dir + "/tiny.tflite", tiny_model());
  const std::string shared = kModels + "/mobilenet_v3_small_224_uint8_imagenet.tflite";
  if (fs::exists(shared)) {
    // The head of a real converter's file: operator codes, tensors, options.
    const std::string head = read_all(shared).substr(0, 200000);
    write_all(dir + "/mobilenet_v3_small_head.tflite", head);
    expect_import_error(head, "flatbuffer verification failed");  // the tail is cut off
  }
  EXPECT_TRUE(fs::exists(dir + "/tiny.tflite"));
}

TEST(TfliteImport, CliInfoAndRun) {
  const std::string model = kWork + "/tiny.tflite";
  write_all(model, tiny_model());
  Tensor x = Tensor::from_floats({1, 4, 4, 2}, tiny_values().x);
  write_npy(kWork + "/x.npy", x);
  fs::remove_all(kWork + "/out");
  const std::string cli = VEDGE_CLI;
  ASSERT_EQ(std::system((cli + " info " + model + " > " + kWork + "/info.txt 2>&1").c_str()), 0)
      << read_all(kWork + "/info.txt");
  const std::string info = read_all(kWork + "/info.txt");
  EXPECT_NE(info.find("input      x float32 [1,4,4,2]"), std::string::npos) << info;
  EXPECT_NE(info.find("tflite.input.x = uint8 scale=0.500000 zero_point=10"), std::string::npos) << info;
  ASSERT_EQ(std::system((cli + " run " + model + " --input " + kWork + "/x.npy --out " + kWork +
                         "/out > /dev/null")
                            .c_str()),
            0);
  expect_near(read_npy(kWork + "/out/probs.npy"), tiny_reference().probs, 1e-5f, "cli probs");
  expect_near(read_npy(kWork + "/out/cat.npy"), tiny_reference().cat, 1e-5f, "cli cat");
}

// ---- read_tflite_info, metadata -------------------------------------------------

namespace {

enum : int32_t { LOGISTIC = 14 };

// x [1,4,4,2] -> CONV_2D 3x3/2 SAME [1,2,2,4] -> RESHAPE boxes [1,4,4];
// LOGISTIC -> RESHAPE scores [1,4,4]; the custom
// TFLite_Detection_PostProcess(boxes, scores, anchors) -> 4 outputs, which
// the importer cannot run.
std::string model_with_custom_op() {
  using T = TfliteBuilder;
  T b;
  int x = b.tensor("images", {1, 4, 4, 2}, T::F32);
  int w = b.constant("w", {4, 3, 3, 2}, T::F32, V(72, 0.1f));
  int c = b.tensor("conv", {1, 2, 2, 4}, T::F32);
  int shape = b.constant("shape", {3}, T::I32, std::vector<int32_t>{1, 4, 4});
  int boxes = b.tensor("boxes", {1, 4, 4}, T::F32);
  int sg = b.tensor("sig", {1, 2, 2, 4}, T::F32);
  int scores = b.tensor("scores", {1, 4, 4}, T::F32);
  int anchors = b.constant("anchors", {4, 4}, T::F32, V(16, 0.5f));
  int db = b.tensor("detection_boxes", {1, 10, 4}, T::F32);
  int dc = b.tensor("detection_classes", {1, 10}, T::F32);
  int ds = b.tensor("detection_scores", {1, 10}, T::F32);
  int n = b.tensor("num_detections", {1}, T::F32);
  b.op(CONV_2D, {x, w, -1}, {c}, kConvOpts, {{0, 'b', 0}, {1, 'i', 2}, {2, 'i', 2}, {3, 'b', 0}});
  b.op(RESHAPE, {c, shape}, {boxes});
  b.op(LOGISTIC, {c}, {sg});
  b.op(RESHAPE, {sg, shape}, {scores});
  b.custom_op("TFLite_Detection_PostProcess", {boxes, scores, anchors}, {db, dc, ds, n}, {1, 2, 3});
  return b.finish({x}, {db, dc, ds, n});
}

}  // namespace

TEST(TfliteInfo, ListsTheOperatorsOfAFileTheImporterCannotRun) {
  const std::string bytes = model_with_custom_op();
  expect_import_error(bytes, "operator 4 (custom op TFLite_Detection_PostProcess): unsupported operator");
  const TfliteModelInfo info = read_tflite_info(bytes, "custom.tflite");
  EXPECT_EQ(info.schema_version, 3u);
  EXPECT_EQ(info.description, "vedge test model");
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].name, "images");
  EXPECT_EQ(info.inputs[0].shape, (Shape{1, 4, 4, 2}));
  ASSERT_EQ(info.outputs.size(), 4u);
  EXPECT_EQ(info.outputs[3].name, "num_detections");
  ASSERT_EQ(info.ops.size(), 5u);
  std::vector<std::string> names;
  for (const TfliteOpInfo& o : info.ops) names.push_back(o.op);
  EXPECT_EQ(names, (std::vector<std::string>{"CONV_2D", "RESHAPE", "LOGISTIC", "RESHAPE",
                                             "TFLite_Detection_PostProcess"}));
  const TfliteOpInfo& conv = info.ops[0];
  EXPECT_EQ(conv.index, 0);
  EXPECT_FALSE(conv.custom);
  EXPECT_EQ(conv.input_types, (std::vector<std::string>{"float32", "float32", "none"}));
  EXPECT_EQ(conv.input_shapes, (std::vector<Shape>{{1, 4, 4, 2}, {4, 3, 3, 2}, {}}));
  EXPECT_EQ(conv.input_constant, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(conv.output_shapes, (std::vector<Shape>{{1, 2, 2, 4}}));
  EXPECT_EQ(conv.filter_h, 3);
  EXPECT_EQ(conv.filter_w, 3);
  EXPECT_EQ(conv.stride_h, 2);
  EXPECT_EQ(conv.stride_w, 2);
  EXPECT_EQ(info.ops[2].filter_h, 0);  // not a windowed op
  EXPECT_EQ(info.ops[2].stride_h, 0);
  const TfliteOpInfo& pp = info.ops[4];
  EXPECT_EQ(pp.index, 4);
  EXPECT_TRUE(pp.custom);
  EXPECT_EQ(pp.input_constant, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(pp.output_types, (std::vector<std::string>(4, "float32")));
  EXPECT_EQ(pp.output_shapes, (std::vector<Shape>{{1, 10, 4}, {1, 10}, {1, 10}, {1}}));

  // The importer's info is the same listing.
  TfliteModelInfo imported;
  import_tflite_bytes(tiny_model(), "tiny.tflite", &imported);
  const TfliteModelInfo listed = read_tflite_info(tiny_model(), "tiny.tflite");
  ASSERT_EQ(imported.ops.size(), 10u);
  ASSERT_EQ(listed.ops.size(), 10u);
  for (size_t i = 0; i < listed.ops.size(); ++i) {
    EXPECT_EQ(imported.ops[i].op, listed.ops[i].op);
    EXPECT_EQ(imported.ops[i].input_shapes, listed.ops[i].input_shapes);
  }
  EXPECT_EQ(listed.ops[1].op, "DEPTHWISE_CONV_2D");
  EXPECT_EQ(listed.ops[1].input_types[1], "uint8");
  EXPECT_EQ(listed.ops[1].filter_h, 3);
  EXPECT_EQ(listed.ops[1].stride_h, 1);
}

TEST(TfliteInfo, MalformedFilesGiveOneClearError) {
  auto info_error = [](const std::string& bytes) -> std::string {
    try {
      read_tflite_info(bytes, "bad.tflite");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  const std::string good = model_with_custom_op();
  EXPECT_EQ(info_error(""), "bad.tflite: file is empty");
  EXPECT_NE(info_error(good.substr(0, good.size() / 2)).find("flatbuffer verification failed"),
            std::string::npos);
  using T = TfliteBuilder;
  T b;
  int x = b.tensor("x", {1, 2}, T::F32), y = b.tensor("y", {1, 2}, T::F32);
  b.custom_op("Mine", {x, 7}, {y});
  EXPECT_EQ(info_error(b.finish({x}, {y})), "bad.tflite: tensor index 7 out of range (2 tensors)");
  T c;
  x = c.tensor("x", {1, 2}, T::F32), y = c.tensor("y", {1, 2}, T::F32);
  c.raw_op(3, {x}, {y});
  EXPECT_EQ(info_error(c.finish({x}, {y})), "bad.tflite: operator 0: opcode index 3 out of range (0 codes)");
}

TEST(TfliteMetadata, ModelMetadataReachesTheGraph) {
  using T = TfliteBuilder;
  T b;
  int x = b.tensor("x", {1, 2}, T::F32), y = b.tensor("y", {1, 2}, T::F32);
  b.op(HARD_SWISH, {x}, {y});
  const std::string spec = R"({"labels": ["a", "b"]})";
  b.metadata("vedge.detector", spec);
  b.metadata("min_runtime_version", std::string("1.5.0\0\0\0\0\0\0\0\0\0\0\0", 16));
  b.metadata("CONVERSION_METADATA", std::string("\x0c\x00\x01\x02", 4));
  const std::string bytes = b.finish({x}, {y});
  TfliteModelInfo info;
  Graph g = import_tflite_bytes(bytes, "meta.tflite", &info);
  EXPECT_EQ(g.metadata.at("vedge.detector"), spec);
  EXPECT_EQ(g.metadata.at("min_runtime_version"), "1.5.0");
  EXPECT_EQ(g.metadata.at("CONVERSION_METADATA"), "(binary, 4 bytes)");
  EXPECT_EQ(g.metadata.at("tflite.schema_version"), "3");
  EXPECT_EQ(info.metadata, read_tflite_info(bytes, "meta.tflite").metadata);
  EXPECT_EQ(info.metadata.size(), 3u);
  EXPECT_EQ(info.metadata.at("vedge.detector"), spec);

  T bad;
  x = bad.tensor("x", {1, 2}, T::F32), y = bad.tensor("y", {1, 2}, T::F32);
  bad.op(HARD_SWISH, {x}, {y});
  bad.raw_metadata("vedge.detector", 9);
  expect_import_error(bad.finish({x}, {y}), "metadata 'vedge.detector' refers to buffer 9 of 1");
}

// ---- detectors from .tflite, integer import ------------------------------------

namespace {

constexpr int kDetW = 16, kDetH = 16, kCells = 4, kPerCell = 2, kDetAnchors = kCells * kCells * kPerCell;
const char* kDetSpec = R"({
  "labels": ["background", "thing"], "background": 0,
  "input": {"name": "images", "width": 16, "height": 16, "mean": [120, 110, 100], "std": [60, 60, 60]},
  "outputs": {"boxes": "boxes", "scores": "scores", "score_activation": "softmax"},
  "anchors": {"family": "ultraface", "feature_maps": ["4x4"], "min_sizes": [[4, 8]]},
  "thresholds": {"score": 0.3, "iou": 0.5, "max_detections": 50, "top_k": 100}
})";

// One head of the detector: conv 4x4 stride 4 with `per` values per box.
// Weights are OHWI (TFLite); the int8 form is per-channel symmetric with an
// int32 bias of scale in_scale * w_scale[c].
struct Head {
  std::string name;
  int per = 0;
  int64_t ch() const { return int64_t(kPerCell) * per; }
  V w, b;                      // float, OHWI
  std::vector<int8_t> wq;      // OHWI
  std::vector<float> w_scale;  // per output channel
  std::vector<int32_t> bq;
  float out_scale = 0;
  int out_zp = 0;
};

constexpr float kInScale = 4.5f / 255;
constexpr int kInZp = -15;

std::vector<Head> heads() {
  std::vector<Head> hs(2);
  hs[0].name = "boxes", hs[0].per = 4, hs[0].out_scale = 0.02f, hs[0].out_zp = 3;
  hs[1].name = "scores", hs[1].per = 2, hs[1].out_scale = 0.05f, hs[1].out_zp = -10;
  uint32_t seed = 7;
  for (Head& h : hs) {
    const size_t k = 4 * 4 * 3;
    h.w = test::pseudo_random(size_t(h.ch()) * k, seed, h.per == 4 ? 0.03f : 0.15f);
    h.b = test::pseudo_random(size_t(h.ch()), seed + 1, h.per == 4 ? 0.03f : 0.15f);
    seed += 4;
    for (int64_t o = 0; o < h.ch(); ++o) {
      float mx = 0;
      for (size_t i = 0; i < k; ++i) mx = std::max(mx, std::fabs(h.w[size_t(o) * k + i]));
      h.w_scale.push_back(mx / 127);
      for (size_t i = 0; i < k; ++i)
        h.wq.push_back(static_cast<int8_t>(std::lround(h.w[size_t(o) * k + i] / h.w_scale.back())));
      h.bq.push_back(static_cast<int32_t>(std::lround(h.b[size_t(o)] / (kInScale * h.w_scale.back()))));
    }
  }
  return hs;
}

// The detector as a .tflite file: float, or full-integer (int8 input and
// outputs) when `quantized`.
std::string tflite_detector(bool quantized) {
  using T = TfliteBuilder;
  T b;
  const int x = quantized ? b.tensor("images", {1, kDetH, kDetW, 3}, T::I8, 0, {kInScale}, {kInZp})
                          : b.tensor("images", {1, kDetH, kDetW, 3}, T::F32);
  std::vector<int32_t> outs;
  for (const Head& h : heads()) {
    const int32_t ch = static_cast<int32_t>(h.ch());
    int w, bias, c, y;
    const int shape = b.constant(h.name + "_shape", {3}, T::I32, std::vector<int32_t>{1, kDetAnchors, h.per});
    if (quantized) {
      std::vector<float> bs;
      for (float s : h.w_scale) bs.push_back(kInScale * s);
      w = b.constant(h.name + "_w", {ch, 4, 4, 3}, T::I8, h.wq, h.w_scale, std::vector<int64_t>(h.w_scale.size(), 0), 0);
      bias = b.constant(h.name + "_b", {ch}, T::I32, h.bq, bs, std::vector<int64_t>(bs.size(), 0), 0);
      c = b.tensor(h.name + "_conv", {1, kCells, kCells, ch}, T::I8, 0, {h.out_scale}, {h.out_zp});
      y = b.tensor(h.name, {1, kDetAnchors, h.per}, T::I8, 0, {h.out_scale}, {h.out_zp});
    } else {
      w = b.constant(h.name + "_w", {ch, 4, 4, 3}, T::F32, h.w);
      bias = b.constant(h.name + "_b", {ch}, T::F32, h.b);
      c = b.tensor(h.name + "_conv", {1, kCells, kCells, ch}, T::F32);
      y = b.tensor(h.name, {1, kDetAnchors, h.per}, T::F32);
    }
    b.op(CONV_2D, {x, w, bias}, {c}, kConvOpts, {{0, 'b', 1}, {1, 'i', 4}, {2, 'i', 4}, {3, 'b', 0}});
    b.op(RESHAPE, {c, shape}, {y});
    outs.push_back(y);
  }
  b.metadata("vedge.detector", kDetSpec);
  return b.finish({x}, outs);
}

onnx::TensorProto raw_tensor(const std::string& name, int dtype, const Shape& shape, const void* data,
                             size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  for (int64_t d : shape) t.add_dims(d);
  t.set_raw_data(std::string(static_cast<const char*>(data), bytes));
  return t;
}

// OHWI -> OIHW.
template <class E>
std::vector<E> to_oihw(const std::vector<E>& w, int64_t O) {
  std::vector<E> out(w.size());
  for (int64_t o = 0; o < O; ++o)
    for (int i = 0; i < 3; ++i)
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) out[size_t(((o * 3 + i) * 4 + y) * 4 + x)] = w[size_t(((o * 4 + y) * 4 + x) * 3 + i)];
  return out;
}

// The same network as ONNX: NCHW Conv -> Transpose -> Reshape; quantized:
// the QDQ form (DequantizeLinear of int8 input, weights and int32 bias,
// QuantizeLinear of the conv and of the outputs).
std::string onnx_detector(bool quantized) {
  const int I8 = onnx::TensorProto_DataType_INT8, I32 = onnx::TensorProto_DataType_INT32,
            F = onnx::TensorProto_DataType_FLOAT;
  test::OnnxBuilder b(13);
  b.input("images", {1, 3, kDetH, kDetW}, quantized ? I8 : F);
  auto scalar_q = [&](const std::string& name, float scale, int zp) {
    const int8_t z = static_cast<int8_t>(zp);
    b.initializer(raw_tensor(name + "_s", F, {}, &scale, 4));
    b.initializer(raw_tensor(name + "_z", I8, {}, &z, 1));
  };
  std::string x = "images";
  if (quantized) {
    scalar_q("in", kInScale, kInZp);
    b.node("DequantizeLinear", {"images", "in_s", "in_z"}, {"x"});
    x = "x";
  }
  for (const Head& h : heads()) {
    const std::string n = h.name;
    const Shape ws = {h.ch(), 3, 4, 4};
    std::string w = n + "_w", bias = n + "_b";
    if (quantized) {
      const std::vector<int8_t> wq = to_oihw(h.wq, h.ch());
      std::vector<float> bs;
      for (float s : h.w_scale) bs.push_back(kInScale * s);
      const std::vector<int8_t> wz(h.w_scale.size(), 0);
      const std::vector<int32_t> bz(bs.size(), 0);
      b.initializer(raw_tensor(n + "_wq", I8, ws, wq.data(), wq.size()));
      b.initializer(raw_tensor(n + "_ws", F, {h.ch()}, h.w_scale.data(), 4 * h.w_scale.size()));
      b.initializer(raw_tensor(n + "_wz", I8, {h.ch()}, wz.data(), wz.size()));
      b.initializer(raw_tensor(n + "_bq", I32, {h.ch()}, h.bq.data(), 4 * h.bq.size()));
      b.initializer(raw_tensor(n + "_bs", F, {h.ch()}, bs.data(), 4 * bs.size()));
      b.initializer(raw_tensor(n + "_bz", I32, {h.ch()}, bz.data(), 4 * bz.size()));
      b.node("DequantizeLinear", {n + "_wq", n + "_ws", n + "_wz"}, {w}, {test::attr_i("axis", 0)});
      b.node("DequantizeLinear", {n + "_bq", n + "_bs", n + "_bz"}, {bias}, {test::attr_i("axis", 0)});
    } else {
      b.initializer(w, ws, to_oihw(h.w, h.ch()));
      b.initializer(bias, {h.ch()}, h.b);
    }
    b.node("Conv", {x, w, bias}, {n + "_conv"},
           {test::attr_ints("kernel_shape", {4, 4}), test::attr_ints("strides", {4, 4})});
    std::string c = n + "_conv";
    if (quantized) {
      scalar_q(n + "_o", h.out_scale, h.out_zp);
      b.node("QuantizeLinear", {c, n + "_o_s", n + "_o_z"}, {n + "_cq"});
      b.node("DequantizeLinear", {n + "_cq", n + "_o_s", n + "_o_z"}, {n + "_cd"});
      c = n + "_cd";
    }
    b.node("Transpose", {c}, {n + "_t"}, {test::attr_ints("perm", {0, 2, 3, 1})});
    b.initializer_i64(n + "_shape", {3}, {1, kDetAnchors, h.per});
    b.node("Reshape", {n + "_t", n + "_shape"}, {quantized ? n + "_f" : n});
    if (quantized) b.node("QuantizeLinear", {n + "_f", n + "_o_s", n + "_o_z"}, {n});
    b.output(n, {1, kDetAnchors, h.per}, quantized ? I8 : F);
  }
  b.metadata("vedge.detector", kDetSpec);
  return b.bytes();
}

void expect_same_detections(const std::vector<Detection>& got, const std::vector<Detection>& want, float tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("detection " + std::to_string(i));
    EXPECT_EQ(got[i].class_id, want[i].class_id);
    EXPECT_NEAR(got[i].score, want[i].score, tol);
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[i].bbox[k], want[i].bbox[k], 100 * tol) << k;
  }
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& nd : g.nodes) n += nd.op == op;
  return n;
}

}  // namespace

TEST(TfliteDetector, ImportOptionKeepsTheImageInputNchw) {
  TfliteImportOptions o;
  o.nchw_inputs = true;
  const Graph g = import_tflite_bytes(tflite_detector(false), "det.tflite", nullptr, o);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[size_t(g.inputs[0])].shape, (Shape{1, 3, kDetH, kDetW}));
  for (const Node& n : g.nodes) {  // the convolutions read the input directly
    if (std::find(n.inputs.begin(), n.inputs.end(), g.inputs[0]) != n.inputs.end()) {
      EXPECT_EQ(n.op, "Conv");
    }
  }
  const Graph nhwc = import_tflite_bytes(tflite_detector(false), "det.tflite");
  EXPECT_EQ(nhwc.values[size_t(nhwc.inputs[0])].shape, (Shape{1, kDetH, kDetW, 3}));
  // Same results on the same image in either layout.
  const V x = test::pseudo_random(size_t(3) * kDetH * kDetW, 99, 2.f);
  V x_nhwc(x.size());
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < kDetH * kDetW; ++i) x_nhwc[size_t(i * 3 + c)] = x[size_t(c * kDetH * kDetW + i)];
  Session a(g), b(nhwc);
  a.set_input(0, Tensor::from_floats({1, 3, kDetH, kDetW}, x));
  b.set_input(0, Tensor::from_floats({1, kDetH, kDetW, 3}, x_nhwc));
  a.run();
  b.run();
  for (int o = 0; o < 2; ++o) expect_near(a.output(o), b.output(o).to_floats(), 1e-6f, "output");
}

TEST(TfliteDetector, DetectsLikeItsOnnxTwin) {
  const Image img = test::noise_image(40, 30, 5), img2 = test::noise_image(24, 36, 6);
  for (bool quantized : {false, true}) {
    SCOPED_TRACE(quantized ? "int8" : "float");
    const std::string tfl = kWork + (quantized ? "/det_int8.tflite" : "/det_fp32.tflite");
    const std::string onx = kWork + (quantized ? "/det_int8.onnx" : "/det_fp32.onnx");
    write_all(tfl, tflite_detector(quantized));
    write_all(onx, onnx_detector(quantized));
    std::shared_ptr<const DetectorModel> m = load_detector_model(tfl);
    const Value& in = m->graph.values[size_t(m->graph.inputs[0])];
    EXPECT_EQ(in.shape, (Shape{1, 3, kDetH, kDetW}));
    EXPECT_EQ(in.dtype, quantized ? DType::I8 : DType::F32);
    EXPECT_EQ(m->num_anchors, kDetAnchors);
    if (quantized) {
      EXPECT_EQ(count_op(m->graph, "QConv"), 2);  // the integer kernels
      EXPECT_EQ(count_op(m->graph, "Conv"), 0);
      ASSERT_EQ(in.quant.scale.size(), 1u);
      EXPECT_FLOAT_EQ(in.quant.scale[0], kInScale);
      EXPECT_EQ(in.quant.zero_point.at(0), kInZp);
      for (int o : m->graph.outputs) {
        const Value& v = m->graph.values[size_t(o)];
        EXPECT_EQ(v.dtype, DType::I8) << v.name;
        EXPECT_FLOAT_EQ(v.quant.scale.at(0), v.name == "boxes" ? 0.02f : 0.05f) << v.name;
      }
    }
    for (Backend be : {Backend::Reference, Backend::Fast}) {
      SCOPED_TRACE(be == Backend::Fast ? "fast" : "reference");
      SessionOptions so;
      so.backend = be;
      Detector t(tfl, "", so), o(onx, "", so);
      const std::vector<Detection> want = o.detect(img);
      ASSERT_GE(want.size(), 3u) << "the test image must give detections";
      // Integer: the same integer kernels on the same integers.
      const float tol = quantized ? 0.f : 1e-5f;
      expect_same_detections(t.detect(img), want, tol);
      Detector batched(load_detector_model(tfl), so, 2);
      std::vector<std::vector<Detection>> got = batched.detect_batch({&img, &img2}, {{}, {}});
      expect_same_detections(got[0], want, tol);
      expect_same_detections(got[1], o.detect(img2), tol);
    }
  }
}

TEST(TfliteDetector, CliDetectRunsATfliteDetector) {
  const std::string model = kWork + "/cli_det.tflite", image = kWork + "/cli_det.png";
  write_all(model, tflite_detector(true));
  write_png(image, test::noise_image(40, 30, 5));
  const std::string out = kWork + "/cli_det.json";
  const std::string cmd = std::string(VEDGE_CLI) + " detect " + model + " " + image + " --json > " + out + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_all(out);
  const std::vector<Detection> want = Detector(model).detect(decode_image_file(image));
  ASSERT_GE(want.size(), 3u);
  EXPECT_NE(read_all(out).find(detections_to_json(want)), std::string::npos) << read_all(out);
}

// CONV_2D 1x1 over int8 x [1,1,2,2] (scale 0.5, zero point -1), per-channel
// int8 weights (scales 0.1, 0.05), int32 bias, int8 output (scale 0.2,
// zero point 3), worked out by hand:
//   x - zx: pixel 0 (6, -2), pixel 1 (-6, 10); w: o0 (3, -2), o1 (-4, 5);
//   bias o0 10, o1 -20 (scales 0.05, 0.025 = sx * sw).
//   acc: p0 o0 18 + 4 + 10 = 32 -> 1.6; p0 o1 -24 - 10 - 20 = -54 -> -1.35;
//        p1 o0 -18 - 20 + 10 = -28 -> -1.4; p1 o1 24 + 50 - 20 = 54 -> 1.35.
//   y = round(real / 0.2) + 3: 8 + 3 = 11, -6.75 -> -7 + 3 = -4, -7 + 3 = -4,
//   6.75 -> 7 + 3 = 10; with a fused RELU, y >= 3 (real 0): 11, 3, 3, 10.
// No value lies on a rounding tie, so TFLite's fixed-point requantization
// gives the same integers.
TEST(TfliteIntegerImport, Int8ConvEqualsIntegersWorkedOutByHand) {
  for (int relu : {0, 1}) {
    SCOPED_TRACE(relu ? "relu" : "no activation");
    using T = TfliteBuilder;
    T b;
    int x = b.tensor("x", {1, 1, 2, 2}, T::I8, 0, {0.5f}, {-1});
    int w = b.constant("w", {2, 1, 1, 2}, T::I8, std::vector<int8_t>{3, -2, -4, 5}, {0.1f, 0.05f}, {0, 0}, 0);
    int bias = b.constant("b", {2}, T::I32, std::vector<int32_t>{10, -20}, {0.05f, 0.025f}, {0, 0}, 0);
    int y = b.tensor("y", {1, 1, 2, 2}, T::I8, 0, {0.2f}, {3});
    b.op(CONV_2D, {x, w, bias}, {y}, kConvOpts, {{0, 'b', 1}, {1, 'i', 1}, {2, 'i', 1}, {3, 'b', double(relu)}});
    const std::string bytes = b.finish({x}, {y});
    const std::vector<int8_t> want = relu ? std::vector<int8_t>{11, 3, 3, 10} : std::vector<int8_t>{11, -4, -4, 10};
    for (TfliteNumbers mode : {TfliteNumbers::Integer, TfliteNumbers::Simulate}) {
      TfliteImportOptions o;
      o.numbers = mode;
      const Graph g = import_tflite_bytes(bytes, "int8.tflite", nullptr, o);
      EXPECT_EQ(count_op(g, "QConv"), mode == TfliteNumbers::Integer ? 1 : 0);
      const Value& in = g.values[size_t(g.inputs[0])];
      const Value& out = g.values[size_t(g.outputs[0])];
      EXPECT_EQ(in.dtype, DType::I8);
      EXPECT_EQ(out.dtype, DType::I8);
      EXPECT_EQ(out.name, "y");
      ASSERT_EQ(out.quant.scale.size(), 1u);
      EXPECT_FLOAT_EQ(out.quant.scale[0], 0.2f);
      EXPECT_EQ(out.quant.zero_point.at(0), 3);
      for (Backend be : {Backend::Reference, Backend::Fast}) {
        SessionOptions so;
        so.backend = be;
        Session s(g, so);
        Tensor xt(DType::I8, {1, 1, 2, 2});
        const int8_t xv[4] = {5, -3, -7, 9};
        std::memcpy(xt.raw(), xv, 4);
        s.set_input(0, xt);
        s.run();
        const Tensor r = s.output(0);
        ASSERT_EQ(r.dtype(), DType::I8);
        EXPECT_EQ(std::vector<int8_t>(r.data<int8_t>(), r.data<int8_t>() + 4), want);
      }
    }
    // The default (float) import computes the real values without rounding.
    Session f(import_tflite_bytes(bytes, "int8.tflite"));
    f.set_input(0, Tensor::from_floats({1, 1, 2, 2}, {3.f, -1.f, -3.f, 5.f}));  // 0.5 * (q + 1)
    f.run();
    const V real = relu ? V{1.6f, 0.f, 0.f, 1.35f} : V{1.6f, -1.35f, -1.4f, 1.35f};
    expect_near(f.output(0), real, 1e-5f, "float import");
  }
}

TEST(TfliteImport, TransposeMovesTheAxesOfTheFile) {
  enum : int32_t { TRANSPOSE = 39 };
  using T = TfliteBuilder;
  for (bool quantized : {false, true}) {
    SCOPED_TRACE(quantized ? "int8, integer import" : "float");
    T b;
    const int8_t type = quantized ? T::I8 : T::F32;
    const std::vector<float> sc = quantized ? std::vector<float>{0.1f} : std::vector<float>{};
    const std::vector<int64_t> zp = quantized ? std::vector<int64_t>{2} : std::vector<int64_t>{};
    int x = b.tensor("x", {1, 2, 3, 4}, type, 0, sc, zp);
    int perm = b.constant("perm", {4}, T::I32, std::vector<int32_t>{0, 3, 1, 2});
    int y = b.tensor("y", {1, 4, 2, 3}, type, 0, sc, zp);
    b.op(TRANSPOSE, {x, perm}, {y});
    TfliteImportOptions o;
    o.numbers = quantized ? TfliteNumbers::Integer : TfliteNumbers::Float;
    Session s(import_tflite_bytes(b.finish({x}, {y}), "t.tflite", nullptr, o));
    Tensor xt(quantized ? DType::I8 : DType::F32, {1, 2, 3, 4});
    for (int i = 0; i < 24; ++i) {
      if (quantized) xt.data<int8_t>()[i] = static_cast<int8_t>(i * 5 - 60);
      else xt.data<float>()[i] = static_cast<float>(i);
    }
    s.set_input(0, xt);
    s.run();
    const Tensor r = s.output(0);
    ASSERT_EQ(r.shape(), (Shape{1, 4, 2, 3}));
    // y[0][c][h][w] = x[0][h][w][c]
    for (int c = 0; c < 4; ++c)
      for (int h = 0; h < 2; ++h)
        for (int w = 0; w < 3; ++w) {
          const int yi = (c * 2 + h) * 3 + w, xi = (h * 3 + w) * 4 + c;
          if (quantized) {
            ASSERT_EQ(r.data<int8_t>()[yi], xt.data<int8_t>()[xi]);
          } else {
            ASSERT_EQ(r.data<float>()[yi], xt.data<float>()[xi]);
          }
        }
  }
  T bad;
  int x = bad.tensor("x", {1, 2, 3, 4}, T::F32);
  int perm = bad.constant("perm", {4}, T::I32, std::vector<int32_t>{0, 3, 3, 2});
  int y = bad.tensor("y", {1, 4, 2, 3}, T::F32);
  bad.op(TRANSPOSE, {x, perm}, {y});
  expect_import_error(bad.finish({x}, {y}), "operator 0 (TRANSPOSE): perm is not a permutation of the 4 axes");
}

// An int8 PAD before a VALID convolution (how converters express PyTorch's
// symmetric padding) equals the same convolution with SAME padding, in the
// float and the integer import (the padding stays next to its convolution).
TEST(TfliteIntegerImport, Int8PadBeforeAConvolution) {
  enum : int32_t { PAD = 34 };
  using T = TfliteBuilder;
  auto model = [](bool explicit_pad) {
    std::vector<int8_t> wq;
    for (int i = 0; i < 36; ++i) wq.push_back(static_cast<int8_t>((i * 7) % 11 - 5));
    T b;
    int x = b.tensor("x", {1, 3, 3, 2}, T::I8, 0, {0.25f}, {-3});
    int w = b.constant("w", {2, 3, 3, 2}, T::I8, wq, {0.1f, 0.2f}, {0, 0}, 0);
    int bias = b.constant("b", {2}, T::I32, std::vector<int32_t>{40, -40}, {0.025f, 0.05f}, {0, 0}, 0);
    int y = b.tensor("y", {1, 3, 3, 2}, T::I8, 0, {0.3f}, {1});
    int in = x;
    if (explicit_pad) {
      int pads = b.constant("pads", {4, 2}, T::I32, std::vector<int32_t>{0, 0, 1, 1, 1, 1, 0, 0});
      in = b.tensor("padded", {1, 5, 5, 2}, T::I8, 0, {0.25f}, {-3});
      b.op(PAD, {x, pads}, {in});
    }
    b.op(CONV_2D, {in, w, bias}, {y}, kConvOpts,
         {{0, 'b', explicit_pad ? 1.0 : 0.0}, {1, 'i', 1}, {2, 'i', 1}, {3, 'b', 0}});
    return b.finish({x}, {y});
  };
  for (TfliteNumbers mode : {TfliteNumbers::Float, TfliteNumbers::Integer}) {
    SCOPED_TRACE(mode == TfliteNumbers::Float ? "float import" : "integer import");
    TfliteImportOptions o;
    o.numbers = mode;
    std::vector<Tensor> outs;
    for (bool explicit_pad : {true, false}) {
      Session s(import_tflite_bytes(model(explicit_pad), "pad.tflite", nullptr, o));
      Tensor x(s.input_info(0).dtype, {1, 3, 3, 2});
      for (int i = 0; i < 18; ++i) {
        if (x.dtype() == DType::I8) x.data<int8_t>()[i] = static_cast<int8_t>(i * 13 % 50 - 25);
        else x.data<float>()[i] = 0.25f * static_cast<float>(i * 13 % 50 - 25 + 3);
      }
      s.set_input(0, x);
      s.run();
      outs.push_back(s.output(0));
    }
    ASSERT_EQ(outs[0].nbytes(), outs[1].nbytes());
    EXPECT_EQ(std::memcmp(outs[0].raw(), outs[1].raw(), outs[0].nbytes()), 0);
  }
}

// The exporter's full-integer file (tools/export, io int8) read back with
// the integer import runs the same integer graph as the QDQ ONNX it was
// converted from: identical raw outputs and detections, once the twin's
// HardSwish lookup tables are TFLite's (the one intended difference: a
// .tflite HARD_SWISH runs TFLite's fixed point, runtime/tflite_hardswish.h).
TEST(TfliteIntegerImport, ExportedInt8DetectorEqualsItsQdqOnnxTwin) {
  const std::string src = std::string(VEDGE_TEST_WORK_DIR) + "/models/ssdlite320_mobilenet_v3_small_2fm_op17.onnx";
  if (!fs::exists(src)) GTEST_SKIP() << "test model absent (made by the CTest model fixture): " << src;
  const std::string dir = kWork + "/exported";
  fs::remove_all(dir);
  for (uint32_t i = 0; i < 3; ++i) {
    fs::create_directories(dir + "/calib");
    write_png(dir + "/calib/" + std::to_string(i) + ".png", test::noise_image(96, 80, 20 + i));
  }
  QuantizeOptions q;
  q.qdq.precision = Precision::INT8;
  q.qdq.io = DType::I8;
  q.calib_path = dir + "/calib";
  q.calib_set.samples = 3;
  q.progress = false;
  write_quantized(quantize_model(src, q), dir + "/int8.onnx");
  TfliteExportOptions t;
  t.precision = Precision::INT8;
  t.io = DType::I8;
  t.progress = false;
  export_tflite(dir + "/int8.onnx", dir + "/int8.tflite", t);

  std::shared_ptr<const DetectorModel> mt = load_detector_model(dir + "/int8.tflite");
  auto twin = std::make_shared<DetectorModel>(*load_detector_model(dir + "/int8.onnx"));
  int hard_swish = 0;
  for (Node& n : twin->graph.nodes) {
    if (n.op != "QLut" || n.attrs.get_s("func") != "HardSwish") continue;
    const QuantParams& qx = twin->graph.values[size_t(n.inputs[0])].quant;
    const QuantParams& qy = twin->graph.values[size_t(n.outputs[0])].quant;
    const std::vector<int8_t> t = tflite_hardswish_table(qx.scale[0], qx.zero_point[0], qy.scale[0], qy.zero_point[0]);
    n.attrs.set("table", std::vector<int64_t>(t.begin(), t.end()));
    ++hard_swish;
  }
  EXPECT_GT(hard_swish, 5);
  std::shared_ptr<const DetectorModel> mo = twin;
  EXPECT_GT(count_op(mt->graph, "QConv"), 40);
  EXPECT_EQ(count_op(mt->graph, "QConv"), count_op(mo->graph, "QConv"));
  EXPECT_EQ(count_op(mt->graph, "Conv"), 0);
  const Value& in = mt->graph.values[size_t(mt->graph.inputs[0])];
  EXPECT_EQ(in.dtype, DType::I8);
  EXPECT_EQ(in.shape, (Shape{1, 3, 320, 320}));
  // Raw outputs on the same int8 input.
  Session st(mt->graph), so(mo->graph);
  Tensor x(DType::I8, {1, 3, 320, 320});
  uint32_t seed = 3;
  for (int64_t i = 0; i < x.numel(); ++i) {
    seed = seed * 1664525u + 1013904223u;
    x.data<int8_t>()[i] = static_cast<int8_t>(seed >> 24);
  }
  st.set_input(0, x);
  so.set_input(0, x);
  st.run();
  so.run();
  for (const char* name : {"boxes", "scores"}) {
    const Tensor a = st.output(st.output_index(name)), b = so.output(so.output_index(name));
    ASSERT_EQ(a.dtype(), DType::I8) << name;
    ASSERT_EQ(a.shape(), b.shape()) << name;
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << name;
  }
  // End to end.
  Detector dt(mt), dox(mo);
  const Image img = test::noise_image(120, 90, 11);
  expect_same_detections(dt.detect(img), dox.detect(img), 0.f);
}

// More libFuzzer seeds (tests/fuzz/fuzz_tflite.cpp): metadata, a custom op,
// int8 activations with per-channel weights (the integer import).
TEST(TfliteImport, WritesMoreFuzzSeeds) {
  const std::string dir = std::string(VEDGE_TEST_WORK_DIR) + "/fuzz-seeds/tflite";
  write_all(dir + "/custom_op.tflite", model_with_custom_op());
  write_all(dir + "/detector_int8.tflite", tflite_detector(true));
  write_all(dir + "/detector_fp32.tflite", tflite_detector(false));
  EXPECT_EQ(read_tflite_info(read_all(dir + "/detector_int8.tflite"), "seed").metadata.count("vedge.detector"), 1u);
}

TEST(TfliteDetector, InGraphPostprocessingIsAClearError) {
  const std::string model = kWork + "/nms_in_graph.tflite";
  write_all(model, model_with_custom_op());
  try {
    Detector d(model);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              model + ": ends with TFLite_Detection_PostProcess (in-graph NMS); the Detector decodes and "
                      "suppresses boxes itself: use the model exported without --nms-in-graph");
  }
}

// TFLite's int8 HARD_SWISH (runtime/tflite_hardswish.h), one quantization
// that LiteRT.js ran (in 0.425512195 zp -92, out 0.607870817 zp -14: the
// reluish multiplier has exponent 6, so the saturating left shifts are on
// the path). Expected values are LiteRT's outputs. Worked by hand for
// q = -77: x = 15 * 0.4255 = 6.383 >= 3, so the exact result is
// 6.383 / 0.6079 = 10.50006 steps -> zp + 11 = -3; TFLite: v = 15 * 128 =
// 1920, output multiplier 0.0054688 = 22938 / 2^15 * 2^-7, a = round(1920 *
// 22938 / 2^15) = 1344, reluish saturates to 32767, 32767 * 1344 / 2^15
// truncates to 1343, 1343 / 2^7 rounds to 10 -> -4.
TEST(TfliteHardSwish, TableMatchesLiteRtOnHandCheckedEntries) {
  const std::vector<int8_t> t = tflite_hardswish_table(0.425512195f, -92, 0.607870817f, -14);
  ASSERT_EQ(t.size(), 256u);
  const std::vector<std::pair<int, int>> litert = {
      {-128, -14}, {-100, -14}, {-92, -14}, {-85, -9}, {-77, -4}, {-67, 3},
      {-57, 10},   {-47, 17},   {0, 50},    {60, 92},  {127, 127}};
  for (const auto& [q, y] : litert) EXPECT_EQ(int(t[static_cast<size_t>(q + 128)]), y) << "q = " << q;
  // The exact-float rounding of the same entries is one step higher (10.5 -> 11, 17.5 -> 18).
  const auto exact = [](int q) {
    const double x = (q + 92) * 0.425512195;
    return int(std::lround(x * std::clamp(x + 3, 0.0, 6.0) / 6 / 0.607870817)) - 14;
  };
  EXPECT_EQ(exact(-77), -3);
  EXPECT_EQ(exact(-67), 4);
  EXPECT_THROW(tflite_hardswish_table(0.f, 0, 0.1f, 0), Error);
  EXPECT_THROW(tflite_hardswish_table(0.1f, 0, 0.1f, 200), Error);
  EXPECT_THROW(tflite_hardswish_table(1.f, 0, 0.001f, 0), Error);  // TFLite rejects out < in / 128
}

// Integer import gives a file's HARD_SWISH TFLite's table (int8 and uint8,
// whose zero points are 128 higher), and float import computes in float.
TEST(TfliteHardSwish, IntegerImportRunsTfliteArithmetic) {
  using T = TfliteBuilder;
  const std::vector<int8_t> want = tflite_hardswish_table(0.425512195f, -92, 0.607870817f, -14);
  for (bool u8 : {false, true}) {
    SCOPED_TRACE(u8 ? "uint8" : "int8");
    const int off = u8 ? 128 : 0;
    T b;
    int x = b.tensor("x", {1, 256}, u8 ? T::U8 : T::I8, 0, {0.425512195f}, {-92 + off});
    int y = b.tensor("y", {1, 256}, u8 ? T::U8 : T::I8, 0, {0.607870817f}, {-14 + off});
    b.op(HARD_SWISH, {x}, {y});
    TfliteImportOptions o;
    o.numbers = TfliteNumbers::Integer;
    Session s(import_tflite_bytes(b.finish({x}, {y}), "hswish.tflite", nullptr, o));
    Tensor in(u8 ? DType::U8 : DType::I8, {1, 256});
    for (int i = 0; i < 256; ++i) {
      if (u8) in.data<uint8_t>()[i] = static_cast<uint8_t>(i);
      else in.data<int8_t>()[i] = static_cast<int8_t>(i - 128);
    }
    s.set_input(0, in);
    s.run();
    const Tensor out = s.output(0);
    ASSERT_EQ(out.dtype(), in.dtype());
    for (int i = 0; i < 256; ++i) {
      const int got = u8 ? int(out.data<uint8_t>()[i]) - 128 : int(out.data<int8_t>()[i]);
      EXPECT_EQ(got, int(want[static_cast<size_t>(i)])) << "q = " << i - 128;
    }
  }
}

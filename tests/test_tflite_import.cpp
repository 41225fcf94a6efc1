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
//    shape that does not match) end in one clear vedge::Error line.
// Also writes the libFuzzer seeds for tests/fuzz/fuzz_tflite.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "runtime/npy.h"
#include "runtime/preprocess.h"
#include "runtime/tflite_import.h"
#include "tflite_builder.h"

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
    expect_import_error(b.finish({x}, {y}), "operator 0 (builtin op 28): unsupported operator");
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

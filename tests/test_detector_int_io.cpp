// Full-integer detector I/O: a model with a uint8 (or int8) image input and
// int8 (or uint8) outputs, built here with tests/onnx_builder.h (input ->
// DequantizeLinear -> float conv head -> QuantizeLinear), must give the
// detections of the same head with float input and outputs when the test
// itself quantizes the preprocessed image and the outputs with the ONNX
// formulas (std::nearbyint, saturate) — for detect() and detect_batch(), in
// both backends. Missing quantization parameters are one clear error, and
// ONNX Runtime runs the same file (the `vedge bench --peer ort` path feeds
// it a uint8 image). Depends on runtime/ (detector, executor, onnx_import,
// preprocess), tools/bench/ort_peer.h and tests/onnx_builder.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "onnx_builder.h"
#include "runtime/detector.h"
#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/onnx_import.h"
#include "runtime/preprocess.h"
#include "test_util.h"
#include "tools/bench/ort_peer.h"

namespace vedge {
namespace {

constexpr int kW = 16, kH = 16;     // network input
constexpr int kMaps = 4;            // one 4x4 feature map (stride 4)
constexpr int kBoxesPerCell = 2;    // min_sizes [4, 8]
constexpr int kAnchors = kMaps * kMaps * kBoxesPerCell;
constexpr int kClasses = 2;         // background, thing

const char* kSpec = R"({
  "labels": ["background", "thing"], "background": 0,
  "input": {"name": "images", "width": 16, "height": 16, "mean": [120, 110, 100], "std": [60, 60, 60]},
  "outputs": {"boxes": "boxes", "scores": "scores", "score_activation": "softmax"},
  "anchors": {"family": "ultraface", "feature_maps": ["4x4"], "min_sizes": [[4, 8]]},
  "thresholds": {"score": 0.3, "iou": 0.5, "max_detections": 50, "top_k": 100}
})";

// The quantization of one graph input or output.
struct Q {
  int dtype = onnx::TensorProto_DataType_FLOAT;  // FLOAT: not quantized
  float scale = 1;
  int zero_point = 0;
  bool quantized() const { return dtype != onnx::TensorProto_DataType_FLOAT; }
  int qmin() const { return dtype == onnx::TensorProto_DataType_UINT8 ? 0 : -128; }
  int qmax() const { return dtype == onnx::TensorProto_DataType_UINT8 ? 255 : 127; }
  // ONNX QuantizeLinear then DequantizeLinear, written independently of the
  // runtime: round half to even (the default rounding mode), saturate.
  float round_trip(float x) const {
    const float q = std::clamp(std::nearbyint(x / scale) + zero_point, float(qmin()), float(qmax()));
    return (q - zero_point) * scale;
  }
};

onnx::TensorProto scalar(const std::string& name, int dtype, float f, int zp) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  if (dtype == onnx::TensorProto_DataType_FLOAT) {
    t.set_raw_data(std::string(reinterpret_cast<const char*>(&f), sizeof f));
  } else {
    t.set_raw_data(std::string(1, static_cast<char>(zp & 0xff)));  // int8 or uint8, two's complement
  }
  return t;
}

// The detector head: Conv(4x4, stride 4) -> Transpose -> Reshape for boxes
// and scores. With quantized `in`/`out`, the image input is `in.dtype` and
// goes through DequantizeLinear, and each output leaves through
// QuantizeLinear.
std::string detector_bytes(const Q& in, const Q& boxes_q, const Q& scores_q) {
  test::OnnxBuilder b(13);
  b.input("images", {1, 3, kH, kW}, in.dtype);
  std::string x = "images";
  if (in.quantized()) {
    b.initializer(scalar("in_scale", onnx::TensorProto_DataType_FLOAT, in.scale, 0));
    b.initializer(scalar("in_zp", in.dtype, 0, in.zero_point));
    b.node("DequantizeLinear", {"images", "in_scale", "in_zp"}, {"x"});
    x = "x";
  }
  auto head = [&](const std::string& name, int per_box, uint32_t seed, float amp, const Q& q) {
    const int64_t ch = int64_t(kBoxesPerCell) * per_box;
    b.initializer(name + "_w", {ch, 3, 4, 4}, test::pseudo_random(size_t(ch) * 48, seed, amp));
    b.initializer(name + "_b", {ch}, test::pseudo_random(size_t(ch), seed + 1, amp));
    b.node("Conv", {x, name + "_w", name + "_b"}, {name + "_conv"},
           {test::attr_ints("kernel_shape", {4, 4}), test::attr_ints("strides", {4, 4})});
    b.node("Transpose", {name + "_conv"}, {name + "_t"}, {test::attr_ints("perm", {0, 2, 3, 1})});
    b.initializer_i64(name + "_shape", {3}, {1, kAnchors, per_box});
    const std::string flat = q.quantized() ? name + "_f" : name;
    b.node("Reshape", {name + "_t", name + "_shape"}, {flat});
    if (q.quantized()) {
      b.initializer(scalar(name + "_scale", onnx::TensorProto_DataType_FLOAT, q.scale, 0));
      b.initializer(scalar(name + "_zp", q.dtype, 0, q.zero_point));
      b.node("QuantizeLinear", {flat, name + "_scale", name + "_zp"}, {name});
    }
    b.output(name, {1, kAnchors, per_box}, q.dtype);
  };
  head("boxes", 4, 7, 0.03f, boxes_q);
  head("scores", kClasses, 11, 0.15f, scores_q);
  b.metadata("vedge.detector", kSpec);
  return b.bytes();
}

Image test_image(int w, int h, uint32_t seed) {
  Image img = test::noise_image(w, h, seed);
  // A bright block: saturates the uint8 input range (pixel 255 is above
  // what the input scale reaches).
  for (int y = h / 4; y < h / 2; ++y)
    for (int x = w / 4; x < w / 2; ++x)
      for (int c = 0; c < 3; ++c) img.rgb[(size_t(y) * w + x) * 3 + c] = 255;
  return img;
}

// The reference: the float model on the quantized-then-dequantized image,
// its outputs quantized and dequantized by the test, then the detector's
// post-processing.
std::vector<Detection> reference(const Image& img, const Q& in, const Q& boxes_q, const Q& scores_q,
                                 Backend backend) {
  const Q none;
  std::shared_ptr<const DetectorModel> m =
      load_detector_model(import_onnx_bytes(detector_bytes(none, none, none), "float.onnx"), "float.onnx");
  std::vector<float> x(size_t(3) * kW * kH);
  Preprocessor pre(m->spec.input);
  const BoxTransform tf = pre.run(img, x.data());
  for (float& v : x) v = in.round_trip(v);
  SessionOptions so;
  so.backend = backend;
  Session s(m->graph, so);
  s.set_input(s.input_index("images"), Tensor::from_floats({1, 3, kH, kW}, x));
  s.run();
  std::vector<float> boxes(size_t(kAnchors) * 4), scores(size_t(kAnchors) * kClasses);
  std::memcpy(boxes.data(), s.output_data(s.output_index("boxes")), boxes.size() * sizeof(float));
  std::memcpy(scores.data(), s.output_data(s.output_index("scores")), scores.size() * sizeof(float));
  for (float& v : boxes) v = boxes_q.round_trip(v);
  for (float& v : scores) v = scores_q.round_trip(v);
  PostprocessScratch scratch;
  return postprocess_detections(m->spec, m->anchors, boxes.data(), scores.data(), kAnchors, kClasses, tf,
                                resolve_thresholds(m->spec.thresholds, {}), scratch);
}

void expect_same(const std::vector<Detection>& got, const std::vector<Detection>& want, float box_tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("detection " + std::to_string(i));
    EXPECT_EQ(got[i].class_id, want[i].class_id);
    EXPECT_EQ(got[i].label, want[i].label);
    EXPECT_NEAR(got[i].score, want[i].score, 1e-6);
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[i].bbox[k], want[i].bbox[k], box_tol) << k;
  }
}

struct Case {
  const char* name;
  Q in, boxes, scores;
};

std::vector<Case> cases() {
  const int u8 = onnx::TensorProto_DataType_UINT8, i8 = onnx::TensorProto_DataType_INT8;
  const float in_scale = 4.5f / 255;  // x in about [-2, 2.58]: the top saturates
  return {{"uint8_in_int8_out", {u8, in_scale, 113}, {i8, 0.02f, 3}, {i8, 0.05f, -10}},
          {"int8_in_uint8_out", {i8, in_scale, -15}, {u8, 0.02f, 131}, {u8, 0.05f, 118}}};
}

TEST(DetectorIntIo, DetectionsEqualTheFloatModelWithinTheQuantization) {
  const Image a = test_image(40, 30, 1), b = test_image(24, 36, 2);
  for (const Case& c : cases())
    for (Backend backend : {Backend::Reference, Backend::Fast}) {
      SCOPED_TRACE(std::string(c.name) + (backend == Backend::Fast ? " fast" : " reference"));
      const std::string bytes = detector_bytes(c.in, c.boxes, c.scores);
      SessionOptions so;
      so.backend = backend;
      const std::vector<Detection> want_a = reference(a, c.in, c.boxes, c.scores, backend);
      const std::vector<Detection> want_b = reference(b, c.in, c.boxes, c.scores, backend);
      ASSERT_GE(want_a.size(), 3u) << "the test image must give detections";
      ASSERT_GE(want_b.size(), 3u);
      // Quantizing the outputs matters: the reference differs from the
      // plain float model's detections.
      {
        const Q none;
        Detector plain;
        plain.load(import_onnx_bytes(detector_bytes(none, none, none), "float.onnx"), "float.onnx", "", so);
        const std::vector<Detection> f = plain.detect(a);
        bool differs = f.size() != want_a.size();
        for (size_t i = 0; !differs && i < f.size(); ++i)
          differs = f[i].score != want_a[i].score || f[i].bbox[0] != want_a[i].bbox[0];
        EXPECT_TRUE(differs);
      }
      // Single images (a Detector of its own) and batches (a shared model).
      const float tol = backend == Backend::Reference ? 1e-4f : 1e-3f;
      Detector single;
      single.load(import_onnx_bytes(bytes, "int.onnx"), "int.onnx", "", so);
      expect_same(single.detect(a), want_a, tol);
      expect_same(single.detect(b), want_b, tol);
      Detector batched(load_detector_model(import_onnx_bytes(bytes, "int.onnx"), "int.onnx"), so, 2);
      std::vector<std::vector<Detection>> got = batched.detect_batch({&a, &b}, {{}, {}});
      expect_same(got[0], want_a, tol);
      expect_same(got[1], want_b, tol);
      expect_same(batched.detect(b), want_b, tol);
    }
}

TEST(DetectorIntIo, MissingQuantizationParametersAreAClearError) {
  const Case c = cases()[0];
  const Graph g = import_onnx_bytes(detector_bytes(c.in, c.boxes, c.scores), "int.onnx");
  auto error_without = [&](const std::string& value) {
    Graph h = g;
    for (Value& v : h.values)
      if (v.name == value) v.quant = QuantParams{};
    try {
      Detector d;
      d.load(std::move(h), "int.onnx");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_without("images"),
            "int.onnx: input 'images' is uint8 but has no quantization parameters (scale, zero point)");
  EXPECT_EQ(error_without("scores"),
            "int.onnx: scores output 'scores' is int8 but has no quantization parameters (scale, zero point)");
}

TEST(DetectorIntIo, TheImporterGivesTheIoTheirQuantization) {
  // What the Detector relies on (helper A's importer contract).
  const Case c = cases()[1];
  const Graph g = import_onnx_bytes(detector_bytes(c.in, c.boxes, c.scores), "int.onnx");
  for (const auto& [name, q] : {std::pair<std::string, Q>{"images", c.in}, {"boxes", c.boxes}, {"scores", c.scores}}) {
    SCOPED_TRACE(name);
    const Value* v = nullptr;
    for (const Value& x : g.values)
      if (x.name == name) v = &x;
    ASSERT_NE(v, nullptr);
    ASSERT_EQ(v->quant.scale.size(), 1u);
    EXPECT_FLOAT_EQ(v->quant.scale[0], q.scale);
    ASSERT_EQ(v->quant.zero_point.size(), 1u);
    EXPECT_EQ(v->quant.zero_point[0], q.zero_point);
  }
}

TEST(DetectorIntIo, OnnxRuntimeTimesTheIntegerModel) {
  const std::string ort = std::string(VEDGE_SOURCE_DIR) + "/tests/peers/node_modules/onnxruntime-node";
  if (!std::filesystem::exists(ort) && !std::getenv("VEDGE_ORT_NODE_PATH"))
    GTEST_SKIP() << "ONNX Runtime for Node is not installed at " << ort << " (scripts/setup.sh installs it)";
  const std::string dir = std::string(VEDGE_TEST_WORK_DIR) + "/detector_int_io";
  std::filesystem::create_directories(dir);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const std::string path = dir + "/" + c.name + ".onnx";
    test::OnnxBuilder::write_file(path, detector_bytes(c.in, c.boxes, c.scores));
    const PeerTiming t = time_with_ort(path, 1, 0, 2);
    EXPECT_EQ(t.samples_ms.size(), 2u);
  }
}

}  // namespace
}  // namespace vedge

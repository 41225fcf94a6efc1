// test_tflite_postprocess.cpp: the in-graph TFLite post-processing
// (tools/export/tflite_postprocess.h).
//   - Structure: the custom op's FlexBuffer options decoded with
//     flexbuffers::GetRoot, key by key; the appended ops, the anchors
//     constant (ycenter, xcenter, h, w) and the GATHER/MINIMUM constants; the
//     DEQUANTIZE in front of int8 outputs; the one-line errors.
//   - Numerics (LiteRT.js, tests/litert_peer.h): a model whose inputs ARE the
//     raw boxes [1,A,4] and scores [1,A,C] (no network) plus the
//     post-processing, written with tflite::serialize and run in TFLite's own
//     TFLite_Detection_PostProcess kernel, against runtime's
//     postprocess_detections on the same offsets and logits: same count,
//     classes, scores and boxes (IoU >= 0.99). Spec: a 320x240 SSD anchor
//     layout (2 feature maps, 2280 anchors), so an x/y swap shows.
//   - The demo architecture (fixture model, converter + writer) with the
//     post-processing against Detector::detect on a synthetic shapes image
//     (score threshold in a gap of the candidate scores; NMS off, see there).
// Needs Node with LiteRT.js (tests/peers, a failure when missing) and the
// fixture models (the last test skips without them); the reference is the
// runtime's own post-processing, never this module's code.
#include <gtest/gtest.h>

#include <flatbuffers/flexbuffers.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "data/load.h"
#include "data/synthetic.h"
#include "litert_peer.h"
#include "runtime/anchors.h"
#include "runtime/detector.h"
#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/image.h"
#include "runtime/nms.h"
#include "runtime/onnx_import.h"
#include "runtime/preprocess.h"
#include "tools/export/tflite_convert.h"
#include "tools/export/tflite_postprocess.h"
#include "tools/export/tflite_writer.h"

namespace vedge {
namespace {

namespace fs = std::filesystem;
using tflite::Op;
using tflite::TensorType;

// A 320x240 SSD layout: 20x15 and 10x8 maps, 6 boxes per location.
DetectorSpec make_spec(const std::string& activation, bool background, float score, float iou,
                       int max_detections, bool class_agnostic = false) {
  const std::string labels =
      background ? R"(["background", "circle", "square", "triangle"])" : R"(["face", "hand"])";
  const std::string json = R"({"labels": )" + labels + R"(, "background": )" +
                           (background ? "0" : "null") + R"(,
    "input": {"name": "images", "width": 320, "height": 240, "mean": 127.5, "std": 127.5},
    "outputs": {"boxes": "boxes", "scores": "scores", "score_activation": ")" +
                           activation + R"("},
    "anchors": {"family": "ssd", "feature_maps": ["20x15", "10x8"],
                "aspect_ratios": [[2, 3], [2, 3]], "min_ratio": 0.2, "max_ratio": 0.95},
    "thresholds": {"score": )" + std::to_string(score) +
                           R"(, "iou": )" + std::to_string(iou) +
                           R"(, "max_detections": )" + std::to_string(max_detections) +
                           R"(, "top_k": 1000, "class_agnostic": )" +
                           (class_agnostic ? "true" : "false") + "}}";
  return parse_detector_spec(json, "test spec");
}

int64_t num_anchors(const DetectorSpec& s) { return anchor_count(s.anchors); }

// A model whose inputs are the raw boxes and scores, also its outputs.
tflite::Model raw_model(const DetectorSpec& spec, TensorType type = TensorType::Float32,
                        tflite::Quantization box_q = {}, tflite::Quantization score_q = {}) {
  const int32_t A = static_cast<int32_t>(num_anchors(spec));
  const int32_t C = static_cast<int32_t>(spec.labels.size());
  tflite::Model m;
  tflite::Tensor b;
  b.name = "boxes";
  b.type = type;
  b.shape = {1, A, 4};
  b.quant = box_q;
  tflite::Tensor s;
  s.name = "scores";
  s.type = type;
  s.shape = {1, A, C};
  s.quant = score_q;
  const int32_t bi = m.add_tensor(b), si = m.add_tensor(s);
  m.inputs = {bi, si};
  m.outputs = {bi, si};
  return m;
}

template <class T>
std::vector<T> constant_values(const tflite::Model& m, int32_t tensor) {
  const auto& bytes = m.buffers[m.tensors[static_cast<size_t>(tensor)].buffer];
  std::vector<T> v(bytes.size() / sizeof(T));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

std::vector<Op> op_codes(const tflite::Model& m) {
  std::vector<Op> ops;
  for (const auto& o : m.operators) ops.push_back(o.op);
  return ops;
}

const tflite::Operator& custom_op(const tflite::Model& m) {
  for (const auto& o : m.operators)
    if (o.op == Op::Custom) return o;
  throw Error("no custom op");
}

TEST(TflitePostprocess, FlexBufferOptionsDecodeToTheSpecsValues) {
  DetectorSpec spec = make_spec("softmax", true, 0.4f, 0.55f, 37);
  spec.coder.center_variance = 0.125f;
  spec.coder.size_variance = 0.25f;
  tflite::Model m = raw_model(spec);
  const TflitePostprocessOptions opt = postprocess_options_from_spec(spec);
  EXPECT_EQ(opt.max_detections, 37);
  EXPECT_EQ(opt.detections_per_class, 37);
  EXPECT_EQ(opt.max_classes_per_detection, 1);
  EXPECT_TRUE(opt.use_regular_nms);
  append_detection_postprocess(m, spec, opt);

  const tflite::Operator& op = custom_op(m);
  EXPECT_EQ(op.custom_code, "TFLite_Detection_PostProcess");
  ASSERT_TRUE(flexbuffers::VerifyBuffer(op.custom_options.data(), op.custom_options.size()));
  const flexbuffers::Map map =
      flexbuffers::GetRoot(op.custom_options.data(), op.custom_options.size()).AsMap();
  EXPECT_EQ(map.size(), 11u);
  EXPECT_EQ(map["max_detections"].AsInt32(), 37);
  EXPECT_EQ(map["max_classes_per_detection"].AsInt32(), 1);
  EXPECT_EQ(map["detections_per_class"].AsInt32(), 37);
  EXPECT_TRUE(map["use_regular_nms"].IsBool());
  EXPECT_TRUE(map["use_regular_nms"].AsBool());
  // The op keeps score >= t: the smallest float above 0.4 keeps exactly score > 0.4.
  const float t = map["nms_score_threshold"].AsFloat();
  EXPECT_GT(t, 0.4f);
  EXPECT_EQ(std::nextafter(t, 0.f), 0.4f);
  EXPECT_FLOAT_EQ(map["nms_iou_threshold"].AsFloat(), 0.55f);
  EXPECT_EQ(map["num_classes"].AsInt32(), 3);  // 4 columns, background 0
  EXPECT_FLOAT_EQ(map["y_scale"].AsFloat(), 8.f);
  EXPECT_FLOAT_EQ(map["x_scale"].AsFloat(), 8.f);
  EXPECT_FLOAT_EQ(map["h_scale"].AsFloat(), 4.f);
  EXPECT_FLOAT_EQ(map["w_scale"].AsFloat(), 4.f);

  // Class-agnostic spec, explicit options, no background column.
  DetectorSpec agn = make_spec("sigmoid", false, 0.5f, 0.3f, 10, /*class_agnostic=*/true);
  tflite::Model m2 = raw_model(agn);
  TflitePostprocessOptions o2 = postprocess_options_from_spec(agn);
  EXPECT_FALSE(o2.use_regular_nms);
  o2.max_classes_per_detection = 2;
  o2.score_threshold = 0.25f;
  append_detection_postprocess(m2, agn, o2);
  const auto& op2 = custom_op(m2);
  const flexbuffers::Map map2 =
      flexbuffers::GetRoot(op2.custom_options.data(), op2.custom_options.size()).AsMap();
  EXPECT_FALSE(map2["use_regular_nms"].AsBool());
  EXPECT_EQ(map2["max_classes_per_detection"].AsInt32(), 2);
  EXPECT_EQ(map2["num_classes"].AsInt32(), 2);
  EXPECT_EQ(std::nextafter(map2["nms_score_threshold"].AsFloat(), 0.f), 0.25f);
  EXPECT_FLOAT_EQ(map2["nms_iou_threshold"].AsFloat(), 0.3f);
  EXPECT_FLOAT_EQ(map2["y_scale"].AsFloat(), 10.f);
  EXPECT_FLOAT_EQ(map2["h_scale"].AsFloat(), 5.f);
  // 10 detections x 2 classes each.
  EXPECT_EQ(m2.tensors[static_cast<size_t>(m2.outputs[0])].shape, (std::vector<int32_t>{1, 20, 4}));
}

TEST(TflitePostprocess, DefaultOptionsTakeTheSpecsThresholds) {
  const DetectorSpec spec = make_spec("softmax", true, 0.35f, 0.6f, 50);
  tflite::Model m = raw_model(spec);
  append_detection_postprocess(m, spec, TflitePostprocessOptions{});
  const auto& op = custom_op(m);
  const auto map = flexbuffers::GetRoot(op.custom_options.data(), op.custom_options.size()).AsMap();
  EXPECT_EQ(std::nextafter(map["nms_score_threshold"].AsFloat(), 0.f), 0.35f);
  EXPECT_FLOAT_EQ(map["nms_iou_threshold"].AsFloat(), 0.6f);
  EXPECT_EQ(map["max_detections"].AsInt32(), 100);  // the struct's own default
}

TEST(TflitePostprocess, AppendsFloatOpsAnchorsAndOutputs) {
  const DetectorSpec spec = make_spec("softmax", true, 0.5f, 0.45f, 20);
  const int32_t A = static_cast<int32_t>(num_anchors(spec));
  ASSERT_EQ(A, 2280);
  tflite::Model m = raw_model(spec);
  m.metadata["vedge.tflite"] = R"({"precision": "fp32", "postprocess": false})";
  append_detection_postprocess(m, spec, postprocess_options_from_spec(spec));

  EXPECT_EQ(op_codes(m), (std::vector<Op>{Op::Gather, Op::Minimum, Op::Softmax, Op::Custom,
                                          Op::Minimum, Op::Maximum}));
  // GATHER: (dx,dy,dw,dh) -> (ty,tx,th,tw) along axis 2.
  const auto& gather = m.operators[0];
  EXPECT_EQ(gather.inputs[0], m.find_tensor("boxes"));
  EXPECT_EQ(gather.options.axis, 2);
  EXPECT_EQ(constant_values<int32_t>(m, gather.inputs[1]), (std::vector<int32_t>{1, 0, 3, 2}));
  // MINIMUM: our box coder's clamp on th, tw (dw * size_variance <= log(1000/16)).
  const std::vector<float> lim = constant_values<float>(m, m.operators[1].inputs[1]);
  ASSERT_EQ(lim.size(), 4u);
  EXPECT_GT(lim[0], 1e30f);
  EXPECT_GT(lim[1], 1e30f);
  EXPECT_NEAR(lim[2], std::log(1000.0 / 16.0) / 0.2, 1e-4);
  EXPECT_NEAR(lim[3], std::log(1000.0 / 16.0) / 0.2, 1e-4);
  EXPECT_EQ(m.operators[2].inputs[0], m.find_tensor("scores"));

  // Anchors: generate_anchors' (cx, cy, w, h) as (cy, cx, h, w).
  const auto& op = m.operators[3];
  ASSERT_EQ(op.inputs.size(), 3u);
  EXPECT_EQ(op.inputs[0], m.operators[1].outputs[0]);
  EXPECT_EQ(op.inputs[1], m.operators[2].outputs[0]);
  const tflite::Tensor& at = m.tensors[static_cast<size_t>(op.inputs[2])];
  EXPECT_EQ(at.type, TensorType::Float32);
  EXPECT_EQ(at.shape, (std::vector<int32_t>{A, 4}));
  const std::vector<float> got = constant_values<float>(m, op.inputs[2]);
  const std::vector<float> want = generate_anchors(spec.anchors, 320, 240);
  ASSERT_EQ(got.size(), want.size());
  for (size_t a = 0; a < want.size(); a += 4) {
    ASSERT_EQ(got[a + 0], want[a + 1]) << "anchor " << a / 4;
    ASSERT_EQ(got[a + 1], want[a + 0]) << "anchor " << a / 4;
    ASSERT_EQ(got[a + 2], want[a + 3]) << "anchor " << a / 4;
    ASSERT_EQ(got[a + 3], want[a + 2]) << "anchor " << a / 4;
  }
  // The 20x15 map's second anchor is the (s', s') box of cell (0, 0) (x
  // centre 0.5/20, y centre 0.5/15): a swap of x and y would show here.
  EXPECT_FLOAT_EQ(got[4 + 0], 0.5f / 15);
  EXPECT_FLOAT_EQ(got[4 + 1], 0.5f / 20);

  // Outputs: the four detection tensors, float, in the op's order.
  ASSERT_EQ(m.outputs.size(), 4u);
  const char* names[] = {"detection_boxes", "detection_classes", "detection_scores",
                         "num_detections"};
  const std::vector<std::vector<int32_t>> shapes = {{1, 20, 4}, {1, 20}, {1, 20}, {1}};
  for (size_t i = 0; i < 4; ++i) {
    const tflite::Tensor& t = m.tensors[static_cast<size_t>(m.outputs[i])];
    EXPECT_EQ(t.name, names[i]);
    EXPECT_EQ(t.shape, shapes[i]) << names[i];
    EXPECT_EQ(t.type, TensorType::Float32);
  }
  EXPECT_EQ(m.outputs[1], op.outputs[1]);
  EXPECT_EQ(m.outputs[3], op.outputs[3]);
  // Boxes clipped to [0, 1] after the op.
  EXPECT_EQ(m.operators[4].inputs[0], op.outputs[0]);
  EXPECT_EQ(constant_values<float>(m, m.operators[4].inputs[1]), std::vector<float>{1.f});
  EXPECT_EQ(constant_values<float>(m, m.operators[5].inputs[1]), std::vector<float>{0.f});
  EXPECT_EQ(m.operators[5].outputs[0], m.outputs[0]);
  EXPECT_EQ(m.metadata["vedge.tflite"], R"({"precision":"fp32","postprocess":true})");
}

TEST(TflitePostprocess, IntegerOutputsAreDequantizedFirst) {
  const DetectorSpec spec = make_spec("sigmoid", true, 0.5f, 0.45f, 20);
  tflite::Quantization q;
  q.scale = {0.05f};
  q.zero_point = {-3};
  tflite::Model m = raw_model(spec, TensorType::Int8, q, q);
  append_detection_postprocess(m, spec, postprocess_options_from_spec(spec));
  EXPECT_EQ(op_codes(m), (std::vector<Op>{Op::Dequantize, Op::Gather, Op::Minimum, Op::Dequantize,
                                          Op::Logistic, Op::Custom, Op::Minimum, Op::Maximum}));
  EXPECT_EQ(m.operators[0].inputs[0], m.find_tensor("boxes"));
  EXPECT_EQ(m.operators[3].inputs[0], m.find_tensor("scores"));
  for (const auto& o : m.operators)
    for (int32_t t : o.outputs)
      EXPECT_EQ(m.tensors[static_cast<size_t>(t)].type, TensorType::Float32)
          << m.tensors[static_cast<size_t>(t)].name;

  // Activation "none": the scores go to the op as they are.
  const DetectorSpec none = make_spec("none", false, 0.5f, 0.45f, 20);
  tflite::Model m2 = raw_model(none);
  append_detection_postprocess(m2, none, postprocess_options_from_spec(none));
  EXPECT_EQ(custom_op(m2).inputs[1], m2.find_tensor("scores"));
}

void expect_error(tflite::Model m, const DetectorSpec& spec, const TflitePostprocessOptions& o,
                  const std::string& part) {
  try {
    append_detection_postprocess(m, spec, o);
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(part), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(TflitePostprocess, RejectsModelsAndOptionsItCannotExpress) {
  const DetectorSpec spec = make_spec("softmax", true, 0.5f, 0.45f, 20);
  const TflitePostprocessOptions o = postprocess_options_from_spec(spec);
  tflite::Model good = raw_model(spec);

  DetectorSpec renamed = spec;
  renamed.boxes_output = "loc";
  expect_error(good, renamed, o, "no boxes tensor 'loc'");

  tflite::Model internal = good;
  internal.outputs = {internal.outputs[1]};
  expect_error(internal, spec, o, "'boxes' is not a model output");

  tflite::Model wrong = good;
  wrong.tensors[0].shape = {1, 2280, 5};
  expect_error(wrong, spec, o, "expected [1,A,4]");

  DetectorSpec fewer = spec;
  fewer.labels.pop_back();
  expect_error(good, fewer, o, "3 labels but scores output 'scores' has 4 columns");

  DetectorSpec other_anchors = spec;
  other_anchors.anchors.ssd.feature_maps[1] = {5, 4};
  expect_error(good, other_anchors, o, "anchors but boxes output 'boxes' has 2280");

  DetectorSpec bg2 = spec;
  bg2.background = 2;
  expect_error(good, bg2, o, "background column 2");

  TflitePostprocessOptions bad_iou = o;
  bad_iou.iou_threshold = 0.f;
  expect_error(good, spec, bad_iou, "outside (0, 1]");
  TflitePostprocessOptions no_det = o;
  no_det.max_detections = 0;
  expect_error(good, spec, no_det, "max_detections 0 < 1");

  tflite::Model f16 = raw_model(spec, TensorType::Float16);
  expect_error(f16, spec, o, "other than float32, int8 or uint8");

  tflite::Model twice = good;
  append_detection_postprocess(twice, spec, o);
  twice.outputs.push_back(twice.find_tensor("boxes"));
  twice.outputs.push_back(twice.find_tensor("scores"));
  expect_error(twice, spec, o, "appended twice");
}

// ---- numerics against TFLite's kernel (LiteRT.js) -------------------------

struct Object {
  int cls;
  float cx, cy, w, h;  // normalized
};

float iou_cxcywh(const float* a, const Object& o) {
  const float b1[4] = {a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2};
  const float b2[4] = {o.cx - o.w / 2, o.cy - o.h / 2, o.cx + o.w / 2, o.cy + o.h / 2};
  return box_iou(b1, b2);
}

// Raw network outputs for `spec`: anchors overlapping an object score its
// class high and encode a jittered copy of its box; everything else gets
// random offsets and background-like scores.
struct RawOutputs {
  std::vector<float> boxes, scores;
};
RawOutputs synth_outputs(const DetectorSpec& spec, const std::vector<Object>& objects,
                         uint32_t seed) {
  const std::vector<float> anchors = generate_anchors(spec.anchors, spec.input.width,
                                                     spec.input.height);
  const size_t A = anchors.size() / 4, C = spec.labels.size();
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  RawOutputs r;
  r.boxes.resize(A * 4);
  r.scores.resize(A * C);
  const bool probs = spec.activation == ScoreActivation::None;
  for (size_t a = 0; a < A; ++a) {
    for (int k = 0; k < 4; ++k) r.boxes[a * 4 + k] = 0.7f * n01(rng);
    for (size_t c = 0; c < C; ++c) {
      float v = probs ? 0.4f * u01(rng) : n01(rng) - 4.f;
      if (static_cast<int>(c) == spec.background) v = 3.f;
      r.scores[a * C + c] = v;
    }
    const float* an = &anchors[a * 4];
    for (const Object& o : objects) {
      const float iou = iou_cxcywh(an, o);
      if (iou < 0.35f) continue;
      const float cv = spec.coder.center_variance, sv = spec.coder.size_variance;
      r.boxes[a * 4 + 0] = (o.cx - an[0]) / (an[2] * cv) + 0.3f * n01(rng);
      r.boxes[a * 4 + 1] = (o.cy - an[1]) / (an[3] * cv) + 0.3f * n01(rng);
      r.boxes[a * 4 + 2] = std::log(o.w / an[2]) / sv + 0.2f * n01(rng);
      r.boxes[a * 4 + 3] = std::log(o.h / an[3]) / sv + 0.2f * n01(rng);
      r.scores[a * C + static_cast<size_t>(o.cls)] =
          probs ? std::min(0.99f, 0.5f + iou * 0.6f + 0.05f * n01(rng)) : 4.f + 3.f * iou + 0.3f * n01(rng);
    }
  }
  return r;
}

const std::vector<Object> kObjects = {
    {1, 0.30f, 0.35f, 0.25f, 0.30f}, {1, 0.42f, 0.40f, 0.25f, 0.30f},  // same class, IoU ~0.28
    {2, 0.70f, 0.60f, 0.20f, 0.25f}, {3, 0.72f, 0.62f, 0.20f, 0.25f},  // two classes, IoU ~0.7
    {3, 0.50f, 0.80f, 0.15f, 0.15f}, {2, 0.15f, 0.75f, 0.12f, 0.20f},
};

std::string work_dir(const std::string& name) {
  return std::string(VEDGE_TEST_WORK_DIR) + "/tflite_postprocess/" + name;
}

struct TfliteDetections {
  std::vector<Detection> dets;  // class_id = TFLite class + (background 0 ? 1 : 0)
  int count = -1;
};

// Runs `m` (already post-processed) in LiteRT.js; boxes mapped with `tf`.
TfliteDetections run_postprocessed(const tflite::Model& m, const DetectorSpec& spec,
                                   const std::vector<std::pair<std::string, Tensor>>& inputs,
                                   const BoxTransform& tf, const std::string& name) {
  const std::string dir = work_dir(name);
  fs::create_directories(dir);
  const std::string path = dir + "/model.tflite";
  tflite::write_file(m, path);
  const test::LitertRun run = test::run_litert(path, inputs, dir);
  TfliteDetections out;
  if (!run.ok) return out;
  EXPECT_NE(std::find(run.custom_ops.begin(), run.custom_ops.end(),
                      "TFLite_Detection_PostProcess"),
            run.custom_ops.end());
  if (run.outputs.size() != 4) {
    ADD_FAILURE() << "LiteRT gave " << run.outputs.size() << " outputs";
    return out;
  }
  for (const auto& o : run.outputs) EXPECT_EQ(o.io.type, "float32") << o.io.name;
  EXPECT_EQ(run.outputs[0].io.name, "detection_boxes");
  EXPECT_EQ(run.outputs[3].io.name, "num_detections");
  const float* boxes = run.outputs[0].value.data<float>();
  const float* classes = run.outputs[1].value.data<float>();
  const float* scores = run.outputs[2].value.data<float>();
  out.count = static_cast<int>(run.outputs[3].value.data<float>()[0]);
  for (int i = 0; i < out.count; ++i) {
    Detection d;
    d.class_id = static_cast<int>(classes[i]) + (spec.background == 0 ? 1 : 0);
    d.score = scores[i];
    const float* b = boxes + i * 4;  // ymin, xmin, ymax, xmax
    d.bbox[0] = b[1];
    d.bbox[1] = b[0];
    d.bbox[2] = b[3];
    d.bbox[3] = b[2];
    tf.apply(d.bbox);
    out.dets.push_back(d);
  }
  return out;
}

// Every reference detection has a TFLite twin (same class, score within
// 1e-5, IoU >= 0.99) and the counts agree.
void expect_same_detections(const std::vector<Detection>& ref, const TfliteDetections& got,
                            float score_tol = 1e-5f) {
  auto list = [](const std::vector<Detection>& v) {
    std::string s;
    for (const Detection& d : v)
      s += "\n  class " + std::to_string(d.class_id) + " score " + std::to_string(d.score) +
           " box " + std::to_string(d.bbox[0]) + "," + std::to_string(d.bbox[1]) + "," +
           std::to_string(d.bbox[2]) + "," + std::to_string(d.bbox[3]);
    return s;
  };
  ASSERT_EQ(got.count, static_cast<int>(ref.size()))
      << "ours:" << list(ref) << "\nTFLite:" << list(got.dets);
  std::vector<bool> used(got.dets.size(), false);
  for (const Detection& r : ref) {
    int match = -1;
    for (size_t i = 0; i < got.dets.size() && match < 0; ++i)
      if (!used[i] && got.dets[i].class_id == r.class_id &&
          std::fabs(got.dets[i].score - r.score) <= score_tol &&
          box_iou(got.dets[i].bbox, r.bbox) >= 0.99f)
        match = static_cast<int>(i);
    EXPECT_GE(match, 0) << "no TFLite detection for class " << r.class_id << " score " << r.score
                        << " box " << r.bbox[0] << "," << r.bbox[1] << "," << r.bbox[2] << ","
                        << r.bbox[3];
    if (match >= 0) used[static_cast<size_t>(match)] = true;
  }
}

// Network input pixels, no resize: postprocess_detections clips to them.
BoxTransform input_pixels(const DetectorSpec& spec) {
  BoxTransform tf;
  tf.scale_x = static_cast<float>(spec.input.width);
  tf.scale_y = static_cast<float>(spec.input.height);
  tf.image_width = spec.input.width;
  tf.image_height = spec.input.height;
  return tf;
}

std::vector<Detection> reference(const DetectorSpec& spec, const RawOutputs& r) {
  PostprocessScratch scratch;
  const std::vector<float> anchors =
      generate_anchors(spec.anchors, spec.input.width, spec.input.height);
  return postprocess_detections(spec, anchors, r.boxes.data(), r.scores.data(),
                                num_anchors(spec), static_cast<int>(spec.labels.size()),
                                input_pixels(spec), spec.thresholds, scratch);
}

void check_against_litert(const DetectorSpec& spec, const RawOutputs& r, const std::string& name,
                          size_t min_detections) {
  const std::vector<Detection> ref = reference(spec, r);
  ASSERT_GE(ref.size(), min_detections) << "the test data should give detections";
  tflite::Model m = raw_model(spec);
  append_detection_postprocess(m, spec, postprocess_options_from_spec(spec));
  const int64_t A = num_anchors(spec), C = static_cast<int64_t>(spec.labels.size());
  const TfliteDetections got =
      run_postprocessed(m, spec,
                        {{"boxes", Tensor::from_floats({1, A, 4}, r.boxes)},
                         {"scores", Tensor::from_floats({1, A, C}, r.scores)}},
                        input_pixels(spec), name);
  expect_same_detections(ref, got);
}

TEST(TflitePostprocessLitert, RegularNmsSoftmaxMatchesOurPostprocessing) {
  if (!test::litert_available()) return;
  const DetectorSpec spec = make_spec("softmax", true, 0.5f, 0.45f, 20);
  const RawOutputs r = synth_outputs(spec, kObjects, 7);
  check_against_litert(spec, r, "regular_softmax", 6);
}

TEST(TflitePostprocessLitert, MaxDetectionsCutsTheSameBoxes) {
  if (!test::litert_available()) return;
  const DetectorSpec spec = make_spec("softmax", true, 0.5f, 0.45f, 4);
  const RawOutputs r = synth_outputs(spec, kObjects, 7);
  check_against_litert(spec, r, "max_detections", 4);
}

TEST(TflitePostprocessLitert, ClassAgnosticFastNmsMatchesOurs) {
  if (!test::litert_available()) return;
  const DetectorSpec spec = make_spec("softmax", true, 0.5f, 0.45f, 20, /*class_agnostic=*/true);
  const RawOutputs r = synth_outputs(spec, kObjects, 11);
  // Objects 3 and 4 (classes 2 and 3, IoU ~0.7) leave one detection here.
  const std::vector<Detection> ref = reference(spec, r);
  const DetectorSpec per_class = make_spec("softmax", true, 0.5f, 0.45f, 20);
  EXPECT_LT(ref.size(), reference(per_class, r).size());
  check_against_litert(spec, r, "agnostic", 5);
}

TEST(TflitePostprocessLitert, SigmoidScoresMatchOurs) {
  if (!test::litert_available()) return;
  const DetectorSpec spec = make_spec("sigmoid", true, 0.6f, 0.5f, 20);
  const RawOutputs r = synth_outputs(spec, kObjects, 5);
  check_against_litert(spec, r, "sigmoid", 6);
}

TEST(TflitePostprocessLitert, ScoreAtTheThresholdIsDroppedAsOurs) {
  if (!test::litert_available()) return;
  // Probabilities as given, no background column (UltraFace-like).
  const DetectorSpec spec = make_spec("none", false, 0.5f, 0.45f, 20);
  const std::vector<Object> objects = {{0, 0.3f, 0.4f, 0.3f, 0.3f}, {1, 0.7f, 0.6f, 0.2f, 0.3f}};
  RawOutputs r = synth_outputs(spec, objects, 3);
  // Two isolated anchors far from the objects: one exactly at the threshold
  // (kept by ">=", dropped by our ">"), one just above it.
  const size_t at = 0, above = 19 * 6;  // cells (0,0) and (19,0) of the 20x15 map
  r.scores[at * 2 + 1] = 0.5f;
  r.scores[above * 2 + 1] = std::nextafter(0.5f, 1.f);
  const std::vector<Detection> ref = reference(spec, r);
  bool has_above = false;
  for (const Detection& d : ref) {
    EXPECT_NE(d.score, 0.5f);
    has_above |= d.score == std::nextafter(0.5f, 1.f);
  }
  EXPECT_TRUE(has_above);
  check_against_litert(spec, r, "threshold", 3);
}

TEST(TflitePostprocessLitert, Int8OutputsAreDequantizedBeforeTheOp) {
  if (!test::litert_available()) return;
  const DetectorSpec spec = make_spec("softmax", true, 0.5f, 0.45f, 20);
  const RawOutputs f = synth_outputs(spec, kObjects, 7);
  tflite::Quantization bq, sq;
  bq.scale = {0.06f};
  bq.zero_point = {0};
  sq.scale = {0.05f};
  sq.zero_point = {-20};
  const int64_t A = num_anchors(spec), C = 4;
  auto quantize = [](const std::vector<float>& v, const tflite::Quantization& q, Tensor& t,
                     std::vector<float>& deq) {
    int8_t* p = t.data<int8_t>();
    deq.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const float x = std::nearbyint(v[i] / q.scale[0]) + static_cast<float>(q.zero_point[0]);
      p[i] = static_cast<int8_t>(std::clamp(x, -128.f, 127.f));
      deq[i] = q.scale[0] * static_cast<float>(p[i] - q.zero_point[0]);
    }
  };
  Tensor bt(DType::I8, {1, A, 4}), st(DType::I8, {1, A, C});
  RawOutputs deq;
  quantize(f.boxes, bq, bt, deq.boxes);
  quantize(f.scores, sq, st, deq.scores);
  const std::vector<Detection> ref = reference(spec, deq);
  ASSERT_GE(ref.size(), 6u);
  tflite::Model m = raw_model(spec, TensorType::Int8, bq, sq);
  append_detection_postprocess(m, spec, postprocess_options_from_spec(spec));
  const TfliteDetections got =
      run_postprocessed(m, spec, {{"boxes", bt}, {"scores", st}}, input_pixels(spec), "int8");
  expect_same_detections(ref, got);
}

// ---- the demo architecture end to end --------------------------------------

// A score threshold in the widest gap between consecutive candidate scores
// (ranks 8..40 of every non-background softmax probability), so that the
// ~1e-5 difference between our runtime's and LiteRT's network outputs
// cannot move a candidate across it.
float threshold_in_a_gap(Session& s, const DetectorSpec& spec, int64_t A, int C) {
  const float* logits = static_cast<const float*>(s.output_data(s.output_index(spec.scores_output)));
  std::vector<float> probs;
  for (int64_t a = 0; a < A; ++a) {
    const float* row = logits + a * C;
    const float mx = *std::max_element(row, row + C);
    double sum = 0;
    for (int c = 0; c < C; ++c) sum += std::exp(static_cast<double>(row[c] - mx));
    for (int c = 0; c < C; ++c)
      if (c != spec.background)
        probs.push_back(static_cast<float>(std::exp(static_cast<double>(row[c] - mx)) / sum));
  }
  std::sort(probs.rbegin(), probs.rend());
  size_t best = 8;
  for (size_t i = 8; i < 40 && i + 1 < probs.size(); ++i)
    if (probs[i] - probs[i + 1] > probs[best] - probs[best + 1]) best = i;
  return 0.5f * (probs[best] + probs[best + 1]);
}

TEST(TflitePostprocessModel, DemoArchitectureMatchesDetectorDetect) {
  const std::string model =
      std::string(VEDGE_TEST_WORK_DIR) + "/models/ssdlite320_mobilenet_v3_small_2fm_op17.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " is absent (the export_test_models fixture makes it)";
  if (!test::litert_available()) return;
  // One synthetic shapes image, not square (the stretch resize maps x and y differently).
  ShapesConfig cfg;
  cfg.num_images = 1;
  cfg.width = 400;
  cfg.height = 300;
  cfg.seed = 5;
  cfg.image_ext = ".png";
  cfg.threads = 1;
  const Dataset data = generate_shapes(cfg, work_dir("demo"), "image");
  const Image img = decode_image_file(image_path(data, data.images.at(0)));

  Detector det(model);
  const DetectorSpec& spec = det.spec();
  DetectOptions all;
  all.score_threshold = 0.f;
  det.detect(img, all);  // fills the session's raw outputs
  // NMS off (IoU > 1 never holds): this random-weight network's boxes stick
  // far out of the image, where the documented difference (we compare boxes
  // clipped to the image, TFLite the unclipped ones) changes suppression.
  // NMS itself is compared above on boxes inside the image.
  DetectOptions opt;
  opt.score_threshold = threshold_in_a_gap(det.session(), spec, det.num_anchors(), det.num_classes());
  opt.iou_threshold = 1.f;
  const std::vector<Detection> ref = det.detect(img, opt);
  ASSERT_GE(ref.size(), 3u) << "threshold " << *opt.score_threshold;

  tflite::Model m = graph_to_tflite(import_onnx_file(model));
  TflitePostprocessOptions po = postprocess_options_from_spec(spec);
  po.score_threshold = *opt.score_threshold;
  po.iou_threshold = 1.f;
  append_detection_postprocess(m, spec, po);
  Preprocessor pre(spec.input);
  std::vector<float> x(static_cast<size_t>(3 * spec.input.width * spec.input.height));
  const BoxTransform tf = pre.run(img, x.data(), /*nhwc=*/true);
  const Tensor input = Tensor::from_floats({1, spec.input.height, spec.input.width, 3}, x);
  const TfliteDetections got = run_postprocessed(m, spec, {{spec.input.name, input}}, tf, "demo");
  expect_same_detections(ref, got, /*score_tol=*/1e-4f);
}

}  // namespace
}  // namespace vedge

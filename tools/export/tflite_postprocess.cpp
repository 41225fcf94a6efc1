// tflite_postprocess.cpp: appends TFLite_Detection_PostProcess (and the
// float ops that feed it) to a converted detector; see tflite_postprocess.h.
// Depends on tflite_model.h, runtime/ (spec, anchors, error), FlexBuffers and
// nlohmann/json; not on the writer, the converter or any TFLite runtime.
#include "tools/export/tflite_postprocess.h"

#include <cmath>
#include <cstring>
#include <string>

#include <flatbuffers/flexbuffers.h>
#include <nlohmann/json.hpp>

#include "runtime/anchors.h"
#include "runtime/error.h"

namespace vedge {

namespace {

using tflite::Model;
using tflite::Op;
using tflite::Operator;
using tflite::Tensor;
using tflite::TensorType;

constexpr const char* kWhere = "TFLite post-processing: ";

template <class T>
std::vector<uint8_t> to_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::string shape_str(const std::vector<int32_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// The model output named `name` (it must be one of m.outputs).
int32_t find_output(const Model& m, const std::string& name, const char* role) {
  const int32_t t = m.find_tensor(name);
  VEDGE_CHECK(t >= 0, kWhere, "the model has no ", role, " tensor '", name, "'");
  bool is_output = false;
  for (int32_t o : m.outputs) is_output |= (o == t);
  VEDGE_CHECK(is_output, kWhere, "the ", role, " tensor '", name, "' is not a model output");
  return t;
}

int32_t add_activation(Model& m, const std::string& name, std::vector<int32_t> shape,
                       TensorType type = TensorType::Float32) {
  Tensor t;
  t.name = name;
  t.type = type;
  t.shape = std::move(shape);
  return m.add_tensor(std::move(t));
}

int32_t add_float_constant(Model& m, const std::string& name, std::vector<int32_t> shape,
                           const std::vector<float>& values) {
  return m.add_constant(name, TensorType::Float32, std::move(shape), to_bytes(values));
}

void add_op(Model& m, Op op, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
            tflite::OpOptions options = {}) {
  Operator o;
  o.op = op;
  o.inputs = std::move(inputs);
  o.outputs = std::move(outputs);
  o.options = std::move(options);
  m.operators.push_back(std::move(o));
}

// A float view of tensor `t`: t itself, or a DEQUANTIZE of an int8/uint8 one.
int32_t as_float(Model& m, int32_t t, const std::string& name) {
  const Tensor& src = m.tensors[static_cast<size_t>(t)];
  if (src.type == TensorType::Float32) return t;
  VEDGE_CHECK(src.type == TensorType::Int8 || src.type == TensorType::UInt8, kWhere, "output '",
              src.name, "' has a type other than float32, int8 or uint8");
  VEDGE_CHECK(src.quant.scale.size() == 1, kWhere, "integer output '", src.name,
              "' needs one (per-tensor) scale and zero point");
  const std::vector<int32_t> shape = src.shape;
  const int32_t out = add_activation(m, name, shape);
  add_op(m, Op::Dequantize, {t}, {out});
  return out;
}

TflitePostprocessOptions resolve(const DetectorSpec& spec, TflitePostprocessOptions o) {
  if (std::isnan(o.score_threshold)) o.score_threshold = spec.thresholds.score;
  if (std::isnan(o.iou_threshold)) o.iou_threshold = spec.thresholds.iou;
  VEDGE_CHECK(std::isfinite(o.score_threshold), kWhere, "score threshold ", o.score_threshold,
              " is not finite");
  VEDGE_CHECK(o.iou_threshold > 0.f && o.iou_threshold <= 1.f, kWhere, "IoU threshold ",
              o.iou_threshold, " is outside (0, 1] (TFLite_Detection_PostProcess rejects it)");
  VEDGE_CHECK(o.max_detections >= 1, kWhere, "max_detections ", o.max_detections, " < 1");
  VEDGE_CHECK(o.max_classes_per_detection >= 1, kWhere, "max_classes_per_detection ",
              o.max_classes_per_detection, " < 1");
  VEDGE_CHECK(o.detections_per_class >= 1, kWhere, "detections_per_class ",
              o.detections_per_class, " < 1");
  // Regular NMS ignores max_classes_per_detection except for sizing the
  // outputs (max_detections * it rows, of which it fills max_detections).
  if (o.use_regular_nms) o.max_classes_per_detection = 1;
  return o;
}

std::vector<uint8_t> custom_options(const DetectorSpec& spec, const TflitePostprocessOptions& o,
                                    int num_classes) {
  flexbuffers::Builder fbb;
  fbb.Map([&]() {
    fbb.Int("max_detections", o.max_detections);
    fbb.Int("max_classes_per_detection", o.max_classes_per_detection);
    fbb.Int("detections_per_class", o.detections_per_class);
    fbb.Bool("use_regular_nms", o.use_regular_nms);
    // TFLite keeps score >= threshold; ours is score > threshold.
    fbb.Float("nms_score_threshold",
              std::nextafter(o.score_threshold, std::numeric_limits<float>::infinity()));
    fbb.Float("nms_iou_threshold", o.iou_threshold);
    fbb.Int("num_classes", num_classes);
    fbb.Float("y_scale", 1.f / spec.coder.center_variance);
    fbb.Float("x_scale", 1.f / spec.coder.center_variance);
    fbb.Float("h_scale", 1.f / spec.coder.size_variance);
    fbb.Float("w_scale", 1.f / spec.coder.size_variance);
  });
  fbb.Finish();
  return fbb.GetBuffer();
}

void mark_postprocess_metadata(Model& m) {
  auto it = m.metadata.find("vedge.tflite");
  if (it == m.metadata.end()) return;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(it->second, nullptr, false);
  VEDGE_CHECK(j.is_object(), kWhere, "metadata vedge.tflite is not a JSON object");
  j["postprocess"] = true;
  it->second = j.dump();
}

}  // namespace

TflitePostprocessOptions postprocess_options_from_spec(const DetectorSpec& spec) {
  TflitePostprocessOptions o;
  o.max_detections = spec.thresholds.max_detections;
  o.detections_per_class = spec.thresholds.max_detections;
  o.max_classes_per_detection = 1;
  o.use_regular_nms = !spec.thresholds.class_agnostic;
  o.score_threshold = spec.thresholds.score;
  o.iou_threshold = spec.thresholds.iou;
  return o;
}

void append_detection_postprocess(Model& m, const DetectorSpec& spec,
                                  const TflitePostprocessOptions& options) {
  const TflitePostprocessOptions opt = resolve(spec, options);
  for (const char* name : {"detection_boxes", "detection_classes", "detection_scores",
                           "num_detections"})
    VEDGE_CHECK(m.find_tensor(name) < 0, kWhere, "the model already has a tensor '", name,
                "' (post-processing appended twice?)");
  for (const Operator& o : m.operators)
    VEDGE_CHECK(!(o.op == Op::Custom && o.custom_code == kTfliteDetectionPostprocessOp), kWhere,
                "the model already has a ", kTfliteDetectionPostprocessOp, " op");

  // Check the outputs against the spec.
  const int32_t boxes = find_output(m, spec.boxes_output, "boxes");
  const int32_t scores = find_output(m, spec.scores_output, "scores");
  const std::vector<int32_t> bshape = m.tensors[static_cast<size_t>(boxes)].shape;
  const std::vector<int32_t> sshape = m.tensors[static_cast<size_t>(scores)].shape;
  VEDGE_CHECK(bshape.size() == 3 && bshape[0] == 1 && bshape[1] > 0 && bshape[2] == 4, kWhere,
              "boxes output '", spec.boxes_output, "' is ", shape_str(bshape),
              ", expected [1,A,4]");
  const int32_t A = bshape[1];
  VEDGE_CHECK(sshape.size() == 3 && sshape[0] == 1 && sshape[1] == A && sshape[2] > 0, kWhere,
              "scores output '", spec.scores_output, "' is ", shape_str(sshape), ", expected [1,",
              A, ",C]");
  const int32_t C = sshape[2];
  VEDGE_CHECK(static_cast<size_t>(C) == spec.labels.size(), kWhere, "the spec has ",
              spec.labels.size(), " labels but scores output '", spec.scores_output, "' has ", C,
              " columns");
  VEDGE_CHECK(spec.background == 0 || spec.background == -1, kWhere, "background column ",
              spec.background,
              ": TFLite_Detection_PostProcess takes the background only as column 0 (or none)");
  const int num_classes = C - (spec.background == 0 ? 1 : 0);
  VEDGE_CHECK(num_classes >= 1, kWhere, "no class besides the background");
  VEDGE_CHECK(opt.use_regular_nms || opt.max_classes_per_detection <= num_classes, kWhere,
              "max_classes_per_detection ", opt.max_classes_per_detection, " > ", num_classes,
              " classes");
  const std::vector<float> anchors =
      generate_anchors(spec.anchors, spec.input.width, spec.input.height);
  VEDGE_CHECK(anchors.size() == static_cast<size_t>(A) * 4, kWhere, "the anchor spec gives ",
              anchors.size() / 4, " anchors but boxes output '", spec.boxes_output, "' has ", A);

  // Box encodings: float, (dx,dy,dw,dh) -> (ty,tx,th,tw), our clamp on th/tw.
  const int32_t boxes_f = as_float(m, boxes, "postprocess/boxes_float");
  const int32_t order = m.add_constant("postprocess/yxhw_order", TensorType::Int32, {4},
                                       to_bytes(std::vector<int32_t>{1, 0, 3, 2}));
  const int32_t encodings = add_activation(m, "postprocess/box_encodings_unclamped", {1, A, 4});
  tflite::OpOptions gather;
  gather.axis = 2;
  add_op(m, Op::Gather, {boxes_f, order}, {encodings}, gather);
  const float big = std::numeric_limits<float>::max();
  const float size_max = std::fmin(spec.coder.clamp / spec.coder.size_variance, big);
  const int32_t limits = add_float_constant(m, "postprocess/encoding_max", {4},
                                            {big, big, size_max, size_max});
  const int32_t clamped = add_activation(m, "postprocess/box_encodings", {1, A, 4});
  add_op(m, Op::Minimum, {encodings, limits}, {clamped});

  // Class predictions: float probabilities.
  int32_t probs = as_float(m, scores, "postprocess/scores_float");
  if (spec.activation != ScoreActivation::None) {
    const int32_t p = add_activation(m, "postprocess/class_predictions", {1, A, C});
    if (spec.activation == ScoreActivation::Softmax) {
      tflite::OpOptions softmax;
      softmax.beta = 1.f;
      add_op(m, Op::Softmax, {probs}, {p}, softmax);
    } else {
      add_op(m, Op::Logistic, {probs}, {p});
    }
    probs = p;
  }

  // Anchors (cx,cy,w,h) -> (ycenter,xcenter,h,w).
  std::vector<float> yxhw(anchors.size());
  for (size_t a = 0; a < anchors.size(); a += 4) {
    yxhw[a + 0] = anchors[a + 1];
    yxhw[a + 1] = anchors[a + 0];
    yxhw[a + 2] = anchors[a + 3];
    yxhw[a + 3] = anchors[a + 2];
  }
  const int32_t anchor_t = add_float_constant(m, "postprocess/anchors", {A, 4}, yxhw);

  const int32_t M = opt.max_detections * opt.max_classes_per_detection;
  const int32_t raw_boxes = add_activation(m, "postprocess/detection_boxes_unclipped", {1, M, 4});
  const int32_t classes = add_activation(m, "detection_classes", {1, M});
  const int32_t det_scores = add_activation(m, "detection_scores", {1, M});
  const int32_t count = add_activation(m, "num_detections", {1});
  Operator nms;
  nms.op = Op::Custom;
  nms.custom_code = kTfliteDetectionPostprocessOp;
  nms.inputs = {clamped, probs, anchor_t};
  nms.outputs = {raw_boxes, classes, det_scores, count};
  nms.custom_options = custom_options(spec, opt, num_classes);
  m.operators.push_back(std::move(nms));

  // Boxes clipped to the network input, as ours are clipped to the image.
  const int32_t one = add_float_constant(m, "postprocess/one", {1}, {1.f});
  const int32_t zero = add_float_constant(m, "postprocess/zero", {1}, {0.f});
  const int32_t below_one = add_activation(m, "postprocess/detection_boxes_max1", {1, M, 4});
  add_op(m, Op::Minimum, {raw_boxes, one}, {below_one});
  const int32_t det_boxes = add_activation(m, "detection_boxes", {1, M, 4});
  add_op(m, Op::Maximum, {below_one, zero}, {det_boxes});

  std::vector<int32_t> outputs;
  for (int32_t o : m.outputs)
    if (o != boxes && o != scores) outputs.push_back(o);
  for (int32_t o : {det_boxes, classes, det_scores, count}) outputs.push_back(o);
  m.outputs = std::move(outputs);
  mark_postprocess_metadata(m);
}

}  // namespace vedge

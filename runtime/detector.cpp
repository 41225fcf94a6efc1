// detector.cpp: Detector and post-processing (see detector.h).
// Depends on runtime/ headers and nlohmann/json only.
#include "runtime/detector.h"

#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/onnx_import.h"

namespace vedge {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

DetectThresholds resolve_thresholds(const DetectThresholds& d, const DetectOptions& o) {
  DetectThresholds t = d;
  if (o.score_threshold) t.score = *o.score_threshold;
  if (o.iou_threshold) t.iou = *o.iou_threshold;
  if (o.max_detections) t.max_detections = *o.max_detections;
  if (o.top_k) t.top_k = *o.top_k;
  if (o.class_agnostic) t.class_agnostic = *o.class_agnostic;
  VEDGE_CHECK(t.score >= 0 && t.score < 1, "score threshold ", t.score, " is outside [0, 1)");
  VEDGE_CHECK(t.iou > 0 && t.iou <= 1, "IoU threshold ", t.iou, " is outside (0, 1]");
  VEDGE_CHECK(t.max_detections > 0, "max detections must be positive, got ", t.max_detections);
  VEDGE_CHECK(t.top_k > 0, "top-k must be positive, got ", t.top_k);
  return t;
}

std::vector<Detection> postprocess_detections(const DetectorSpec& spec,
                                              const std::vector<float>& anchors,
                                              const float* boxes, const float* scores,
                                              int64_t num_anchors, int num_classes,
                                              const BoxTransform& to_pixels,
                                              const DetectThresholds& th,
                                              PostprocessScratch& s, StageTimes* times) {
  VEDGE_CHECK(static_cast<int64_t>(anchors.size()) == num_anchors * 4, "postprocess: ",
              anchors.size() / 4, " anchors for ", num_anchors, " box rows");
  const auto t0 = Clock::now();
  ScoreFilter f;
  f.activation = spec.activation;
  f.background = spec.background;
  f.threshold = th.score;
  f.top_k = th.top_k;
  f.per_class_top_k = !th.class_agnostic;
  select_candidates(scores, num_anchors, num_classes, f, s.candidates, &s.select, /*sort=*/false);
  const auto t1 = Clock::now();
  NmsOptions n;
  n.iou_threshold = th.iou;
  n.max_detections = th.max_detections;
  n.class_agnostic = th.class_agnostic;
  const BoxCoder& coder = spec.coder;
  nms_lazy(
      s.candidates, n,
      [&](Candidate& c) {
        const size_t a = static_cast<size_t>(c.anchor) * 4;
        coder.decode(boxes + a, anchors.data() + a, c.box);
        to_pixels.apply(c.box);
      },
      s.kept, s.nms);
  std::vector<Detection> out;
  out.reserve(s.kept.size());
  for (const Candidate& c : s.kept) {
    Detection d;
    d.class_id = c.class_id;
    d.label = c.class_id < static_cast<int>(spec.labels.size()) ? spec.labels[c.class_id]
                                                                 : std::to_string(c.class_id);
    d.score = c.score;
    for (int i = 0; i < 4; ++i) d.bbox[i] = c.box[i];
    out.push_back(std::move(d));
  }
  if (times) {
    times->decode_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    times->nms_ms = ms_since(t1);
  }
  return out;
}

Detector::Detector() = default;
Detector::~Detector() = default;

Detector::Detector(const std::string& model_path, const std::string& spec_path,
                   const SessionOptions& opt) {
  load(model_path, spec_path, opt);
}

void Detector::load(const std::string& model_path, const std::string& spec_path,
                    const SessionOptions& opt) {
  load(import_onnx_file(model_path), model_path, spec_path, opt);
}

void Detector::load(Graph g, const std::string& model_path, const std::string& spec_path,
                    const SessionOptions& opt) {
  DetectorSpec spec = resolve_detector_spec(model_path, g.metadata, spec_path);
  const DetectorShapes shapes = validate_detector_spec(spec, g);
  std::vector<float> anchors = generate_anchors(spec.anchors, spec.input.width, spec.input.height);
  auto session = std::make_unique<Session>(std::move(g), opt);
  input_ = session->input_index(spec.input.name);
  boxes_ = session->output_index(spec.boxes_output);
  scores_ = session->output_index(spec.scores_output);
  VEDGE_CHECK(input_ >= 0 && boxes_ >= 0 && scores_ >= 0, model_path,
              ": the session lost the detector's input or outputs");
  pre_ = std::make_unique<Preprocessor>(spec.input);
  model_path_ = model_path;
  spec_ = std::move(spec);
  anchors_ = std::move(anchors);
  num_anchors_ = shapes.num_anchors;
  num_classes_ = shapes.num_classes;
  session_ = std::move(session);
}

Session& Detector::session() {
  VEDGE_CHECK(session_, "detector: no model loaded");
  return *session_;
}

std::vector<Detection> Detector::detect(const Image& img, const DetectOptions& opt,
                                        StageTimes* times) {
  VEDGE_CHECK(session_, "detector: no model loaded");
  const DetectThresholds th = resolve_thresholds(spec_.thresholds, opt);
  auto t = Clock::now();
  const BoxTransform tf = pre_->run(img, static_cast<float*>(session_->input_data(input_)),
                                    session_->input_is_nhwc(input_));
  if (times) times->preprocess_ms = ms_since(t);
  t = Clock::now();
  session_->run();
  if (times) times->inference_ms = ms_since(t);
  return postprocess_detections(spec_, anchors_,
                                static_cast<const float*>(session_->output_data(boxes_)),
                                static_cast<const float*>(session_->output_data(scores_)),
                                num_anchors_, num_classes_, tf, th, scratch_, times);
}

std::string detections_to_json(const std::vector<Detection>& dets, int indent) {
  auto round_to = [](float v, double per_unit) {
    return std::round(static_cast<double>(v) * per_unit) / per_unit;
  };
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const Detection& d : dets) {
    nlohmann::ordered_json box = nlohmann::ordered_json::array();
    for (float v : d.bbox) box.push_back(round_to(v, 100));
    a.push_back({{"label", d.label}, {"score", round_to(d.score, 1e6)}, {"bbox", box}});
  }
  return a.dump(indent);
}

}  // namespace vedge

// detector.h: an SSD-style detector end to end: image -> preprocessing
// (straight into the Session's input buffer) -> network -> score filter,
// top-k, box decoding of the survivors, NMS -> detections in original-image
// pixels. The spec comes from the model's metadata, a sidecar or a file
// (detector_spec.h). One Detector is not thread-safe (one Session inside).
// Depends on runtime/ only (onnx_import.h, executor.h, preprocess.h,
// anchors.h, box_coder.h, nms.h, detector_spec.h); no LibTorch, no OpenCV.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/detector_spec.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "runtime/nms.h"
#include "runtime/preprocess.h"

namespace vedge {

struct Detection {
  int class_id = 0;
  std::string label;
  float score = 0;
  float bbox[4] = {0, 0, 0, 0};  // x1, y1, x2, y2 in original-image pixels
};

// decode_ms: score activation, threshold and top-k of the candidates;
// nms_ms: box decoding of the candidates NMS visits (best first) and the
// suppression itself (nms_lazy decodes lazily, so the two share a loop).
struct StageTimes {
  double preprocess_ms = 0, inference_ms = 0, decode_ms = 0, nms_ms = 0;
  double total_ms() const { return preprocess_ms + inference_ms + decode_ms + nms_ms; }
};

// Unset fields take the spec's defaults (DetectorSpec::thresholds).
struct DetectOptions {
  std::optional<float> score_threshold;
  std::optional<float> iou_threshold;
  std::optional<int> max_detections;
  std::optional<int> top_k;
  std::optional<bool> class_agnostic;
};

// Reusable buffers of postprocess_detections().
struct PostprocessScratch {
  std::vector<Candidate> candidates, kept;
  SelectScratch select;
  NmsScratch nms;
};

// Post-processing alone, on raw network outputs: boxes A x 4 SSD offsets,
// scores A x C. Boxes are decoded only for the candidates NMS visits.
// Used by Detector and the benchmarks.
std::vector<Detection> postprocess_detections(const DetectorSpec& spec,
                                              const std::vector<float>& anchors,
                                              const float* boxes, const float* scores,
                                              int64_t num_anchors, int num_classes,
                                              const BoxTransform& to_pixels,
                                              const DetectThresholds& th,
                                              PostprocessScratch& scratch,
                                              StageTimes* times = nullptr);

class Detector {
 public:
  Detector();
  ~Detector();
  // spec_path empty: metadata "vedge.detector", else "<model>.vedge.json".
  Detector(const std::string& model_path, const std::string& spec_path = "",
           const SessionOptions& opt = {});
  void load(const std::string& model_path, const std::string& spec_path = "",
            const SessionOptions& opt = {});
  // The same with the model already imported (`model_path` names it in
  // messages and locates its sidecar spec).
  void load(Graph g, const std::string& model_path, const std::string& spec_path = "",
            const SessionOptions& opt = {});
  bool loaded() const { return session_ != nullptr; }

  std::vector<Detection> detect(const Image& img, const DetectOptions& opt = {},
                                StageTimes* times = nullptr);

  const DetectorSpec& spec() const { return spec_; }
  Session& session();
  const std::vector<float>& anchors() const { return anchors_; }
  int64_t num_anchors() const { return num_anchors_; }
  int num_classes() const { return num_classes_; }
  const std::string& model_path() const { return model_path_; }

 private:
  std::string model_path_;
  DetectorSpec spec_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<Preprocessor> pre_;
  std::vector<float> anchors_;
  int64_t num_anchors_ = 0;
  int num_classes_ = 0;
  int input_ = -1, boxes_ = -1, scores_ = -1;
  PostprocessScratch scratch_;
};

DetectThresholds resolve_thresholds(const DetectThresholds& defaults, const DetectOptions& opt);

// [{"label": "face", "score": 0.98, "bbox": [x1, y1, x2, y2]}, ...] — the
// user-facing contract (bbox rounded to 0.01 px, score to 1e-6).
// indent < 0: one line.
std::string detections_to_json(const std::vector<Detection>& dets, int indent = -1);

}  // namespace vedge

// detector_spec.h: everything a runtime needs to turn a detector network's
// outputs into boxes: labels, preprocessing, output names, score activation,
// anchors, box-coder variances, default thresholds. Parsed from JSON (format
// in docs/detector-spec.md) found, in this order, in an explicit file, the
// ONNX metadata key "vedge.detector", or a sidecar "<model>.vedge.json"
// beside the model. validate_detector_spec() checks it against the graph.
// Depends on graph.h, preprocess.h, anchors.h, box_coder.h, nms.h and
// nlohmann/json (inside the .cpp only).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/anchors.h"
#include "runtime/box_coder.h"
#include "runtime/graph.h"
#include "runtime/nms.h"
#include "runtime/preprocess.h"

namespace vedge {

inline constexpr const char* kDetectorMetadataKey = "vedge.detector";

struct DetectThresholds {
  float score = 0.5f;         // keep score > score
  float iou = 0.5f;           // NMS: suppress IoU > iou
  int max_detections = 100;   // after NMS
  int top_k = 1000;           // before NMS, per class unless class_agnostic
  bool class_agnostic = false;
};

struct DetectorSpec {
  std::vector<std::string> labels;  // one per score column, background included
  int background = 0;               // score column ignored; -1 = none
  InputSpec input;
  std::string boxes_output = "boxes";
  std::string scores_output = "scores";
  ScoreActivation activation = ScoreActivation::Softmax;
  AnchorSpec anchors;
  BoxCoder coder;
  DetectThresholds thresholds;
  std::string source;  // where it came from, used in error messages
};

// `source` names the spec in error messages ("face.vedge.json").
DetectorSpec parse_detector_spec(const std::string& json_text, const std::string& source);
DetectorSpec load_detector_spec_file(const std::string& path);
// Canonical JSON (what exporters put under kDetectorMetadataKey).
std::string detector_spec_to_json(const DetectorSpec& spec);

// "dir/face.onnx" -> "dir/face.vedge.json".
std::string sidecar_path(const std::string& model_path);
// explicit_path (if non-empty) > metadata[kDetectorMetadataKey] > sidecar.
DetectorSpec resolve_detector_spec(const std::string& model_path,
                                   const std::map<std::string, std::string>& metadata,
                                   const std::string& explicit_path = "");

// Checks names, dtypes and shapes against the graph: input [1,3,H,W] float32
// of the spec's size, boxes [1,A,4], scores [1,A,C], A = anchor count,
// C = number of labels. Returns A and C.
struct DetectorShapes {
  int64_t num_anchors = 0;
  int num_classes = 0;
};
DetectorShapes validate_detector_spec(const DetectorSpec& spec, const Graph& g);

}  // namespace vedge

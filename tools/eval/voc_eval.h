// voc_eval.h: Pascal VOC detection AP, as the VOC devkit and voc_eval.py
// define it: per class, detections over all images sorted by score
// (descending; ties keep file order); each takes the ground truth of highest
// IoU in its image; IoU > threshold (0.5, strict) and that box not yet taken
// -> TP, taken or below -> FP; a detection whose best box is "difficult" is
// ignored (neither); difficult boxes are not counted in recall.
// AP is either all-point (VOC2010+: area under the precision envelope) or
// 11-point (VOC2007: mean of the best precision at recall >= 0, 0.1, .., 1).
// Boxes are continuous [x, y, w, h] (no +1 pixel convention). "Difficult" is
// the annotation's ignore flag or iscrowd. Classes without non-difficult
// ground truth get AP -1 and are left out of the mean.
// Depends on data/dataset.h and runtime/error.h only.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/dataset.h"

namespace vedge {

struct VocEvalOptions {
  bool eleven_point = false;  // VOC2007 11-point instead of all-point
  double iou_threshold = 0.5;
};

struct VocClassResult {
  int64_t category_id = 0;
  std::string name;
  int num_gt = 0;   // non-difficult ground truth
  int num_det = 0;
  double ap = -1;   // -1 without ground truth
  std::vector<double> recall, precision;  // after each counted (not ignored) detection
};

struct VocEvalResult {
  VocEvalOptions options;
  double map = -1;                      // mean AP over classes with ground truth
  std::vector<VocClassResult> classes;  // sorted by category id
};

// Throws vedge::Error ("<gt.source>: dataset has no boxes") when gt has no annotations.
VocEvalResult evaluate_voc(const Dataset& gt, const std::vector<EvalDetection>& dets,
                           const VocEvalOptions& options = {});

// AP from a precision/recall curve (recall non-decreasing).
double voc_ap(const std::vector<double>& recall, const std::vector<double>& precision, bool eleven_point);

nlohmann::json voc_eval_to_json(const VocEvalResult& r);

}  // namespace vedge

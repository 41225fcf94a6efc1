// coco_eval.h: COCO box evaluation with pycocotools' exact semantics (the
// reference every detection paper reports against):
//  - IoU thresholds 0.50:0.05:0.95; recall thresholds 0:0.01:1 (101 points);
//  - area ranges all [0, 1e10], small [0, 32^2], medium [32^2, 96^2],
//    large [96^2, 1e10] (bounds inclusive), on the annotation's `area` for
//    ground truth and w * h for detections; maxDets 1, 10, 100;
//  - per image and category, detections sorted by score (stable, descending,
//    at most 100), ground truth with the ignored (crowd or outside the area
//    range) last; each detection takes the unmatched ground truth of best IoU
//    >= threshold, preferring non-ignored ground truth; crowd regions can be
//    matched many times and their IoU divides by the detection's area;
//    detections matched to ignored ground truth, and unmatched detections
//    outside the area range, are ignored (neither TP nor FP);
//  - precision made non-increasing from the right, sampled at each recall
//    threshold with searchsorted('left'), 0 past the highest recall;
//  - categories without non-ignored ground truth are -1 and left out of the
//    means. Only `iscrowd` marks ignored ground truth (pycocotools overwrites
//    an `ignore` field with `iscrowd`).
// Depends on data/dataset.h and runtime/error.h only.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/dataset.h"

namespace vedge {

struct CocoClassResult {
  int64_t category_id = 0;
  std::string name;
  int num_gt = 0;          // non-crowd ground-truth boxes
  int num_det = 0;         // detections of this class
  double ap = -1;          // AP@[.5:.95], area all, 100 dets; -1 without ground truth
  double ap50 = -1;        // AP@0.5
  double ap75 = -1;        // AP@0.75
  double ar100 = -1;       // AR@[.5:.95], 100 dets
  std::vector<double> pr;  // precision at the 101 recall thresholds, IoU 0.5 (empty if ap == -1)
};

struct CocoEvalResult {
  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl; -1 when
  // no category has ground truth in that slice (as pycocotools).
  std::array<double, 12> stats{};
  std::vector<CocoClassResult> classes;  // sorted by category id
  std::vector<double> recall_thresholds;  // the 101 points of `pr`
  int num_images = 0, num_gt = 0, num_det = 0;

  static const std::array<const char*, 12> kStatNames;  // "AP", "AP50", ...
  // The 12 lines in pycocotools' summarize() layout.
  std::string summary() const;
};

// Throws vedge::Error ("<gt.source>: dataset has no boxes") when gt has no
// annotations. Detections must refer to images and categories of gt.
CocoEvalResult evaluate_coco(const Dataset& gt, const std::vector<EvalDetection>& dets);

nlohmann::json coco_eval_to_json(const CocoEvalResult& r);

// IoU of a detection with a ground-truth box as pycocotools computes it:
// for a crowd region the union is the detection's area alone.
double coco_iou(const BoxXYWH& det, const BoxXYWH& gt, bool gt_is_crowd);

}  // namespace vedge

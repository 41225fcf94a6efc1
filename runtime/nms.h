// nms.h: SSD post-processing after the network: score activation and
// threshold, top-k, and greedy non-maximum suppression.
//   1. select_candidates(): one pass over the [A, C] score matrix keeps the
//      (anchor, class) pairs above the threshold (softmax/sigmoid are only
//      evaluated where a cheap bound says the threshold can be passed), then
//      keeps the top_k best (per class or overall) with nth_element and sorts
//      only those survivors.
//   2. the caller decodes the survivors' boxes (box_coder.h),
//   3. nms(): greedy suppression, each candidate is compared only with the
//      boxes already kept (at most max_detections), per class or across
//      classes. Never O(A^2).
// Depends on the standard library only.
#pragma once

#include <cstdint>
#include <vector>

namespace vedge {

enum class ScoreActivation { None, Softmax, Sigmoid };

struct Candidate {
  float score = 0;
  int32_t anchor = 0;
  int32_t class_id = 0;
  float box[4] = {0, 0, 0, 0};  // x1, y1, x2, y2 (filled by the caller)
};

struct ScoreFilter {
  ScoreActivation activation = ScoreActivation::Softmax;
  int background = 0;       // class index skipped; -1 = none
  float threshold = 0.5f;   // keep score > threshold
  int top_k = 1000;         // candidates kept before NMS (<= 0: no limit)
  bool per_class_top_k = true;  // top_k per class (torchvision) or overall
};

// scores: num_anchors x num_classes, row-major. `out` is cleared and filled
// sorted by descending score (ties: lower anchor, then lower class first).
// Pass the same `scratch` between calls to avoid allocation.
struct SelectScratch {
  std::vector<int32_t> counts;
  std::vector<Candidate> tmp;
};
void select_candidates(const float* scores, int64_t num_anchors, int num_classes,
                       const ScoreFilter& f, std::vector<Candidate>& out,
                       SelectScratch* scratch = nullptr);

// Intersection over union of two (x1, y1, x2, y2) boxes; 0 when the union is empty.
float box_iou(const float* a, const float* b);

struct NmsOptions {
  float iou_threshold = 0.5f;  // suppress when IoU > threshold
  int max_detections = 100;    // <= 0: no limit
  bool class_agnostic = false;
};

// `sorted`: candidates by descending score with boxes filled. `kept` is
// cleared and receives the survivors in descending score order.
void nms(const std::vector<Candidate>& sorted, const NmsOptions& o, std::vector<Candidate>& kept);

}  // namespace vedge

// nms.h: SSD post-processing after the network: score activation and
// threshold, top-k, and greedy non-maximum suppression.
//   1. select_candidates(): one pass over the [A, C] score matrix keeps the
//      (anchor, class) pairs above the threshold (softmax/sigmoid are only
//      evaluated where a cheap bound says the threshold can be passed), then
//      keeps the top_k best (per class or overall) with nth_element.
//   2. nms_lazy(): builds a heap of the survivors and pops them best first;
//      only popped candidates get their box decoded (by the caller's
//      callback, see box_coder.h) and are compared with the boxes already
//      kept of their class (or all, class-agnostic); it stops at
//      max_detections. nms() is the same on pre-sorted, decoded candidates.
//      Never O(A^2) and never a full sort of all anchors.
// Depends on the standard library only.
#pragma once

#include <algorithm>
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

// scores: num_anchors x num_classes, row-major. `out` is cleared and filled;
// sorted by descending score (ties: lower anchor, then lower class first)
// when `sort` is true, else in no particular order.
// Pass the same `scratch` between calls to avoid allocation.
struct SelectScratch {
  std::vector<int32_t> counts, pos;
  std::vector<Candidate> tmp;
  std::vector<float> exps;
};
void select_candidates(const float* scores, int64_t num_anchors, int num_classes,
                       const ScoreFilter& f, std::vector<Candidate>& out,
                       SelectScratch* scratch = nullptr, bool sort = true);

// Intersection over union of two (x1, y1, x2, y2) boxes; 0 when the union is empty.
float box_iou(const float* a, const float* b);

struct NmsOptions {
  float iou_threshold = 0.5f;  // suppress when IoU > threshold
  int max_detections = 100;    // <= 0: no limit
  bool class_agnostic = false;
};

// Per-class lists of kept boxes, reused between calls.
struct NmsScratch {
  std::vector<int32_t> head;  // per class: last kept index, -1 = none
  std::vector<int32_t> next;  // per kept: previous kept of the same class
};

namespace detail {
inline bool comes_first(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.anchor != b.anchor) return a.anchor < b.anchor;
  return a.class_id < b.class_id;
}
void nms_begin(const std::vector<Candidate>& c, const NmsOptions& o, NmsScratch& s,
               std::vector<Candidate>& kept);
// Keeps `c` unless a kept box of its class (any class if agnostic) overlaps
// it by IoU > threshold.
void nms_offer(const Candidate& c, const NmsOptions& o, NmsScratch& s, std::vector<Candidate>& kept);
}  // namespace detail

// `sorted`: candidates by descending score with boxes filled. `kept` is
// cleared and receives the survivors in descending score order.
void nms(const std::vector<Candidate>& sorted, const NmsOptions& o, std::vector<Candidate>& kept,
         NmsScratch* scratch = nullptr);

// `cands` in any order, boxes not filled; fill_box(Candidate&) is called
// once for each candidate visited, best first. `cands` is reordered.
template <class FillBox>
void nms_lazy(std::vector<Candidate>& cands, const NmsOptions& o, FillBox&& fill_box,
              std::vector<Candidate>& kept, NmsScratch& s) {
  detail::nms_begin(cands, o, s, kept);
  const size_t limit = o.max_detections > 0 ? static_cast<size_t>(o.max_detections) : cands.size();
  auto after = [](const Candidate& a, const Candidate& b) { return detail::comes_first(b, a); };
  std::make_heap(cands.begin(), cands.end(), after);
  for (auto end = cands.end(); end != cands.begin() && kept.size() < limit; --end) {
    std::pop_heap(cands.begin(), end, after);
    Candidate& c = *(end - 1);
    fill_box(c);
    detail::nms_offer(c, o, s, kept);
  }
}

}  // namespace vedge

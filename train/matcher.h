// matcher.h: SSD training targets. Matches ground-truth boxes to anchors by
// IoU (each anchor takes the ground truth it overlaps most when that IoU
// reaches the threshold; each ground truth's best anchor is forced positive
// so no object goes unmatched) and encodes the matched boxes as the offsets
// the network must predict. encode_boxes() is the exact inverse of the
// runtime's vedge::BoxCoder::decode (runtime/box_coder.h, the one decoder).
// Depends on LibTorch and runtime/box_coder.h only.
#pragma once

#include <torch/torch.h>

#include "runtime/box_coder.h"

namespace vedge {

// (cx, cy, w, h) <-> (x1, y1, x2, y2), any leading dimensions, last dim 4.
torch::Tensor cxcywh_to_xyxy(const torch::Tensor& b);
torch::Tensor xyxy_to_cxcywh(const torch::Tensor& b);

// Pairwise IoU of a [N,4] and b [M,4] corner boxes -> [N,M] float; 0 where
// the union is empty.
torch::Tensor box_iou_matrix(const torch::Tensor& a, const torch::Tensor& b);

// Offsets (dx, dy, dw, dh) that BoxCoder::decode turns back into `boxes`:
//   dx = (cx_b - cx_a) / (center_variance * w_a), dw = log(w_b / w_a) / size_variance.
// boxes: [...,4] corners; anchors: [...,4] (cx, cy, w, h), same shape.
// Box sizes are floored at 1e-6 so degenerate boxes give finite offsets.
torch::Tensor encode_boxes(const BoxCoder& coder, const torch::Tensor& boxes, const torch::Tensor& anchors);
// The same decoding as BoxCoder::decode, vectorized (used only to check the
// trainer's predictions in tests and debugging, never by the runtime).
torch::Tensor decode_boxes_tensor(const BoxCoder& coder, const torch::Tensor& offsets,
                                  const torch::Tensor& anchors);

struct MatchOptions {
  float iou_threshold = 0.5f;  // anchor positive when IoU >= threshold
  bool force_best_anchor = true;  // each ground truth keeps its best anchor
};

// For each of the A anchors: the index of its ground-truth box, or -1
// (background). anchors [A,4] (cx, cy, w, h); gt [G,4] corners, same units.
// When two ground truths claim the same best anchor, the later one wins.
torch::Tensor match_anchors(const torch::Tensor& anchors, const torch::Tensor& gt, const MatchOptions& opt = {});

struct MatchTargets {
  torch::Tensor labels;   // [A] int64: 0 background, else the class (1..C-1)
  torch::Tensor offsets;  // [A,4] float: encoded boxes (0 for background)
  int64_t num_positive = 0;
};

// gt_boxes [G,4] normalized corners, gt_labels [G] int64 in 1..C-1 (G may be 0).
MatchTargets build_targets(const torch::Tensor& anchors, const torch::Tensor& gt_boxes,
                           const torch::Tensor& gt_labels, const BoxCoder& coder, const MatchOptions& opt = {});

}  // namespace vedge

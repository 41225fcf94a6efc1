// matcher.cpp: IoU matching of anchors to ground truth and SSD offset
// encoding (see matcher.h). LibTorch and runtime/box_coder.h only.
#include "train/matcher.h"

#include "runtime/error.h"

namespace vedge {

torch::Tensor cxcywh_to_xyxy(const torch::Tensor& b) {
  auto c = b.unbind(-1);
  return torch::stack({c[0] - 0.5 * c[2], c[1] - 0.5 * c[3], c[0] + 0.5 * c[2], c[1] + 0.5 * c[3]}, -1);
}

torch::Tensor xyxy_to_cxcywh(const torch::Tensor& b) {
  auto c = b.unbind(-1);
  return torch::stack({0.5 * (c[0] + c[2]), 0.5 * (c[1] + c[3]), c[2] - c[0], c[3] - c[1]}, -1);
}

torch::Tensor box_iou_matrix(const torch::Tensor& a, const torch::Tensor& b) {
  VEDGE_CHECK(a.dim() == 2 && a.size(1) == 4 && b.dim() == 2 && b.size(1) == 4,
              "box_iou_matrix: boxes must be [N,4] and [M,4]");
  auto area = [](const torch::Tensor& x) {
    return (x.select(1, 2) - x.select(1, 0)).clamp_min(0) * (x.select(1, 3) - x.select(1, 1)).clamp_min(0);
  };
  torch::Tensor lt = torch::max(a.unsqueeze(1).narrow(2, 0, 2), b.unsqueeze(0).narrow(2, 0, 2));
  torch::Tensor rb = torch::min(a.unsqueeze(1).narrow(2, 2, 2), b.unsqueeze(0).narrow(2, 2, 2));
  torch::Tensor wh = (rb - lt).clamp_min(0);
  torch::Tensor inter = wh.select(2, 0) * wh.select(2, 1);
  torch::Tensor uni = area(a).unsqueeze(1) + area(b).unsqueeze(0) - inter;
  return torch::where(uni > 0, inter / uni.clamp_min(1e-12), torch::zeros_like(inter));
}

torch::Tensor encode_boxes(const BoxCoder& coder, const torch::Tensor& boxes, const torch::Tensor& anchors) {
  VEDGE_CHECK(boxes.sizes() == anchors.sizes() && boxes.size(-1) == 4,
              "encode_boxes: boxes and anchors must have the same shape [...,4]");
  torch::Tensor g = xyxy_to_cxcywh(boxes);
  auto gc = g.unbind(-1);
  auto ac = anchors.unbind(-1);
  torch::Tensor gw = gc[2].clamp_min(1e-6), gh = gc[3].clamp_min(1e-6);
  return torch::stack({(gc[0] - ac[0]) / (ac[2] * coder.center_variance),
                       (gc[1] - ac[1]) / (ac[3] * coder.center_variance),
                       torch::log(gw / ac[2]) / coder.size_variance,
                       torch::log(gh / ac[3]) / coder.size_variance},
                      -1);
}

torch::Tensor decode_boxes_tensor(const BoxCoder& coder, const torch::Tensor& offsets,
                                  const torch::Tensor& anchors) {
  auto o = offsets.unbind(-1);
  auto a = anchors.unbind(-1);
  torch::Tensor cx = a[0] + o[0] * coder.center_variance * a[2];
  torch::Tensor cy = a[1] + o[1] * coder.center_variance * a[3];
  torch::Tensor hw = 0.5 * a[2] * torch::exp((o[2] * coder.size_variance).clamp_max(coder.clamp));
  torch::Tensor hh = 0.5 * a[3] * torch::exp((o[3] * coder.size_variance).clamp_max(coder.clamp));
  return torch::stack({cx - hw, cy - hh, cx + hw, cy + hh}, -1);
}

torch::Tensor match_anchors(const torch::Tensor& anchors, const torch::Tensor& gt, const MatchOptions& opt) {
  VEDGE_CHECK(anchors.dim() == 2 && anchors.size(1) == 4, "match_anchors: anchors must be [A,4]");
  const int64_t A = anchors.size(0);
  torch::Tensor matched = torch::full({A}, -1, torch::kLong);
  if (gt.numel() == 0) return matched;
  torch::Tensor iou = box_iou_matrix(gt.to(torch::kFloat), cxcywh_to_xyxy(anchors.to(torch::kFloat)));  // [G,A]
  auto [best_iou, best_gt] = iou.max(0);
  matched = torch::where(best_iou >= opt.iou_threshold, best_gt, matched);
  if (opt.force_best_anchor) {
    torch::Tensor best_anchor = iou.argmax(1);  // [G], first anchor of the maximum
    auto ba = best_anchor.accessor<int64_t, 1>();
    auto m = matched.accessor<int64_t, 1>();
    for (int64_t g = 0; g < best_anchor.size(0); ++g) m[ba[g]] = g;
  }
  return matched;
}

MatchTargets build_targets(const torch::Tensor& anchors, const torch::Tensor& gt_boxes,
                           const torch::Tensor& gt_labels, const BoxCoder& coder, const MatchOptions& opt) {
  VEDGE_CHECK(gt_boxes.dim() == 2 && gt_boxes.size(1) == 4 && gt_labels.dim() == 1 &&
                  gt_labels.size(0) == gt_boxes.size(0),
              "build_targets: ground truth must be boxes [G,4] and labels [G]");
  const int64_t A = anchors.size(0);
  MatchTargets t;
  torch::Tensor matched = match_anchors(anchors, gt_boxes, opt);
  torch::Tensor pos = matched >= 0;
  t.num_positive = pos.sum().item<int64_t>();
  t.labels = torch::zeros({A}, torch::kLong);
  t.offsets = torch::zeros({A, 4}, torch::kFloat);
  if (t.num_positive == 0) return t;
  torch::Tensor idx = matched.clamp_min(0);
  t.labels = torch::where(pos, gt_labels.to(torch::kLong).index_select(0, idx), t.labels);
  torch::Tensor enc = encode_boxes(coder, gt_boxes.to(torch::kFloat).index_select(0, idx), anchors.to(torch::kFloat));
  t.offsets = torch::where(pos.unsqueeze(1), enc, t.offsets);
  return t;
}

}  // namespace vedge

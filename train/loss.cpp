// loss.cpp: SSD loss with hard negative mining (see loss.h). LibTorch only.
#include "train/loss.h"

#include <limits>

#include "runtime/error.h"

namespace vedge {

SsdLoss ssd_loss(const torch::Tensor& pred_offsets, const torch::Tensor& pred_logits,
                 const torch::Tensor& target_labels, const torch::Tensor& target_offsets,
                 const SsdLossOptions& opt) {
  VEDGE_CHECK(pred_offsets.dim() == 3 && pred_offsets.size(2) == 4 && pred_logits.dim() == 3 &&
                  pred_logits.size(0) == pred_offsets.size(0) && pred_logits.size(1) == pred_offsets.size(1),
              "ssd_loss: predictions must be offsets [N,A,4] and logits [N,A,C]");
  VEDGE_CHECK(target_labels.sizes() == pred_logits.sizes().slice(0, 2) &&
                  target_offsets.sizes() == pred_offsets.sizes(),
              "ssd_loss: targets must be labels [N,A] and offsets [N,A,4]");
  const int64_t C = pred_logits.size(2);
  torch::Tensor labels = target_labels.to(torch::kLong);
  torch::Tensor pos = labels > 0;  // [N,A]
  torch::Tensor pos_per_image = pos.sum(1);  // [N]
  SsdLoss out;
  out.num_positive = pos_per_image.sum().item<int64_t>();
  const double norm = static_cast<double>(std::max<int64_t>(1, out.num_positive));

  torch::Tensor l1 = torch::smooth_l1_loss(pred_offsets, target_offsets, at::Reduction::None, 1.0).sum(2);
  out.box = (l1 * pos.to(l1.dtype())).sum() / norm;

  torch::Tensor ce = torch::cross_entropy_loss(pred_logits.reshape({-1, C}), labels.reshape({-1}), {},
                                               at::Reduction::None)
                         .view(labels.sizes());  // [N,A]
  torch::Tensor neg_rank;
  {
    torch::NoGradGuard ng;
    torch::Tensor neg_loss = ce.detach().masked_fill(pos, -std::numeric_limits<float>::infinity());
    torch::Tensor order = std::get<1>(neg_loss.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
    neg_rank = std::get<1>(order.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false));  // rank per anchor
  }
  torch::Tensor num_neg = (pos_per_image.to(torch::kDouble) * opt.neg_pos_ratio).floor().to(torch::kLong);
  num_neg = torch::min(num_neg, (~pos).sum(1));
  torch::Tensor hard_neg = (neg_rank < num_neg.unsqueeze(1)) & ~pos;
  torch::Tensor keep = (pos | hard_neg).to(ce.dtype());
  out.cls = (ce * keep).sum() / norm;
  out.total = opt.box_weight * out.box + out.cls;
  return out;
}

}  // namespace vedge

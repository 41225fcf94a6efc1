// loss.h: the SSD multibox loss.
//   box loss:   Smooth L1 (beta 1, summed) between predicted and target
//               offsets over positive anchors;
//   class loss: cross-entropy over positive anchors plus the hardest
//               negatives, per image at most neg_pos_ratio (3) times that
//               image's positives (an image without positives mines none);
//               negatives are ranked by their background cross-entropy, ties
//               broken by anchor order;
//   both divided by the batch's number of positives (at least 1).
// Depends on LibTorch only.
#pragma once

#include <torch/torch.h>

namespace vedge {

struct SsdLossOptions {
  double neg_pos_ratio = 3.0;
  double box_weight = 1.0;  // total = box_weight * box + cls
};

struct SsdLoss {
  torch::Tensor total, box, cls;  // scalars; total carries the gradient
  int64_t num_positive = 0;
};

// pred_offsets [N,A,4], pred_logits [N,A,C] (class 0 = background);
// target_labels [N,A] int64 (0 background), target_offsets [N,A,4].
SsdLoss ssd_loss(const torch::Tensor& pred_offsets, const torch::Tensor& pred_logits,
                 const torch::Tensor& target_labels, const torch::Tensor& target_offsets,
                 const SsdLossOptions& opt = {});

}  // namespace vedge

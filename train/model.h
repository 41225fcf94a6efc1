// model.h: the SSDLite detector network in LibTorch: a MobileNet backbone
// (backbones.h), optional torchvision-style extra layers and SSDLite heads
// (depthwise 3x3 + BN + ReLU6, then pointwise 1x1 with bias), returning SSD
// box offsets and class logits in the anchor order of runtime/anchors.h.
//
// Feature maps:
//   2 (default): the mid-level stride-16 map (the expansion output of the
//     backbone's first stride-32 block, torchvision's SSDLite "C4" tap) and
//     the high-level stride-32 map (the backbone's last 1x1 conv);
//   6: those two plus 4 extra blocks (1x1 conv, depthwise 3x3 stride 2,
//     1x1 conv, each BN + ReLU6) with round8(width * [512, 256, 256, 128])
//     channels, down to 1x1 at 320x320.
// Anchors (SSD family, aspect ratios [2, 3] on every map, 6 per location):
//   2 maps: explicit scales [0.1, 0.35, 0.75] (map 0: 0.1 and 0.19 plus the
//     ratio boxes; map 1: 0.35 and 0.51), covering small to large objects;
//   6 maps: torchvision SSDLite's min_ratio 0.2, max_ratio 0.95.
// Preprocessing (detector_spec): RGB, stretch resize to input_size,
// x = (pixel - 127.5) / 127.5, i.e. [-1, 1] (what Keras MobileNets and
// torchvision's SSD transform use).
// Depends on LibTorch, backbones.h and the runtime's anchors.h /
// detector_spec.h (one anchor implementation shared with the runtime).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/anchors.h"
#include "runtime/detector_spec.h"
#include "train/backbones.h"

namespace vedge {

struct ModelConfig {
  std::string backbone = "mobilenet_v3_small";  // or mobilenet_v3_large, mobilenet_v2
  double width = 1.0;                           // width multiplier alpha
  int num_classes = 11;                         // incl. background (class 0)
  int input_size = 320;                         // square network input, pixels
  int feature_maps = 2;                         // 2 (mid + high level) or 6 (extra layers)
  double bn_momentum = 0.01;                    // PyTorch convention (Keras 0.99)
};

// SSDLite head for one feature map: dw 3x3 + BN + ReLU6 ("0"), then a 1x1
// conv with bias ("1") to anchors_per_location * outputs_per_anchor channels.
class SSDLiteHeadBranchImpl : public torch::nn::Module {
 public:
  SSDLiteHeadBranchImpl(int in, int out, double bn_momentum);
  torch::Tensor forward(const torch::Tensor& x);
  ConvBNAct dw{nullptr};
  torch::nn::Conv2d pw{nullptr};
};
TORCH_MODULE(SSDLiteHeadBranch);

// Extra layer: 1x1 (in -> mid) "0", dw 3x3 stride 2 "1", 1x1 (mid -> out) "2".
class ExtraBlockImpl : public torch::nn::Module {
 public:
  ExtraBlockImpl(int in, int out, double bn_momentum);
  torch::Tensor forward(const torch::Tensor& x);
  ConvBNAct reduce{nullptr}, dw{nullptr}, expand{nullptr};
};
TORCH_MODULE(ExtraBlock);

class SSDLiteImpl : public torch::nn::Module {
 public:
  explicit SSDLiteImpl(const ModelConfig& cfg);

  // images [N,3,S,S] normalized -> boxes [N,A,4] (SSD offsets dx,dy,dw,dh)
  // and scores [N,A,C] (logits, column 0 = background).
  std::pair<torch::Tensor, torch::Tensor> forward(torch::Tensor images);
  // The feature maps the heads read, in anchor order.
  std::vector<torch::Tensor> feature_maps(const torch::Tensor& images);

  const ModelConfig& config() const { return cfg_; }
  static constexpr int kAnchorsPerLocation = 6;
  vedge::AnchorSpec anchor_spec() const;
  torch::Tensor anchors() const;  // [A,4] cx,cy,w,h normalized, float32
  int64_t num_anchors() const;
  // RGB, input_size, mean 127.5, std 127.5, anchors, variances 0.1/0.2,
  // softmax scores; labels.size() must equal num_classes.
  DetectorSpec detector_spec(const std::vector<std::string>& labels) const;

  MobileNet& backbone() { return backbone_; }
  const MobileNet& backbone() const { return backbone_; }
  std::vector<std::shared_ptr<torch::nn::Module>> backbone_blocks() const;

  // Registered as "extras.N", "cls_head.N", "reg_head.N".
  torch::nn::ModuleList extras{nullptr}, cls_head{nullptr}, reg_head{nullptr};
  std::vector<ExtraBlock> extra_blocks;
  std::vector<SSDLiteHeadBranch> cls_branches, reg_branches;

 private:
  ModelConfig cfg_;
  MobileNet backbone_{nullptr};
};
TORCH_MODULE(SSDLite);

}  // namespace vedge

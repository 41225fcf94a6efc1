// backbones.h: MobileNetV3-Small/-Large and MobileNetV2 feature extractors in
// LibTorch, following the Keras/TF architecture (keras.applications):
//   - channel counts rounded to multiples of 8 (make_divisible) after the
//     width multiplier alpha; V3's stem keeps 16 channels whatever alpha, and
//     expansions are round8(input_channels * ratio) as in Keras;
//   - V3: hard-swish / ReLU per block, squeeze-excite = global average pool,
//     1x1 conv (bias) + ReLU, 1x1 conv (bias) + hard-sigmoid (relu6(x+3)/6),
//     squeeze width round8(expanded / 4); V2: ReLU6 everywhere;
//   - BatchNorm eps 1e-3; momentum is a parameter (PyTorch convention: the
//     weight of the new batch; Keras' 0.99 = 0.01 here).
// Padding is PyTorch's symmetric k/2 (TF "same" pads stride-2 convs 0 before /
// 1 after on even sizes; the output sizes agree, the sampling grid is shifted
// by half a pixel, which ImageNet weights tolerate).
//
// Module names follow torchvision so its state_dicts map one to one:
//   features.0          stem (ConvBNAct: "0" conv, "1" bn)
//   features.1..N       inverted residual blocks
//                       V3: block.{i} = [expand ConvBNAct], dw ConvBNAct,
//                           [se (fc1, fc2)], project ConvBNAct (no activation)
//                       V2: conv.{i} = [expand ConvBNAct], dw ConvBNAct,
//                           project Conv2d, project BatchNorm2d
//   features.N+1        last 1x1 ConvBNAct (576 / 960 / 1280 channels)
//   classifier          optional ImageNet head (classifier_classes > 0):
//                       V3: classifier.0 Linear(last, 1024|1280), hard-swish,
//                           dropout, classifier.3 Linear(.., classes)
//                       V2: dropout, classifier.1 Linear(1280, classes)
// Depends on LibTorch only.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vedge {

enum class Act { None, ReLU, ReLU6, HardSwish };
torch::Tensor apply_act(const torch::Tensor& x, Act act);

// Keras/torchvision channel rounding: nearest multiple of `divisor` (at least
// `divisor`), bumped up one step when rounding lost more than 10%.
int make_divisible(double v, int divisor = 8);

// Conv (no bias) + BatchNorm + activation; children "0" (conv), "1" (bn).
class ConvBNActImpl : public torch::nn::Module {
 public:
  ConvBNActImpl(int in, int out, int kernel, int stride, int groups, Act act, double bn_momentum);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  Act act;
};
TORCH_MODULE(ConvBNAct);

// Squeeze-excite: x * hardsigmoid(fc2(relu(fc1(mean_hw(x))))).
class SqueezeExciteImpl : public torch::nn::Module {
 public:
  SqueezeExciteImpl(int channels, int squeeze);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SqueezeExcite);

struct BlockSpec {
  int in = 0, expanded = 0, out = 0, kernel = 3, stride = 1;
  bool se = false;
  Act act = Act::ReLU;
};

class InvertedResidualImpl : public torch::nn::Module {
 public:
  // v2_names: register the layers as torchvision's MobileNetV2 ("conv.N")
  // instead of MobileNetV3 ("block.N").
  InvertedResidualImpl(const BlockSpec& spec, bool v2_names, double bn_momentum);
  torch::Tensor forward(const torch::Tensor& x);
  // The expansion output (x itself when the block has no expansion) and the
  // rest of the block from it: forward(x) == finish(expand(x), x).
  torch::Tensor expand(const torch::Tensor& x);
  torch::Tensor finish(const torch::Tensor& expanded, const torch::Tensor& x);

  BlockSpec spec;
  bool residual = false;
  ConvBNAct expand_layer{nullptr};  // empty when expanded == in
  ConvBNAct dw{nullptr};
  SqueezeExcite se{nullptr};         // empty without squeeze-excite
  torch::nn::Conv2d project_conv{nullptr};
  torch::nn::BatchNorm2d project_bn{nullptr};
};
TORCH_MODULE(InvertedResidual);

// Backbone names accepted by MobileNet and ModelConfig::backbone.
const std::vector<std::string>& backbone_names();

class MobileNetImpl : public torch::nn::Module {
 public:
  // name: mobilenet_v3_small | mobilenet_v3_large | mobilenet_v2;
  // classifier_classes > 0 adds the ImageNet classifier head (1000, or 1001
  // for TF models with a background class).
  MobileNetImpl(const std::string& name, double width, int classifier_classes = 0,
                double bn_momentum = 0.01);

  // Last feature map (stride 32, last_channels()).
  torch::Tensor forward(const torch::Tensor& x);
  // The two detector taps: c4 = expansion output of the first stride-32
  // block (stride 16, c4_channels()), c5 = last feature map (stride 32).
  std::pair<torch::Tensor, torch::Tensor> forward_taps(const torch::Tensor& x);
  // ImageNet logits [N, classes]; needs the classifier head.
  torch::Tensor classify(const torch::Tensor& x);

  const std::string& name() const { return name_; }
  bool is_v3() const { return v3_; }
  int c4_channels() const { return c4_channels_; }
  int last_channels() const { return last_channels_; }
  int tap_block() const { return tap_block_; }  // index into features
  // features.0 .. features.N+1 in order (stem, blocks, last conv): the units
  // of "freeze the first N blocks".
  std::vector<std::shared_ptr<torch::nn::Module>> blocks() const;

  torch::nn::ModuleList features{nullptr};
  torch::nn::Sequential classifier{nullptr};  // empty without a head

 private:
  std::string name_;
  bool v3_ = true;
  int tap_block_ = 0, c4_channels_ = 0, last_channels_ = 0;
};
TORCH_MODULE(MobileNet);

}  // namespace vedge

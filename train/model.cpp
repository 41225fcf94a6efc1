// model.cpp: the SSDLite detector network (backbone taps, extra layers,
// SSDLite heads), its anchor spec and detector spec; see model.h.
// Depends on LibTorch, backbones.h and the runtime's anchors / detector spec.
#include "train/model.h"

#include "runtime/error.h"

namespace vedge {

SSDLiteHeadBranchImpl::SSDLiteHeadBranchImpl(int in, int out, double bn_momentum) {
  dw = register_module("0", ConvBNAct(in, in, 3, 1, in, Act::ReLU6, bn_momentum));
  pw = register_module("1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
  // torchvision's SSDLite head init: N(0, 0.03) weights, zero bias.
  torch::nn::init::normal_(pw->weight, 0.0, 0.03);
  torch::nn::init::zeros_(pw->bias);
}

torch::Tensor SSDLiteHeadBranchImpl::forward(const torch::Tensor& x) {
  return pw->forward(dw->forward(x));
}

ExtraBlockImpl::ExtraBlockImpl(int in, int out, double bn_momentum) {
  const int mid = out / 2;
  reduce = register_module("0", ConvBNAct(in, mid, 1, 1, 1, Act::ReLU6, bn_momentum));
  dw = register_module("1", ConvBNAct(mid, mid, 3, 2, mid, Act::ReLU6, bn_momentum));
  expand = register_module("2", ConvBNAct(mid, out, 1, 1, 1, Act::ReLU6, bn_momentum));
}

torch::Tensor ExtraBlockImpl::forward(const torch::Tensor& x) {
  return expand->forward(dw->forward(reduce->forward(x)));
}

SSDLiteImpl::SSDLiteImpl(const ModelConfig& cfg) : cfg_(cfg) {
  VEDGE_CHECK(cfg.feature_maps == 2 || cfg.feature_maps == 6,
              "model config: feature_maps is ", cfg.feature_maps, ", expected 2 or 6");
  VEDGE_CHECK(cfg.num_classes >= 2, "model config: num_classes is ", cfg.num_classes,
              ", expected at least 2 (background + one class)");
  VEDGE_CHECK(cfg.input_size >= 32 && cfg.input_size <= 4096, "model config: input_size is ",
              cfg.input_size, ", expected 32..4096");
  backbone_ = register_module("backbone",
                              MobileNet(cfg.backbone, cfg.width, 0, cfg.bn_momentum));
  std::vector<int> channels = {backbone_->c4_channels(), backbone_->last_channels()};
  extras = register_module("extras", torch::nn::ModuleList());
  if (cfg.feature_maps == 6) {
    for (int c : {512, 256, 256, 128}) {
      const int out = std::max(16, make_divisible(c * cfg.width));
      ExtraBlock e(channels.back(), out, cfg.bn_momentum);
      extras->push_back(e);
      extra_blocks.push_back(e);
      channels.push_back(out);
    }
  }
  cls_head = register_module("cls_head", torch::nn::ModuleList());
  reg_head = register_module("reg_head", torch::nn::ModuleList());
  for (int c : channels) {
    SSDLiteHeadBranch cls(c, kAnchorsPerLocation * cfg.num_classes, cfg.bn_momentum);
    SSDLiteHeadBranch reg(c, kAnchorsPerLocation * 4, cfg.bn_momentum);
    cls_head->push_back(cls);
    reg_head->push_back(reg);
    cls_branches.push_back(cls);
    reg_branches.push_back(reg);
  }
}

std::vector<torch::Tensor> SSDLiteImpl::feature_maps(const torch::Tensor& images) {
  auto [c4, c5] = backbone_->forward_taps(images);
  std::vector<torch::Tensor> maps = {c4, c5};
  for (auto& e : extra_blocks) maps.push_back(e->forward(maps.back()));
  return maps;
}

namespace {

// [N, K*D, H, W] -> [N, H*W*K, D]: per location (row, column), per anchor.
torch::Tensor flatten_head(const torch::Tensor& t, int64_t d) {
  const int64_t n = t.size(0), h = t.size(2), w = t.size(3);
  return t.view({n, -1, d, h, w}).permute({0, 3, 4, 1, 2}).reshape({n, -1, d});
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> SSDLiteImpl::forward(torch::Tensor images) {
  VEDGE_CHECK(images.dim() == 4 && images.size(1) == 3, "SSDLite: images must be [N,3,H,W], got ",
              images.sizes());
  std::vector<torch::Tensor> maps = feature_maps(images);
  std::vector<torch::Tensor> boxes, scores;
  for (size_t i = 0; i < maps.size(); ++i) {
    boxes.push_back(flatten_head(reg_branches[i]->forward(maps[i]), 4));
    scores.push_back(flatten_head(cls_branches[i]->forward(maps[i]), cfg_.num_classes));
  }
  return {torch::cat(boxes, 1), torch::cat(scores, 1)};
}

AnchorSpec SSDLiteImpl::anchor_spec() const {
  AnchorSpec s;
  s.family = AnchorFamily::Ssd;
  // Stride 16 then halving with 3x3 stride-2 pad-1 convs: ceil(size / 2).
  int size = cfg_.input_size;
  for (int i = 0; i < 4; ++i) size = (size + 1) / 2;
  for (int i = 0; i < cfg_.feature_maps; ++i) {
    s.ssd.feature_maps.push_back({size, size});
    s.ssd.aspect_ratios.push_back({2.f, 3.f});
    size = (size + 1) / 2;
  }
  if (cfg_.feature_maps == 2) {
    s.ssd.scales = {0.1, 0.35, 0.75};
  } else {
    s.ssd.min_ratio = 0.2f;
    s.ssd.max_ratio = 0.95f;
  }
  s.ssd.clip = true;
  return s;
}

torch::Tensor SSDLiteImpl::anchors() const {
  std::vector<float> a = generate_anchors(anchor_spec(), cfg_.input_size, cfg_.input_size);
  const int64_t n = static_cast<int64_t>(a.size() / 4);
  return torch::from_blob(a.data(), {n, 4}, torch::kFloat32).clone();
}

int64_t SSDLiteImpl::num_anchors() const { return anchor_count(anchor_spec()); }

DetectorSpec SSDLiteImpl::detector_spec(const std::vector<std::string>& labels) const {
  VEDGE_CHECK(static_cast<int>(labels.size()) == cfg_.num_classes, "detector spec: ",
              labels.size(), " labels for a model with ", cfg_.num_classes,
              " classes (background included)");
  DetectorSpec d;
  d.labels = labels;
  d.background = 0;
  d.input.name = "images";
  d.input.width = d.input.height = cfg_.input_size;
  d.input.color = ColorOrder::RGB;
  for (int c = 0; c < 3; ++c) d.input.mean[c] = d.input.std[c] = 127.5f;
  d.input.resize = ResizeMode::Stretch;
  d.boxes_output = "boxes";
  d.scores_output = "scores";
  d.activation = ScoreActivation::Softmax;
  d.anchors = anchor_spec();
  d.coder.center_variance = 0.1f;
  d.coder.size_variance = 0.2f;
  return d;
}

std::vector<std::shared_ptr<torch::nn::Module>> SSDLiteImpl::backbone_blocks() const {
  return backbone_->blocks();
}

}  // namespace vedge

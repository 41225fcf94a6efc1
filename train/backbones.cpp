// backbones.cpp: MobileNetV3-Small/-Large and MobileNetV2 (Keras/TF
// architecture, torchvision module names); see backbones.h.
// Depends on LibTorch and runtime/error.h only.
#include "train/backbones.h"

#include <cmath>

#include "runtime/error.h"

namespace vedge {

torch::Tensor apply_act(const torch::Tensor& x, Act act) {
  switch (act) {
    case Act::None: return x;
    case Act::ReLU: return torch::relu(x);
    case Act::ReLU6: return torch::clamp(x, 0.0, 6.0);
    case Act::HardSwish: return torch::hardswish(x);
  }
  return x;
}

int make_divisible(double v, int divisor) {
  int n = std::max(divisor, static_cast<int>(v + divisor / 2.0) / divisor * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

namespace {

torch::nn::BatchNorm2d make_bn(int c, double momentum) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(c).eps(1e-3).momentum(momentum));
}

// torchvision's MobileNet init: Kaiming-normal (fan_out) convs, BN 1/0.
void init_conv(torch::nn::Conv2d& c) {
  torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut);
  if (c->bias.defined()) torch::nn::init::zeros_(c->bias);
}

}  // namespace

ConvBNActImpl::ConvBNActImpl(int in, int out, int kernel, int stride, int groups, Act a,
                             double bn_momentum)
    : act(a) {
  conv = register_module("0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                    .stride(stride)
                                                    .padding(kernel / 2)
                                                    .groups(groups)
                                                    .bias(false)));
  bn = register_module("1", make_bn(out, bn_momentum));
  init_conv(conv);
}

torch::Tensor ConvBNActImpl::forward(const torch::Tensor& x) {
  return apply_act(bn->forward(conv->forward(x)), act);
}

SqueezeExciteImpl::SqueezeExciteImpl(int channels, int squeeze) {
  fc1 = register_module("fc1", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, squeeze, 1)));
  fc2 = register_module("fc2", torch::nn::Conv2d(torch::nn::Conv2dOptions(squeeze, channels, 1)));
  init_conv(fc1);
  init_conv(fc2);
}

torch::Tensor SqueezeExciteImpl::forward(const torch::Tensor& x) {
  torch::Tensor s = x.mean({2, 3}, /*keepdim=*/true);
  s = torch::hardsigmoid(fc2->forward(torch::relu(fc1->forward(s))));
  return x * s;
}

InvertedResidualImpl::InvertedResidualImpl(const BlockSpec& s, bool v2_names, double bn_momentum)
    : spec(s) {
  residual = s.stride == 1 && s.in == s.out;
  auto layers = register_module(v2_names ? "conv" : "block", torch::nn::ModuleList());
  if (s.expanded != s.in) {
    expand_layer = ConvBNAct(s.in, s.expanded, 1, 1, 1, s.act, bn_momentum);
    layers->push_back(expand_layer);
  }
  dw = ConvBNAct(s.expanded, s.expanded, s.kernel, s.stride, s.expanded, s.act, bn_momentum);
  layers->push_back(dw);
  if (s.se) {
    se = SqueezeExcite(s.expanded, make_divisible(s.expanded / 4.0));
    layers->push_back(se);
  }
  if (v2_names) {
    project_conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(s.expanded, s.out, 1).bias(false));
    project_bn = make_bn(s.out, bn_momentum);
    init_conv(project_conv);
    layers->push_back(project_conv);
    layers->push_back(project_bn);
  } else {
    ConvBNAct project(s.expanded, s.out, 1, 1, 1, Act::None, bn_momentum);
    project_conv = project->conv;
    project_bn = project->bn;
    layers->push_back(project);
  }
}

torch::Tensor InvertedResidualImpl::expand(const torch::Tensor& x) {
  return expand_layer ? expand_layer->forward(x) : x;
}

torch::Tensor InvertedResidualImpl::finish(const torch::Tensor& e, const torch::Tensor& x) {
  torch::Tensor y = dw->forward(e);
  if (se) y = se->forward(y);
  y = project_bn->forward(project_conv->forward(y));
  return residual ? y + x : y;
}

torch::Tensor InvertedResidualImpl::forward(const torch::Tensor& x) { return finish(expand(x), x); }

const std::vector<std::string>& backbone_names() {
  static const std::vector<std::string> names = {"mobilenet_v3_small", "mobilenet_v3_large",
                                                 "mobilenet_v2"};
  return names;
}

namespace {

// One row of a V3 table: kernel, expansion ratio (of the actual input
// channels, as Keras), output channels before alpha, SE, activation, stride.
struct V3Row {
  int kernel;
  double ratio;
  int out;
  bool se;
  Act act;
  int stride;
};

const std::vector<V3Row>& v3_small_rows() {
  const Act RE = Act::ReLU, HS = Act::HardSwish;
  static const std::vector<V3Row> rows = {
      {3, 1.0, 16, true, RE, 2},        {3, 72.0 / 16, 24, false, RE, 2},
      {3, 88.0 / 24, 24, false, RE, 1}, {5, 4.0, 40, true, HS, 2},
      {5, 6.0, 40, true, HS, 1},        {5, 6.0, 40, true, HS, 1},
      {5, 3.0, 48, true, HS, 1},        {5, 3.0, 48, true, HS, 1},
      {5, 6.0, 96, true, HS, 2},        {5, 6.0, 96, true, HS, 1},
      {5, 6.0, 96, true, HS, 1}};
  return rows;
}

const std::vector<V3Row>& v3_large_rows() {
  const Act RE = Act::ReLU, HS = Act::HardSwish;
  static const std::vector<V3Row> rows = {
      {3, 1.0, 16, false, RE, 1},  {3, 4.0, 24, false, RE, 2},  {3, 3.0, 24, false, RE, 1},
      {5, 3.0, 40, true, RE, 2},   {5, 3.0, 40, true, RE, 1},   {5, 3.0, 40, true, RE, 1},
      {3, 6.0, 80, false, HS, 2},  {3, 2.5, 80, false, HS, 1},  {3, 2.3, 80, false, HS, 1},
      {3, 2.3, 80, false, HS, 1},  {3, 6.0, 112, true, HS, 1},  {3, 6.0, 112, true, HS, 1},
      {5, 6.0, 160, true, HS, 2},  {5, 6.0, 160, true, HS, 1},  {5, 6.0, 160, true, HS, 1}};
  return rows;
}

}  // namespace

MobileNetImpl::MobileNetImpl(const std::string& name, double width, int classifier_classes,
                             double bn_momentum)
    : name_(name) {
  if (name != "mobilenet_v3_small" && name != "mobilenet_v3_large" && name != "mobilenet_v2")
    fail("backbone '" + name +
         "' is unknown (expected mobilenet_v3_small, mobilenet_v3_large or mobilenet_v2)");
  if (!(width > 0.0 && width <= 4.0))
    fail("backbone " + name + ": width multiplier " + std::to_string(width) +
         " is out of range (0, 4]");
  v3_ = name != "mobilenet_v2";
  features = register_module("features", torch::nn::ModuleList());
  std::vector<BlockSpec> specs;
  int in = 0;
  if (v3_) {
    in = 16;  // Keras keeps the stem at 16 channels for every alpha
    features->push_back(ConvBNAct(3, in, 3, 2, 1, Act::HardSwish, bn_momentum));
    for (const V3Row& r : name == "mobilenet_v3_small" ? v3_small_rows() : v3_large_rows()) {
      BlockSpec s;
      s.in = in;
      s.expanded = make_divisible(in * r.ratio);
      s.out = make_divisible(r.out * width);
      s.kernel = r.kernel;
      s.stride = r.stride;
      s.se = r.se;
      s.act = r.act;
      specs.push_back(s);
      in = s.out;
    }
  } else {
    in = make_divisible(32 * width);
    features->push_back(ConvBNAct(3, in, 3, 2, 1, Act::ReLU6, bn_momentum));
    struct V2Row {
      int t, c, n, s;
    };
    const V2Row rows[] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2},  {6, 64, 4, 2},
                          {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
    for (const V2Row& r : rows) {
      for (int i = 0; i < r.n; ++i) {
        BlockSpec s;
        s.in = in;
        s.expanded = in * r.t;  // Keras: no rounding of the expansion
        s.out = make_divisible(std::floor(r.c * width));
        s.stride = i == 0 ? r.s : 1;
        s.act = Act::ReLU6;
        specs.push_back(s);
        in = s.out;
      }
    }
  }
  int stride = 2;
  for (const BlockSpec& s : specs) {
    if (s.stride == 2 && stride == 16) {
      tap_block_ = static_cast<int>(features->size());
      c4_channels_ = s.expanded;
    }
    stride *= s.stride;
    features->push_back(InvertedResidual(s, !v3_, bn_momentum));
  }
  VEDGE_CHECK(tap_block_ > 0, "backbone " + name + ": no stride-32 block");
  if (v3_) {
    last_channels_ = make_divisible(in * 6.0);
    features->push_back(ConvBNAct(in, last_channels_, 1, 1, 1, Act::HardSwish, bn_momentum));
  } else {
    last_channels_ = width > 1.0 ? make_divisible(1280 * width) : 1280;
    features->push_back(ConvBNAct(in, last_channels_, 1, 1, 1, Act::ReLU6, bn_momentum));
  }
  if (classifier_classes > 0) {
    classifier = register_module("classifier", torch::nn::Sequential());
    if (v3_) {
      int hidden = name == "mobilenet_v3_small" ? 1024 : 1280;
      if (width > 1.0) hidden = make_divisible(hidden * width);
      classifier->push_back(torch::nn::Linear(last_channels_, hidden));
      classifier->push_back(torch::nn::Functional([](torch::Tensor x) { return torch::hardswish(x); }));
      classifier->push_back(torch::nn::Dropout(0.2));
      classifier->push_back(torch::nn::Linear(hidden, classifier_classes));
    } else {
      classifier->push_back(torch::nn::Dropout(0.2));
      classifier->push_back(torch::nn::Linear(last_channels_, classifier_classes));
    }
    for (auto& m : classifier->modules(/*include_self=*/false))
      if (auto* lin = m->as<torch::nn::Linear>()) {
        torch::nn::init::normal_(lin->weight, 0.0, 0.01);
        torch::nn::init::zeros_(lin->bias);
      }
  }
}

torch::Tensor MobileNetImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (const auto& m : *features) {
    if (auto* b = m->as<InvertedResidual>())
      y = b->forward(y);
    else
      y = m->as<ConvBNAct>()->forward(y);
  }
  return y;
}

std::pair<torch::Tensor, torch::Tensor> MobileNetImpl::forward_taps(const torch::Tensor& x) {
  torch::Tensor y = x, c4;
  for (size_t i = 0; i < features->size(); ++i) {
    const auto& m = features[i];
    if (auto* b = m->as<InvertedResidual>()) {
      if (static_cast<int>(i) == tap_block_) {
        c4 = b->expand(y);
        y = b->finish(c4, y);
      } else {
        y = b->forward(y);
      }
    } else {
      y = m->as<ConvBNAct>()->forward(y);
    }
  }
  return {c4, y};
}

torch::Tensor MobileNetImpl::classify(const torch::Tensor& x) {
  VEDGE_CHECK(!classifier.is_empty(), "backbone " + name_ + " was built without a classifier head");
  return classifier->forward(forward(x).mean({2, 3}));
}

std::vector<std::shared_ptr<torch::nn::Module>> MobileNetImpl::blocks() const {
  std::vector<std::shared_ptr<torch::nn::Module>> out;
  for (const auto& m : *features) out.push_back(m);
  return out;
}

}  // namespace vedge

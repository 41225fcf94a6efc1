// export.cpp: SSDLite (LibTorch) -> graph IR, BatchNorm folded; and -> ONNX
// through tools/export/onnx_writer. See export.h.
// Depends on LibTorch, model.h, runtime/graph.h, runtime/detector_spec.h and
// tools/export/onnx_writer.h.
#include "train/export.h"

#include <cstring>

#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "tools/export/onnx_writer.h"

namespace vedge {
namespace {

Tensor to_vedge(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  Shape shape(c.sizes().begin(), c.sizes().end());
  Tensor out(DType::F32, shape);
  std::memcpy(out.raw(), c.data_ptr<float>(), out.nbytes());
  return out;
}

// Appends nodes to a Graph; every helper returns the output value id. Node
// and value names are the torch module paths, so errors name the layer.
class Builder {
 public:
  Graph g;

  int input(const std::string& name, const Shape& shape) {
    int id = value(name, shape);
    g.inputs.push_back(id);
    return id;
  }

  // Conv with BatchNorm folded: w' = w * s, b' = (b - mean) * s + beta,
  // s = gamma / sqrt(var + eps), computed in double.
  int conv(int x, const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn,
           const std::string& name) {
    const auto& o = conv->options;
    torch::Tensor w = conv->weight.detach().to(torch::kCPU, torch::kFloat64);
    torch::Tensor b = conv->bias.defined() ? conv->bias.detach().to(torch::kCPU, torch::kFloat64)
                                           : torch::zeros({w.size(0)}, torch::kFloat64);
    if (bn) {
      auto d = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kFloat64); };
      torch::Tensor s = d(bn->weight) / torch::sqrt(d(bn->running_var) + bn->options.eps());
      w = w * s.view({-1, 1, 1, 1});
      b = (b - d(bn->running_mean)) * s + d(bn->bias);
    }
    const auto k = o.kernel_size(), st = o.stride(), dil = o.dilation();
    const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    VEDGE_CHECK(pad != nullptr, "export: ", name, ": only explicit conv padding is supported");
    const Shape in = shape(x);
    Shape out = {1, w.size(0), 0, 0};
    for (int i = 0; i < 2; ++i)
      out[static_cast<size_t>(i) + 2] =
          (in[static_cast<size_t>(i) + 2] + 2 * (*pad)->at(i) - dil->at(i) * (k->at(i) - 1) - 1) /
              st->at(i) + 1;
    Attrs a;
    a.set("strides", std::vector<int64_t>{st->at(0), st->at(1)});
    a.set("pads", std::vector<int64_t>{(*pad)->at(0), (*pad)->at(1), (*pad)->at(0), (*pad)->at(1)});
    a.set("dilations", std::vector<int64_t>{dil->at(0), dil->at(1)});
    a.set("group", static_cast<int64_t>(o.groups()));
    int wi = g.add_constant(name + ".weight", to_vedge(w));
    int bi = g.add_constant(name + ".bias", to_vedge(b));
    return node("Conv", name, {x, wi, bi}, out, a);
  }

  int conv_bn_act(int x, ConvBNActImpl& m, const std::string& name) {
    return act(conv(x, m.conv, m.bn, name), m.act, name);
  }

  int act(int x, Act a, const std::string& name) {
    switch (a) {
      case Act::None: return x;
      case Act::ReLU: return node("Relu", name + ".relu", {x}, shape(x));
      case Act::HardSwish: return node("HardSwish", name + ".hardswish", {x}, shape(x));
      case Act::ReLU6: {
        Attrs c;
        c.set("min", 0.f);
        c.set("max", 6.f);
        return node("Clip", name + ".relu6", {x}, shape(x), c);
      }
    }
    return x;
  }

  int node(const std::string& op, const std::string& name, const std::vector<int>& ins,
           const Shape& out_shape, const Attrs& attrs = {}) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = ins;
    n.attrs = attrs;
    n.outputs = {value(name, out_shape)};
    g.nodes.push_back(n);
    return n.outputs[0];
  }

  // A copy: adding values reallocates g.values.
  Shape shape(int id) const { return g.values[static_cast<size_t>(id)].shape; }

 private:
  int value(const std::string& name, const Shape& shape) {
    Value v;
    v.name = name;
    v.dtype = DType::F32;
    v.shape = shape;
    return g.add_value(v);
  }
};

int squeeze_excite(Builder& b, int x, SqueezeExciteImpl& se, const std::string& name) {
  const Shape xs = b.shape(x);
  int p = b.node("GlobalAveragePool", name + ".avgpool", {x}, {xs[0], xs[1], 1, 1});
  int h = b.act(b.conv(p, se.fc1, nullptr, name + ".fc1"), Act::ReLU, name + ".fc1");
  int s = b.conv(h, se.fc2, nullptr, name + ".fc2");
  Attrs a;
  a.set("alpha", 1.f / 6.f);
  a.set("beta", 0.5f);
  s = b.node("HardSigmoid", name + ".hardsigmoid", {s}, b.shape(s), a);
  return b.node("Mul", name + ".scale", {x, s}, xs);
}

// Returns the block output; *expanded receives the expansion output.
int inverted_residual(Builder& b, int x, InvertedResidualImpl& blk, const std::string& name,
                      int* expanded) {
  const std::string seq = name + (blk.named_children().contains("conv") ? ".conv" : ".block");
  int i = 0;
  int e = x;
  if (blk.expand_layer) e = b.conv_bn_act(x, *blk.expand_layer, seq + "." + std::to_string(i++));
  if (expanded) *expanded = e;
  int y = b.conv_bn_act(e, *blk.dw, seq + "." + std::to_string(i++));
  if (blk.se) y = squeeze_excite(b, y, *blk.se, seq + "." + std::to_string(i++));
  y = b.conv(y, blk.project_conv, blk.project_bn, seq + "." + std::to_string(i));
  if (blk.residual) y = b.node("Add", name + ".add", {y, x}, b.shape(y));
  return y;
}

// [1, K*D, H, W] -> [1, H*W*K, D], the order of SSDLiteImpl::forward.
int flatten_head(Builder& b, int x, int64_t d, const std::string& name) {
  const Shape s = b.shape(x);
  const int64_t k = s[1] / d, h = s[2], w = s[3];
  Attrs r1, t, r2;
  r1.set("shape", std::vector<int64_t>{1, k, d, h, w});
  t.set("perm", std::vector<int64_t>{0, 3, 4, 1, 2});
  r2.set("shape", std::vector<int64_t>{1, h * w * k, d});
  int y = b.node("Reshape", name + ".view", {x}, {1, k, d, h, w}, r1);
  y = b.node("Transpose", name + ".permute", {y}, {1, h, w, k, d}, t);
  return b.node("Reshape", name + ".flatten", {y}, {1, h * w * k, d}, r2);
}

int head_branch(Builder& b, int x, SSDLiteHeadBranchImpl& br, const std::string& name) {
  return b.conv(b.conv_bn_act(x, *br.dw, name + ".0"), br.pw, nullptr, name + ".1");
}

}  // namespace

Graph export_graph(const SSDLite& model, const std::vector<std::string>& labels) {
  torch::NoGradGuard no_grad;
  SSDLiteImpl& m = *model.ptr();
  const ModelConfig& cfg = m.config();
  const DetectorSpec spec = m.detector_spec(labels);
  Builder b;
  b.g.source = "SSDLite(" + cfg.backbone + ")";
  int x = b.input("images", {1, 3, cfg.input_size, cfg.input_size});

  MobileNetImpl& bb = *m.backbone();
  std::vector<int> maps;
  for (size_t i = 0; i < bb.features->size(); ++i) {
    const std::string name = "backbone.features." + std::to_string(i);
    const auto& f = bb.features[i];
    if (auto* blk = f->as<InvertedResidualImpl>()) {
      int e = -1;
      x = inverted_residual(b, x, *blk, name, &e);
      if (static_cast<int>(i) == bb.tap_block()) maps.push_back(e);
    } else {
      x = b.conv_bn_act(x, *f->as<ConvBNActImpl>(), name);
    }
  }
  maps.push_back(x);
  for (size_t i = 0; i < m.extra_blocks.size(); ++i) {
    ExtraBlockImpl& e = *m.extra_blocks[i];
    const std::string name = "extras." + std::to_string(i);
    int y = b.conv_bn_act(maps.back(), *e.reduce, name + ".0");
    y = b.conv_bn_act(y, *e.dw, name + ".1");
    maps.push_back(b.conv_bn_act(y, *e.expand, name + ".2"));
  }

  std::vector<int> boxes, scores;
  int64_t anchors = 0;
  for (size_t i = 0; i < maps.size(); ++i) {
    const std::string k = std::to_string(i);
    boxes.push_back(flatten_head(b, head_branch(b, maps[i], *m.reg_branches[i], "reg_head." + k), 4,
                                 "reg_head." + k));
    scores.push_back(flatten_head(b, head_branch(b, maps[i], *m.cls_branches[i], "cls_head." + k),
                                  cfg.num_classes, "cls_head." + k));
    anchors += b.shape(boxes.back())[1];
  }
  Attrs cat;
  cat.set("axis", int64_t{1});
  b.g.outputs.push_back(b.node("Concat", "boxes", boxes, {1, anchors, 4}, cat));
  b.g.outputs.push_back(b.node("Concat", "scores", scores, {1, anchors, cfg.num_classes}, cat));
  VEDGE_CHECK(anchors == anchor_count(spec.anchors), "export: the heads emit ", anchors,
              " boxes but the anchor spec gives ", anchor_count(spec.anchors));
  b.g.metadata[kDetectorMetadataKey] = detector_spec_to_json(spec);
  b.g.validate();
  validate_detector_spec(spec, b.g);
  return b.g;
}

void export_onnx(const SSDLite& model, const std::vector<std::string>& labels,
                 const std::string& path) {
  Graph g = export_graph(model, labels);
  write_onnx(g, g.metadata, path);
}

}  // namespace vedge

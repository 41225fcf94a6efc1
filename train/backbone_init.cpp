// backbone_init.cpp: pretrained weights -> MobileNet, see backbone_init.h.
// Depends on LibTorch, train/backbones.h and the runtime's TFLite importer.
#include "train/backbone_init.h"

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/tflite_import.h"

namespace vedge {

namespace {

// One of our layers that takes a weight tensor, in forward order.
struct Slot {
  std::string name;  // module path, as in named_parameters()
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};  // the BN after `conv`, if any
  torch::nn::Linear linear{nullptr};
};

std::string sizes_str(at::IntArrayRef s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

std::string net_name(const MobileNet& net) { return net->name(); }

// Backbone layers (stem, blocks, last conv) in forward order.
std::vector<Slot> backbone_slots(MobileNet& net) {
  std::vector<Slot> s;
  for (size_t i = 0; i < net->features->size(); ++i) {
    const std::string f = "features." + std::to_string(i);
    std::shared_ptr<torch::nn::Module> m = net->features[i];
    if (auto* c = m->as<ConvBNActImpl>()) {
      s.push_back({f + ".0", c->conv, c->bn, nullptr});
      continue;
    }
    auto* b = m->as<InvertedResidualImpl>();
    VEDGE_CHECK(b, net_name(net), ": ", f, " is neither a conv nor an inverted residual block");
    const std::string p = f + (net->is_v3() ? ".block." : ".conv.");
    int k = 0;
    if (b->expand_layer) {
      s.push_back({p + std::to_string(k) + ".0", b->expand_layer->conv, b->expand_layer->bn, nullptr});
      ++k;
    }
    s.push_back({p + std::to_string(k) + ".0", b->dw->conv, b->dw->bn, nullptr});
    ++k;
    if (b->se) {
      s.push_back({p + std::to_string(k) + ".fc1", b->se->fc1, nullptr, nullptr});
      s.push_back({p + std::to_string(k) + ".fc2", b->se->fc2, nullptr, nullptr});
      ++k;
    }
    s.push_back({net->is_v3() ? p + std::to_string(k) + ".0" : p + std::to_string(k),
                 b->project_conv, b->project_bn, nullptr});
  }
  return s;
}

std::vector<Slot> classifier_slots(MobileNet& net) {
  std::vector<Slot> s;
  if (!net->classifier) return s;
  for (const auto& item : net->classifier->named_children())
    if (auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(item.value()))
      s.push_back({"classifier." + item.key(), nullptr, nullptr, torch::nn::Linear(lin)});
  return s;
}

// The TFLite classifier's dense head: V3 has two layers (1x1 conv to the
// hidden width, logits), V2 one (logits).
int head_layers(const MobileNet& net) { return net->is_v3() ? 2 : 1; }

torch::Tensor to_torch(const Tensor& t) {
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  return torch::from_blob(const_cast<float*>(t.data<float>()), shape, torch::kFloat32).clone();
}

// A conv or dense layer of the imported graph.
struct FileLayer {
  std::string label;
  torch::Tensor w, b;  // b undefined when absent
  int64_t stride = 1, group = 1;
};

std::vector<FileLayer> file_layers(const Graph& g, const std::string& path) {
  std::vector<FileLayer> v;
  for (const Node& n : g.nodes) {
    if (n.op != "Conv" && n.op != "Gemm") continue;
    FileLayer l;
    l.label = n.label();
    const Value& w = g.values.at(static_cast<size_t>(n.inputs.at(1)));
    VEDGE_CHECK(w.is_constant() && w.constant.dtype() == DType::F32, path, ": node ", n.label(),
                ": weights are not constant");
    l.w = to_torch(w.constant);
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
      const Value& b = g.values.at(static_cast<size_t>(n.inputs[2]));
      VEDGE_CHECK(b.is_constant(), path, ": node ", n.label(), ": bias is not constant");
      l.b = to_torch(b.constant).reshape({-1});
    }
    if (n.op == "Conv") {
      l.stride = n.attrs.get_ints("strides").at(0);
      l.group = n.attrs.get_i("group", 1);
    } else {
      VEDGE_CHECK(n.attrs.get_f("alpha", 1.f) == 1.f && n.attrs.get_f("beta", 1.f) == 1.f &&
                      n.attrs.get_i("transA", 0) == 0,
                  path, ": node ", n.label(), ": unexpected Gemm form");
      if (n.attrs.get_i("transB", 0) == 0) l.w = l.w.t().contiguous();
    }
    v.push_back(std::move(l));
  }
  return v;
}

void load_slot(const Slot& s, const FileLayer& f, const std::string& path, const MobileNet& net,
               int index) {
  torch::NoGradGuard ng;
  auto mismatch = [&](const std::string& what) {
    fail(path, ": layer ", index, " (", s.name, " of ", net_name(net), ") does not match the file's ",
         f.label, ": ", what, " (a different width multiplier or architecture?)");
  };
  if (s.linear) {
    torch::Tensor w = f.w;
    if (w.dim() == 4 && w.size(2) == 1 && w.size(3) == 1) w = w.reshape({w.size(0), w.size(1)});
    if (w.sizes() != s.linear->weight.sizes())
      mismatch("weights " + sizes_str(w.sizes()) + ", ours " + sizes_str(s.linear->weight.sizes()));
    s.linear->weight.copy_(w);
    if (f.b.defined()) s.linear->bias.copy_(f.b);
    else s.linear->bias.zero_();
    return;
  }
  if (f.w.sizes() != s.conv->weight.sizes())
    mismatch("weights " + sizes_str(f.w.sizes()) + ", ours " + sizes_str(s.conv->weight.sizes()));
  const int64_t stride = (*s.conv->options.stride())[0];
  if (f.stride != stride || f.group != s.conv->options.groups())
    mismatch("stride " + std::to_string(f.stride) + " group " + std::to_string(f.group) +
             ", ours stride " + std::to_string(stride) + " group " +
             std::to_string(s.conv->options.groups()));
  s.conv->weight.copy_(f.w);
  const int64_t out = s.conv->weight.size(0);
  torch::Tensor bias = f.b.defined() ? f.b : torch::zeros({out});
  if (bias.numel() != out) mismatch("bias of " + std::to_string(bias.numel()) + " values");
  if (s.bn) {  // folded BN: identity + bias
    s.bn->weight.fill_(1.0);
    s.bn->bias.copy_(bias);
    s.bn->running_mean.zero_();
    s.bn->running_var.fill_(1.0 - s.bn->options.eps());
  } else {
    VEDGE_CHECK(s.conv->bias.defined(), net_name(net), ": ", s.name, " has neither bias nor BN");
    s.conv->bias.copy_(bias);
  }
}

constexpr double kTorchvisionV2BnEps = 1e-5;

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open file");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

BackboneInitResult init_backbone_from_tflite(MobileNet& net, const std::string& path,
                                             bool with_classifier) {
  const Graph g = import_tflite_file(path);
  const std::vector<FileLayer> file = file_layers(g, path);
  const std::vector<Slot> body = backbone_slots(net);
  const std::vector<Slot> head = classifier_slots(net);
  const size_t want = body.size() + static_cast<size_t>(head_layers(net));
  if (file.size() != want)
    fail(path, ": has ", file.size(), " convolution/dense layers, a ", net_name(net),
         " classifier has ", want, " (", body.size(), " in the backbone): not the same architecture");
  if (with_classifier && head.size() != static_cast<size_t>(head_layers(net)))
    fail(net_name(net), ": has no ImageNet classifier head to load ", path, " into");
  BackboneInitResult r;
  for (size_t i = 0; i < body.size(); ++i) load_slot(body[i], file[i], path, net, static_cast<int>(i));
  r.layers = static_cast<int>(body.size());
  if (with_classifier) {
    for (size_t i = 0; i < head.size(); ++i)
      load_slot(head[i], file[body.size() + i], path, net, static_cast<int>(body.size() + i));
    r.layers += static_cast<int>(head.size());
    r.classifier = true;
  }
  return r;
}

BackboneInitResult init_backbone_from_state_dict(MobileNet& net, const std::string& path,
                                                 bool with_classifier) {
  const std::string bytes = read_bytes(path);
  torch::IValue iv;
  try {
    iv = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    fail(path, ": not a PyTorch state_dict file (", msg.substr(0, msg.find('\n')), ")");
  }
  if (!iv.isGenericDict()) fail(path, ": holds a ", iv.tagKind(), ", not a state_dict");
  std::map<std::string, torch::Tensor> sd;
  for (const auto& kv : iv.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor())
      fail(path, ": not a state_dict (entries must map names to tensors)");
    sd[kv.key().toStringRef()] = kv.value().toTensor();
  }
  if (with_classifier && !net->classifier)
    fail(net_name(net), ": has no ImageNet classifier head to load ", path, " into");

  torch::NoGradGuard ng;
  BackboneInitResult r;
  size_t used_features = 0;
  auto load = [&](const std::string& name, torch::Tensor& dst) {
    if (name.rfind("classifier.", 0) == 0 && !with_classifier) return;
    auto it = sd.find(name);
    if (it == sd.end())
      fail(path, ": has no '", name, "' (not a torchvision ", net_name(net), " state_dict?)");
    if (it->second.sizes() != dst.sizes())
      fail(path, ": '", name, "' is ", sizes_str(it->second.sizes()), ", ", net_name(net), " needs ",
           sizes_str(dst.sizes()), " (a different width multiplier or architecture?)");
    dst.copy_(it->second);
    if (name.rfind("features.", 0) == 0) ++used_features;
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 && dst.dim() >= 2)
      ++r.layers;
  };
  for (auto& p : net->named_parameters(/*recurse=*/true)) load(p.key(), p.value());
  for (auto& b : net->named_buffers(/*recurse=*/true)) load(b.key(), b.value());
  // torchvision's MobileNetV2 uses BatchNorm's default eps 1e-5, ours (Keras)
  // 1e-3: shift the variances so that var + eps is the file's (exact unless
  // a variance is below the difference, which is clamped at 0).
  if (!net->is_v3())
    for (auto& m : net->modules(/*include_self=*/false))
      if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>())
        bn->running_var.add_(kTorchvisionV2BnEps - bn->options.eps()).clamp_min_(0.0);
  size_t file_features = 0;
  for (const auto& kv : sd) file_features += kv.first.rfind("features.", 0) == 0;
  if (file_features != used_features)
    fail(path, ": has ", file_features, " backbone tensors, ", net_name(net), " has ",
         used_features, ": not the same architecture");
  r.classifier = with_classifier;
  return r;
}

BackboneInitResult init_backbone(MobileNet& net, const std::string& path, bool with_classifier) {
  return is_tflite_file(path) ? init_backbone_from_tflite(net, path, with_classifier)
                              : init_backbone_from_state_dict(net, path, with_classifier);
}

}  // namespace vedge

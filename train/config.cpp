// config.cpp: YAML -> TrainConfig with strict key checking (see config.h).
// yaml-cpp only, plus the config structs it fills.
#include "train/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <set>
#include <sstream>
#include <type_traits>

#include "runtime/error.h"
#include "runtime/files.h"

namespace vedge {
namespace {

// A map node whose keys are checked against the ones read.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, const std::string& source)
      : node_(node), path_(std::move(path)), source_(source) {
    VEDGE_CHECK(!node_ || node_.IsNull() || node_.IsMap(), source_, ": '", path_, "' must be a map");
  }
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;
  // Unknown keys are reported when the section goes out of scope.
  ~Section() noexcept(false) {
    if (std::uncaught_exceptions() || !node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      std::string k = kv.first.as<std::string>();
      VEDGE_CHECK(seen_.count(k), source_, ": unknown key '", key(k), "'");
    }
  }
  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  bool has(const std::string& k) const { return node_ && node_.IsMap() && node_[k]; }
  YAML::Node child(const std::string& k) {
    seen_.insert(k);
    return has(k) ? node_[k] : YAML::Node();
  }
  template <class T>
  void get(const std::string& k, T& out) {
    seen_.insert(k);
    if (!has(k)) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (node_[k].IsNull()) {  // "key:" or "key: ~" = empty
        out.clear();
        return;
      }
    }
    try {
      out = node_[k].as<T>();
    } catch (const YAML::Exception&) {
      fail(source_, ": '", key(k), "' has a bad value '", YAML::Dump(node_[k]), "'");
    }
  }
  template <class T>
  void get(const std::string& k, T& out, double lo, double hi) {
    get(k, out);
    VEDGE_CHECK(std::isfinite(static_cast<double>(out)) && static_cast<double>(out) >= lo &&
                    static_cast<double>(out) <= hi,
                source_, ": '", key(k), "' must be in [", lo, ", ", hi, "], got ", out);
  }
  void one_of(const std::string& k, std::string& out, const std::set<std::string>& allowed) {
    get(k, out);
    if (allowed.count(out)) return;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(source_, ": '", key(k), "' must be one of ", list, ", got '", out, "'");
  }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

void read_source(Section& parent, const std::string& k, DataSourceConfig& d, const std::string& source) {
  YAML::Node n = parent.child(k);
  if (!n || n.IsNull()) return;
  if (n.IsScalar()) {
    d.path = n.as<std::string>();
    return;
  }
  Section s(n, parent.key(k), source);
  s.get("path", d.path);
  s.one_of("format", d.format, {"auto", "coco", "voc", "yolo"});
  s.get("split", d.split);
  s.get("images_dir", d.images_dir);
  s.get("skip_bad", d.skip_bad);
  VEDGE_CHECK(!d.path.empty(), source, ": '", parent.key(k), ".path' is required");
}

void apply_override(YAML::Node root, const std::string& ov, const std::string& source) {
  size_t eq = ov.find('=');
  VEDGE_CHECK(eq != std::string::npos && eq > 0, source, ": override '", ov, "' must be key.path=value");
  std::string path = ov.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(ov.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    fail(source, ": override '", ov, "': bad value (", e.msg, ")");
  }
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    VEDGE_CHECK(!p.empty(), source, ": override '", ov, "' has an empty key");
    parts.push_back(p);
  }
  // yaml-cpp nodes are handles: walk with copies and assign through them.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node cur = chain.back();
    VEDGE_CHECK(!cur[parts[i]] || cur[parts[i]].IsMap() || cur[parts[i]].IsNull(), source, ": override '", ov,
                "': '", parts[i], "' is not a map");
    if (!cur[parts[i]] || cur[parts[i]].IsNull()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    chain.push_back(cur[parts[i]]);
  }
  chain.back()[parts.back()] = value;
}

}  // namespace

TrainConfig parse_train_config(const std::string& yaml_text, const std::string& source,
                               const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(source, ": line ", e.mark.line + 1, ": ", e.msg);
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  VEDGE_CHECK(root.IsMap(), source, ": the configuration must be a YAML map");
  for (const std::string& ov : overrides) apply_override(root, ov, source);

  TrainConfig c;
  c.source = source;
  {
    YAML::Emitter e;
    e << root;
    c.yaml = e.c_str();
  }
  Section top(root, "", source);
  top.get("name", c.name);
  top.get("seed", c.seed);
  top.get("threads", c.threads, 1, 256);
  {
    Section data(top.child("data"), "data", source);
    YAML::Node syn = data.child("synthetic");
    if (syn && !syn.IsNull()) {
      c.synthetic.enabled = true;
      Section s(syn, "data.synthetic", source);
      s.get("train_images", c.synthetic.train_images, 1, 1e6);
      s.get("val_images", c.synthetic.val_images, 1, 1e6);
      s.get("image_size", c.synthetic.image_size, 32, 4096);
      s.get("seed", c.synthetic.seed);
      s.get("dir", c.synthetic.dir);
    }
    read_source(data, "train", c.train_data, source);
    read_source(data, "val", c.val_data, source);
    VEDGE_CHECK(c.synthetic.enabled || (!c.train_data.path.empty() && !c.val_data.path.empty()), source,
                ": 'data' needs 'synthetic' or both 'train' and 'val'");
    VEDGE_CHECK(!c.synthetic.enabled || (c.train_data.path.empty() && c.val_data.path.empty()), source,
                ": 'data' takes 'synthetic' or 'train'/'val', not both");
  }
  {
    Section m(top.child("model"), "model", source);
    m.one_of("backbone", c.model.backbone, {"mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2"});
    m.get("width", c.model.width, 0.1, 4.0);
    m.get("input_size", c.model.input_size, 32, 2048);
    VEDGE_CHECK(c.model.input_size % 32 == 0, source, ": 'model.input_size' must be a multiple of 32, got ",
                c.model.input_size);
    m.get("feature_maps", c.model.feature_maps);
    VEDGE_CHECK(c.model.feature_maps == 2 || c.model.feature_maps == 6, source,
                ": 'model.feature_maps' must be 2 or 6, got ", c.model.feature_maps);
    m.get("bn_momentum", c.model.bn_momentum, 1e-6, 1.0);
  }
  {
    Section i(top.child("init"), "init", source);
    i.get("tflite", c.init_tflite);
    i.get("state_dict", c.init_state_dict);
    VEDGE_CHECK(c.init_tflite.empty() || c.init_state_dict.empty(), source,
                ": 'init' takes 'tflite' or 'state_dict', not both");
  }
  {
    Section a(top.child("augment"), "augment", source);
    AugmentConfig& g = c.augment;
    a.get("enabled", c.augment_enabled);
    a.get("photometric_prob", g.photometric_prob, 0, 1);
    a.get("brightness_delta", g.brightness_delta, 0, 255);
    a.get("contrast_lower", g.contrast_lower, 0, 10);
    a.get("contrast_upper", g.contrast_upper, 0, 10);
    a.get("saturation_lower", g.saturation_lower, 0, 10);
    a.get("saturation_upper", g.saturation_upper, 0, 10);
    a.get("hue_delta", g.hue_delta, 0, 180);
    a.get("expand_prob", g.expand_prob, 0, 1);
    a.get("expand_max_ratio", g.expand_max_ratio, 1, 16);
    a.get("crop_min_ious", g.crop_min_ious);
    a.get("crop_min_scale", g.crop_min_scale, 0.01, 1);
    a.get("crop_min_aspect", g.crop_min_aspect, 0.01, 100);
    a.get("crop_max_aspect", g.crop_max_aspect, 0.01, 100);
    a.get("crop_max_trials", g.crop_max_trials, 0, 1000);
    a.get("flip_prob", g.flip_prob, 0, 1);
    a.get("min_box_size", g.min_box_size, 0, 1e4);
    VEDGE_CHECK(g.contrast_lower <= g.contrast_upper && g.saturation_lower <= g.saturation_upper &&
                    g.crop_min_aspect <= g.crop_max_aspect,
                source, ": 'augment': a lower bound exceeds its upper bound");
    g.out_width = g.out_height = 0;
  }
  {
    Section t(top.child("train"), "train", source);
    t.get("epochs", c.epochs, 1, 1e6);
    t.get("batch_size", c.batch_size, 1, 4096);
    t.get("steps_per_epoch", c.steps_per_epoch, 0, 1e9);
    t.get("workers", c.workers, 0, 64);
    t.get("prefetch", c.prefetch, 1, 256);
    {
      Section o(t.child("optimizer"), "train.optimizer", source);
      o.one_of("name", c.optimizer.name, {"adam", "adamw", "sgd"});
      o.get("lr", c.optimizer.lr, 1e-12, 10);
      o.get("weight_decay", c.optimizer.weight_decay, 0, 1);
      o.get("momentum", c.optimizer.momentum, 0, 1);
      o.get("nesterov", c.optimizer.nesterov);
      o.get("beta1", c.optimizer.beta1, 0, 1);
      o.get("beta2", c.optimizer.beta2, 0, 1);
      o.get("eps", c.optimizer.eps, 0, 1);
    }
    t.get("warmup_epochs", c.warmup_epochs, 0, 1e6);
    t.get("warmup_factor", c.schedule.warmup_factor, 0, 1);
    t.get("min_lr_factor", c.schedule.min_lr_factor, 0, 1);
    {
      Section f(t.child("freeze"), "train.freeze", source);
      f.get("backbone", c.freeze.backbone);
      f.get("blocks", c.freeze.blocks, 0, 1000);
      f.get("epochs", c.freeze.epochs, 0, 1e6);
    }
    {
      Section l(t.child("loss"), "train.loss", source);
      l.get("neg_pos_ratio", c.loss.neg_pos_ratio, 0, 1000);
      l.get("box_weight", c.loss.box_weight, 0, 1000);
    }
    t.get("match_iou", c.match.iou_threshold, 0.01, 1);
    t.get("patience", c.patience, 0, 1e6);
    t.get("min_delta", c.min_delta, 0, 1);
  }
  {
    Section e(top.child("eval"), "eval", source);
    e.get("every", c.eval.every, 1, 1e6);
    e.get("score_threshold", c.eval.score_threshold, 0, 1);
    e.get("iou_threshold", c.eval.iou_threshold, 0, 1);
    e.get("max_detections", c.eval.max_detections, 1, 1e5);
    e.get("top_k", c.eval.top_k, 1, 1e6);
    e.get("max_images", c.eval.max_images, 0, 1e9);
  }
  {
    Section q(top.child("quantize"), "quantize", source);
    q.get("fp16", c.quantize.fp16);
    q.get("int8", c.quantize.int8);
    q.one_of("method", c.quantize.method, {"minmax", "percentile", "entropy", "mse"});
    q.get("percentile", c.quantize.percentile, 50, 100);
    q.get("samples", c.quantize.samples, 1, 1e6);
    q.one_of("activations", c.quantize.activations, {"int8", "uint8"});
    q.get("max_map_drop", c.quantize.max_map_drop, 0, 100);
  }
  {
    Section x(top.child("export"), "export", source);
    Section t(x.child("tflite"), "export.tflite", source);
    t.get("fp32", c.export_.tflite.fp32);
    t.get("fp16", c.export_.tflite.fp16);
    t.get("dynamic", c.export_.tflite.dynamic);
    const bool int8_given = t.has("int8");
    t.get("int8", c.export_.tflite.int8);
    VEDGE_CHECK(!(int8_given && c.export_.tflite.int8 && !c.quantize.int8), source,
                ": 'export.tflite.int8' needs 'quantize.int8' (it converts model-int8.onnx)");
    if (!c.quantize.int8) c.export_.tflite.int8 = false;
  }
  return c;
}

std::string training_yaml(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail("configuration: line ", e.mark.line + 1, ": ", e.msg);
  }
  if (root && root.IsMap())
    for (const char* k : {"quantize", "export"}) root.remove(k);
  YAML::Emitter e;
  e << root;
  return e.c_str();
}

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_train_config(read_text_file(path), path, overrides);
}

}  // namespace vedge

// detector_spec.cpp: JSON <-> DetectorSpec, spec lookup (file, metadata,
// sidecar) and validation against a graph (see detector_spec.h).
// Depends on nlohmann/json, graph.h, anchors.h and error.h.
#include "runtime/detector_spec.h"

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace vedge {
namespace {

using json = nlohmann::json;

// Reads one JSON object, naming "<source>: detector spec: <path>" in errors.
class Reader {
 public:
  Reader(const json& j, std::string source, std::string path)
      : j_(j), src_(std::move(source)), path_(std::move(path)) {
    if (!j_.is_object()) bad("must be an object");
  }
  [[noreturn]] void bad(const std::string& msg, const std::string& key = "") const {
    fail(src_, ": detector spec: ", key.empty() ? path_ : at(key), " ", msg);
  }
  std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }
  const json& operator[](const std::string& key) const { return j_[key]; }
  Reader child(const std::string& key) const {
    if (!has(key)) bad("is missing", key);
    return Reader(j_[key], src_, at(key));
  }
  void allow(std::initializer_list<const char*> keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      bool ok = false;
      for (const char* k : keys) ok |= it.key() == k;
      if (!ok) bad("is not a known key", it.key());
    }
  }
  double number(const std::string& key, double def, bool required = false) const {
    if (!has(key)) {
      if (required) bad("is missing", key);
      return def;
    }
    if (!j_[key].is_number()) bad("must be a number", key);
    double v = j_[key].get<double>();
    if (!std::isfinite(v)) bad("must be finite", key);
    return v;
  }
  int integer(const std::string& key, int def, int lo, int hi, bool required = false) const {
    if (!has(key)) {
      if (required) bad("is missing", key);
      return def;
    }
    const json& v = j_[key];
    if (!v.is_number_integer()) bad("must be an integer", key);
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) bad("is " + std::to_string(x) + ", outside " + std::to_string(lo) + ".." + std::to_string(hi), key);
    return static_cast<int>(x);
  }
  bool boolean(const std::string& key, bool def) const {
    if (!has(key)) return def;
    if (!j_[key].is_boolean()) bad("must be true or false", key);
    return j_[key].get<bool>();
  }
  std::string string(const std::string& key, const std::string& def, bool required = false) const {
    if (!has(key)) {
      if (required) bad("is missing", key);
      return def;
    }
    if (!j_[key].is_string()) bad("must be a string", key);
    return j_[key].get<std::string>();
  }
  std::vector<double> numbers(const json& v, const std::string& key) const {
    if (!v.is_array()) bad("must be an array of numbers", key);
    std::vector<double> r;
    for (const json& e : v) {
      if (!e.is_number() || !std::isfinite(e.get<double>())) bad("must be an array of numbers", key);
      r.push_back(e.get<double>());
    }
    return r;
  }
  std::vector<double> numbers(const std::string& key) const { return numbers(j_[key], key); }
  std::vector<std::vector<float>> number_lists(const std::string& key) const {
    if (!j_[key].is_array()) bad("must be an array of arrays of numbers", key);
    std::vector<std::vector<float>> r;
    for (const json& e : j_[key]) {
      std::vector<float> l;
      for (double d : numbers(e, key)) l.push_back(static_cast<float>(d));
      r.push_back(l);
    }
    return r;
  }
  // "40x30" strings: width x height.
  std::vector<FeatureMapSize> sizes(const std::string& key) const {
    if (!j_[key].is_array()) bad("must be an array of \"WxH\" strings", key);
    std::vector<FeatureMapSize> r;
    for (const json& e : j_[key]) {
      if (!e.is_string()) bad("must be an array of \"WxH\" strings", key);
      const std::string s = e.get<std::string>();
      int w = 0, h = 0;
      char x = 0, extra = 0;
      if (std::sscanf(s.c_str(), "%d%c%d%c", &w, &x, &h, &extra) != 3 || x != 'x' || w <= 0 || h <= 0)
        bad("has \"" + s + "\", expected \"WxH\" like \"40x30\"", key);
      r.push_back({w, h});
    }
    return r;
  }
  // A number or an array of 3 numbers.
  void triple(const std::string& key, float* out) const {
    if (!has(key)) return;
    const json& v = j_[key];
    if (v.is_number()) {
      for (int c = 0; c < 3; ++c) out[c] = v.get<float>();
      return;
    }
    const std::vector<double> r = numbers(v, key);
    if (r.size() != 3) bad("must be a number or an array of 3 numbers", key);
    for (int c = 0; c < 3; ++c) out[c] = static_cast<float>(r[c]);
  }

 private:
  const json& j_;
  std::string src_, path_;
};

void parse_input(const Reader& r, InputSpec& in) {
  r.allow({"name", "width", "height", "color", "mean", "std", "scale", "resize"});
  in.name = r.string("name", "images");
  in.width = r.integer("width", 0, 1, 16384, true);
  in.height = r.integer("height", 0, 1, 16384, true);
  const std::string color = r.string("color", "rgb");
  if (color == "rgb") in.color = ColorOrder::RGB;
  else if (color == "bgr") in.color = ColorOrder::BGR;
  else r.bad("is \"" + color + "\", expected \"rgb\" or \"bgr\"", "color");
  r.triple("mean", in.mean);
  if (r.has("std") && r.has("scale")) r.bad("gives both std and scale; use one", "scale");
  r.triple("std", in.std);
  if (r.has("scale")) {
    const double s = r.number("scale", 1);
    if (s == 0) r.bad("must not be 0", "scale");
    for (float& v : in.std) v = static_cast<float>(1.0 / s);
  }
  for (float v : in.std)
    if (v == 0.f) r.bad("must not contain 0", "std");
  const std::string resize = r.string("resize", "stretch");
  if (resize == "stretch") in.resize = ResizeMode::Stretch;
  else if (resize == "letterbox") in.resize = ResizeMode::Letterbox;
  else r.bad("is \"" + resize + "\", expected \"stretch\" or \"letterbox\"", "resize");
}

std::vector<FeatureMapSize> parse_maps(const Reader& r, const InputSpec& in) {
  if (r.has("feature_maps") && r.has("strides"))
    r.bad("gives both feature_maps and strides; use one", "strides");
  if (r.has("feature_maps")) return r.sizes("feature_maps");
  if (r.has("strides")) {
    try {
      return feature_maps_from_strides(in.width, in.height, r.numbers("strides"));
    } catch (const Error& e) {
      r.bad(e.what(), "strides");
    }
  }
  r.bad("needs feature_maps (\"WxH\" strings) or strides");
}

void parse_anchors(const Reader& r, const InputSpec& in, AnchorSpec& a) {
  const std::string family = r.string("family", "", true);
  if (family == "ssd") {
    r.allow({"family", "feature_maps", "strides", "aspect_ratios", "min_ratio", "max_ratio",
             "scales", "steps", "clip"});
    a.family = AnchorFamily::Ssd;
    SsdAnchorParams& p = a.ssd;
    p.feature_maps = parse_maps(r, in);
    if (!r.has("aspect_ratios")) r.bad("is missing", "aspect_ratios");
    p.aspect_ratios = r.number_lists("aspect_ratios");
    p.min_ratio = static_cast<float>(r.number("min_ratio", p.min_ratio));
    p.max_ratio = static_cast<float>(r.number("max_ratio", p.max_ratio));
    if (r.has("scales")) p.scales = r.numbers("scales");
    if (r.has("steps")) p.steps = r.numbers("steps");
    p.clip = r.boolean("clip", true);
  } else if (family == "ultraface") {
    r.allow({"family", "feature_maps", "strides", "min_sizes", "centers", "clip"});
    a.family = AnchorFamily::UltraFace;
    UltraFaceAnchorParams& p = a.ultraface;
    p.feature_maps = parse_maps(r, in);
    if (!r.has("min_sizes")) r.bad("is missing", "min_sizes");
    p.min_sizes = r.number_lists("min_sizes");
    const std::string centers = r.string("centers", "feature_map");
    if (centers == "stride") {
      if (!r.has("strides")) r.bad("\"stride\" needs strides", "centers");
      p.strides = r.numbers("strides");
    } else if (centers != "feature_map") {
      r.bad("is \"" + centers + "\", expected \"feature_map\" or \"stride\"", "centers");
    }
    p.clip = r.boolean("clip", true);
  } else {
    r.bad("is \"" + family + "\", expected \"ssd\" or \"ultraface\"", "family");
  }
  try {  // size/consistency checks of the generator itself
    (void)generate_anchors(a, in.width, in.height);
  } catch (const Error& e) {
    r.bad(std::string("are invalid: ") + e.what());
  }
}

}  // namespace

DetectorSpec parse_detector_spec(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(source, ": detector spec is not valid JSON (", e.what(), ")");
  }
  if (!j.is_object()) fail(source, ": detector spec must be a JSON object");
  Reader r(j, source, "");
  r.allow({"version", "labels", "background", "input", "outputs", "anchors", "variances",
           "box_clamp", "thresholds"});
  DetectorSpec s;
  s.source = source;
  r.integer("version", 1, 1, 1);

  if (!r.has("labels") || !r["labels"].is_array() || r["labels"].empty())
    r.bad("must be a non-empty array of strings", "labels");
  for (const json& l : r["labels"]) {
    if (!l.is_string()) r.bad("must be a non-empty array of strings", "labels");
    s.labels.push_back(l.get<std::string>());
  }
  const int n = static_cast<int>(s.labels.size());
  if (r.has("background")) s.background = r.integer("background", 0, 0, n - 1);
  else s.background = j.contains("background") ? -1 : 0;  // explicit null = no background

  parse_input(r.child("input"), s.input);

  const Reader o = r.child("outputs");
  o.allow({"boxes", "scores", "score_activation"});
  s.boxes_output = o.string("boxes", "boxes");
  s.scores_output = o.string("scores", "scores");
  const std::string act = o.string("score_activation", "softmax");
  if (act == "softmax") s.activation = ScoreActivation::Softmax;
  else if (act == "sigmoid") s.activation = ScoreActivation::Sigmoid;
  else if (act == "none") s.activation = ScoreActivation::None;
  else o.bad("is \"" + act + "\", expected \"softmax\", \"sigmoid\" or \"none\"", "score_activation");

  parse_anchors(r.child("anchors"), s.input, s.anchors);

  if (r.has("variances")) {
    const std::vector<double> v = r.numbers("variances");
    if (v.size() != 2 || !(v[0] > 0) || !(v[1] > 0))
      r.bad("must be [center_variance, size_variance], both positive", "variances");
    s.coder.center_variance = static_cast<float>(v[0]);
    s.coder.size_variance = static_cast<float>(v[1]);
  }
  s.coder.clamp = static_cast<float>(r.number("box_clamp", s.coder.clamp));

  if (r.has("thresholds")) {
    const Reader t = r.child("thresholds");
    t.allow({"score", "iou", "max_detections", "top_k", "class_agnostic"});
    DetectThresholds& d = s.thresholds;
    d.score = static_cast<float>(t.number("score", d.score));
    d.iou = static_cast<float>(t.number("iou", d.iou));
    if (d.score < 0 || d.score >= 1) t.bad("must be in [0, 1)", "score");
    if (d.iou <= 0 || d.iou > 1) t.bad("must be in (0, 1]", "iou");
    d.max_detections = t.integer("max_detections", d.max_detections, 1, 100000);
    d.top_k = t.integer("top_k", d.top_k, 1, 10000000);
    d.class_agnostic = t.boolean("class_agnostic", d.class_agnostic);
  }
  return s;
}

static std::string read_text(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open ", what);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

DetectorSpec load_detector_spec_file(const std::string& path) {
  return parse_detector_spec(read_text(path, "detector spec"), path);
}

std::string detector_spec_to_json(const DetectorSpec& s) {
  json j;
  j["version"] = 1;
  j["labels"] = s.labels;
  j["background"] = s.background >= 0 ? json(s.background) : json(nullptr);
  const InputSpec& in = s.input;
  j["input"] = {{"name", in.name},
                {"width", in.width},
                {"height", in.height},
                {"color", in.color == ColorOrder::RGB ? "rgb" : "bgr"},
                {"mean", {in.mean[0], in.mean[1], in.mean[2]}},
                {"std", {in.std[0], in.std[1], in.std[2]}},
                {"resize", in.resize == ResizeMode::Stretch ? "stretch" : "letterbox"}};
  const char* act = s.activation == ScoreActivation::Softmax   ? "softmax"
                    : s.activation == ScoreActivation::Sigmoid ? "sigmoid"
                                                               : "none";
  j["outputs"] = {{"boxes", s.boxes_output}, {"scores", s.scores_output}, {"score_activation", act}};
  auto maps = [](const std::vector<FeatureMapSize>& m) {
    json a = json::array();
    for (const auto& f : m) a.push_back(std::to_string(f.width) + "x" + std::to_string(f.height));
    return a;
  };
  json an;
  if (s.anchors.family == AnchorFamily::Ssd) {
    const SsdAnchorParams& p = s.anchors.ssd;
    an = {{"family", "ssd"}, {"feature_maps", maps(p.feature_maps)}, {"aspect_ratios", p.aspect_ratios},
          {"min_ratio", p.min_ratio}, {"max_ratio", p.max_ratio}, {"clip", p.clip}};
    if (!p.scales.empty()) an["scales"] = p.scales;
    if (!p.steps.empty()) an["steps"] = p.steps;
  } else {
    const UltraFaceAnchorParams& p = s.anchors.ultraface;
    an = {{"family", "ultraface"}, {"min_sizes", p.min_sizes}, {"clip", p.clip}};
    if (p.strides.empty()) {
      an["feature_maps"] = maps(p.feature_maps);
    } else {  // stride centres; the maps follow from the strides
      an["strides"] = p.strides;
      an["centers"] = "stride";
    }
  }
  j["anchors"] = an;
  j["variances"] = {s.coder.center_variance, s.coder.size_variance};
  j["box_clamp"] = s.coder.clamp;
  const DetectThresholds& t = s.thresholds;
  j["thresholds"] = {{"score", t.score}, {"iou", t.iou}, {"max_detections", t.max_detections},
                     {"top_k", t.top_k}, {"class_agnostic", t.class_agnostic}};
  return j.dump(2);
}

std::string sidecar_path(const std::string& model_path) {
  const size_t slash = model_path.find_last_of('/');
  const size_t dot = model_path.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  return (has_ext ? model_path.substr(0, dot) : model_path) + ".vedge.json";
}

DetectorSpec resolve_detector_spec(const std::string& model_path,
                                   const std::map<std::string, std::string>& metadata,
                                   const std::string& explicit_path) {
  if (!explicit_path.empty()) return load_detector_spec_file(explicit_path);
  auto it = metadata.find(kDetectorMetadataKey);
  if (it != metadata.end())
    return parse_detector_spec(it->second,
                               model_path + " (metadata " + kDetectorMetadataKey + ")");
  const std::string side = sidecar_path(model_path);
  struct stat st;
  if (::stat(side.c_str(), &st) == 0) return load_detector_spec_file(side);
  fail(model_path, ": no detector metadata (key ", kDetectorMetadataKey, ") and no sidecar ",
       side, "; pass --spec FILE");
}

static const Value* find_io(const Graph& g, const std::vector<int>& ids, const std::string& name) {
  for (int id : ids)
    if (g.values[static_cast<size_t>(id)].name == name) return &g.values[static_cast<size_t>(id)];
  return nullptr;
}

static std::string io_names(const Graph& g, const std::vector<int>& ids) {
  std::string r;
  for (int id : ids) r += (r.empty() ? "" : ", ") + g.values[static_cast<size_t>(id)].name;
  return r;
}

DetectorShapes validate_detector_spec(const DetectorSpec& s, const Graph& g) {
  const std::string& src = s.source;
  const std::string model = g.source.empty() ? "model" : g.source;
  const Value* in = find_io(g, g.inputs, s.input.name);
  if (!in)
    fail(src, ": input '", s.input.name, "' is not an input of ", model, " (inputs: ",
         io_names(g, g.inputs), ")");
  const Shape want_in{1, 3, s.input.height, s.input.width};
  // A full-integer model takes the image as uint8/int8 (the Detector quantizes it).
  const bool int_io = [](DType t) { return t == DType::U8 || t == DType::I8; }(in->dtype);
  if ((in->dtype != DType::F32 && !int_io) || in->shape != want_in)
    fail(src, ": input '", in->name, "' of ", model, " is ", dtype_name(in->dtype), " ",
         shape_str(in->shape), ", the spec expects ", int_io ? dtype_name(in->dtype) : "float32", " ",
         shape_str(want_in));

  const Value* boxes = find_io(g, g.outputs, s.boxes_output);
  const Value* scores = find_io(g, g.outputs, s.scores_output);
  if (!boxes)
    fail(src, ": boxes output '", s.boxes_output, "' is not an output of ", model,
         " (outputs: ", io_names(g, g.outputs), ")");
  if (!scores)
    fail(src, ": scores output '", s.scores_output, "' is not an output of ", model,
         " (outputs: ", io_names(g, g.outputs), ")");
  auto rows_cols = [&](const Value& v, const char* what, int64_t& rows, int64_t& cols) {
    const Shape& sh = v.shape;
    const bool ok = (sh.size() == 3 && sh[0] == 1) || sh.size() == 2;
    if (!ok || (v.dtype != DType::F32 && v.dtype != DType::I8 && v.dtype != DType::U8))
      fail(src, ": ", what, " output '", v.name, "' of ", model, " is ", dtype_name(v.dtype), " ",
           shape_str(sh), ", expected float32 (or quantized int8/uint8) [1,anchors,",
           what[0] == 'b' ? "4" : "classes", "]");
    rows = sh[sh.size() - 2];
    cols = sh[sh.size() - 1];
  };
  int64_t a_boxes, four, a_scores, classes;
  rows_cols(*boxes, "boxes", a_boxes, four);
  rows_cols(*scores, "scores", a_scores, classes);
  if (four != 4)
    fail(src, ": boxes output '", boxes->name, "' of ", model, " is ", shape_str(boxes->shape),
         ", the last dimension must be 4");
  if (a_boxes != a_scores)
    fail(src, ": ", model, " has ", a_boxes, " box rows but ", a_scores, " score rows");
  const int64_t anchors = anchor_count(s.anchors);
  if (anchors != a_boxes)
    fail(src, ": the anchor spec gives ", anchors, " anchors but ", model, "'s boxes output '",
         boxes->name, "' has ", a_boxes);
  if (static_cast<int64_t>(s.labels.size()) != classes)
    fail(src, ": ", s.labels.size(), " labels but ", model, "'s scores output '", scores->name,
         "' has ", classes, " classes");
  return {anchors, static_cast<int>(classes)};
}

}  // namespace vedge

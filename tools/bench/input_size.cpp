// input_size.cpp: re-import at another input resolution (see input_size.h).
// Depends on runtime/ only.
#include "tools/bench/input_size.h"

#include <cmath>
#include <cstdlib>

#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/onnx_import.h"

namespace vedge {
namespace {

int parse_dim(const std::string& s, const std::string& whole) {
  char* end = nullptr;
  long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
  VEDGE_CHECK(!s.empty() && *end == '\0' && v >= 16 && v <= 8192, "--sizes: '", whole,
              "' is not a size (W or WxH, 16 to 8192 pixels)");
  return static_cast<int>(v);
}

// The new map sizes for one dimension: maps[k] = ceil(maps[k-1] / 2) stays a
// halving; otherwise the map keeps its stride native / maps[k].
std::vector<int> rederive(const std::vector<int>& maps, int native, int size) {
  std::vector<int> out(maps.size());
  for (size_t k = 0; k < maps.size(); ++k) {
    if (k > 0 && maps[k] == (maps[k - 1] + 1) / 2 && maps[k] != maps[k - 1]) {
      out[k] = (out[k - 1] + 1) / 2;
    } else {
      double stride = static_cast<double>(native) / maps[k];
      out[k] = std::max(1, static_cast<int>(std::ceil(size / stride - 1e-9)));
    }
  }
  return out;
}

void rederive_maps(std::vector<FeatureMapSize>& maps, InputSize native, InputSize size) {
  std::vector<int> w, h;
  for (const FeatureMapSize& m : maps) w.push_back(m.width), h.push_back(m.height);
  w = rederive(w, native.width, size.width);
  h = rederive(h, native.height, size.height);
  for (size_t k = 0; k < maps.size(); ++k) maps[k] = {w[k], h[k]};
}

// The first graph input of rank 4 (the image), or -1.
int image_input(const Graph& g) {
  for (int id : g.inputs)
    if (g.values[id].shape.size() == 4) return id;
  return -1;
}

}  // namespace

SizeRequest parse_size_request(const std::string& text) {
  SizeRequest r;
  size_t x = text.find('x');
  if (x == std::string::npos) {
    r.width = parse_dim(text, text);
  } else {
    r.width = parse_dim(text.substr(0, x), text);
    r.height = parse_dim(text.substr(x + 1), text);
  }
  return r;
}

InputSize resolve_size(const SizeRequest& r, int native_width, int native_height) {
  InputSize s{r.width, r.height};
  if (s.height == 0)
    s.height = std::max(1, static_cast<int>(std::lround(static_cast<double>(r.width) * native_height / native_width)));
  return s;
}

InputSize native_input_size(const Graph& g, const std::string& model_path, const std::string& spec_path,
                            bool detector) {
  if (detector) {
    DetectorSpec spec = resolve_detector_spec(model_path, g.metadata, spec_path);
    return {spec.input.width, spec.input.height};
  }
  int id = image_input(g);
  VEDGE_CHECK(id >= 0, model_path, ": no 4-D image input to resize");
  const Shape& s = g.values[id].shape;
  return {static_cast<int>(s[3]), static_cast<int>(s[2])};
}

ResizedModel import_at_size(const std::string& model_path, const std::string& spec_path, bool detector,
                            InputSize size) {
  ResizedModel r;
  r.size = size;
  const Graph native = import_onnx_file(model_path);
  std::string input_name;
  int channels = 3;
  DetectorSpec spec;
  InputSize native_size;
  if (detector) {
    spec = resolve_detector_spec(model_path, native.metadata, spec_path);
    input_name = spec.input.name;
    native_size = {spec.input.width, spec.input.height};
  } else {
    int id = image_input(native);
    VEDGE_CHECK(id >= 0, model_path, ": no 4-D image input to resize");
    input_name = native.values[id].name;
    channels = static_cast<int>(native.values[id].shape[1]);
    native_size = {static_cast<int>(native.values[id].shape[3]), static_cast<int>(native.values[id].shape[2])};
  }
  r.import_options.input_shapes[input_name] = {1, channels, size.height, size.width};
  try {
    r.graph = import_onnx_file(model_path, r.import_options);
  } catch (const Error& e) {
    r.skip_reason = std::string("the graph does not import at this size: ") + e.what();
    return r;
  }
  if (!detector) return r;
  spec.input.width = size.width;
  spec.input.height = size.height;
  if (spec.anchors.family == AnchorFamily::Ssd) rederive_maps(spec.anchors.ssd.feature_maps, native_size, size);
  else rederive_maps(spec.anchors.ultraface.feature_maps, native_size, size);
  try {
    // Through the JSON form, as the Detector will read it (it re-derives
    // maps given as strides the same way).
    spec = parse_detector_spec(detector_spec_to_json(spec), spec.source + " at " + std::to_string(size.width) +
                                                              "x" + std::to_string(size.height));
    validate_detector_spec(spec, *r.graph);
  } catch (const Error& e) {
    r.graph.reset();
    r.skip_reason = std::string("the anchors do not follow the new size: ") + e.what();
    return r;
  }
  r.graph->metadata[kDetectorMetadataKey] = detector_spec_to_json(spec);
  return r;
}

}  // namespace vedge

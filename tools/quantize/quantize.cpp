// quantize.cpp: the `vedge quantize` flow (see quantize.h): import, prepare,
// calibrate, build, metadata, atomic write.
// Depends on runtime (onnx_import, detector_spec), tools/quantize
// (calibrate, qdq_builder), tools/export/onnx_writer and nlohmann/json; no
// LibTorch.
#include "tools/quantize/quantize.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/onnx_import.h"
#include "tools/export/onnx_writer.h"

namespace vedge {
namespace {

const Value& single_input(const Graph& g) {
  if (g.inputs.size() != 1)
    fail(g.source, ": expected one image input, the model has ", g.inputs.size());
  return g.values[static_cast<size_t>(g.inputs[0])];
}

// The range of every value preprocessing can produce: 0..255 pixels through
// (v - mean) / std, over the three channels (letterbox padding is the mean,
// i.e. 0, inside it). The graph input's parameters come from this, not from
// calibration, so a full-integer input represents every possible pixel.
TensorRange input_range(const InputSpec& in) {
  TensorRange r{0.f, 0.f};
  for (int c = 0; c < 3; ++c) {
    if (!(in.std[c] > 0.f)) fail("detector spec: input std[", c, "] must be > 0");
    const float a = (0.f - in.mean[c]) / in.std[c], b = (255.f - in.mean[c]) / in.std[c];
    r.lo = std::min(r.lo, a);
    r.hi = std::max(r.hi, b);
  }
  return r;
}

// Point values without a range (the graph input's comes from the spec).
std::vector<std::string> unranged(const std::vector<QuantPoint>& points,
                                  const std::map<std::string, TensorRange>& ranges) {
  std::vector<std::string> v;
  for (const QuantPoint& p : points)
    if (!ranges.count(p.value) && std::find(v.begin(), v.end(), p.value) == v.end())
      v.push_back(p.value);
  return v;
}

// A gate (HardSigmoid, Sigmoid: values in [0, 1] that scale a whole channel,
// as in squeeze-and-excitation blocks) is never clipped: whatever the
// method, its range is its observed min-max. Clipping a gate (entropy does,
// its histogram is bimodal) shrinks entire channels and can silence the
// detector.
bool is_gate(const std::string& op) { return op == "HardSigmoid" || op == "Sigmoid"; }

nlohmann::ordered_json params_json(const QuantParams& q) {
  return {{"scale", q.scale.at(0)}, {"zero_point", q.zero_point.at(0)}};
}

const char* io_name(DType t) { return t == DType::F32 ? "float" : t == DType::I8 ? "int8" : "uint8"; }

void build(QuantizeResult& r) {
  const QdqOptions& q = r.options.qdq;
  if (q.precision == Precision::INT8) {
    r.points = quantization_points(r.prepared, q);
    calibrate_missing(r, r.points);
  } else {
    r.points.clear();
  }
  r.qdq = build_qdq_graph(r.prepared, r.ranges, q);
  r.qdq.source = r.prepared.source;
  r.metadata = r.float_metadata;
  r.metadata[kQuantizationMetadataKey] = quantization_metadata_json(r);
}

}  // namespace

void calibrate_missing(QuantizeResult& r, const std::vector<QuantPoint>& points) {
  const std::vector<std::string> missing = unranged(points, r.ranges);
  if (missing.empty()) return;
  if (r.calib.inputs.empty())
    fail(r.prepared.source, ": int8 quantization needs a calibration set (--calib DATASET)");
  const CalibOptions& opt = r.options.calib;
  check_calib_options(opt);
  std::set<std::string> gates;
  for (const QuantPoint& p : points)
    if (is_gate(p.op)) gates.insert(p.value);
  CalibOptions minmax = opt;
  minmax.method = CalibMethod::MinMax;
  for (const auto& [name, obs] : observe_activations(r.prepared, missing, r.calib, opt.bins, r.options.progress))
    r.ranges[name] = obs.range(gates.count(name) ? minmax : opt);
}

std::string quantization_metadata_json(const QuantizeResult& r) {
  const QdqOptions& q = r.options.qdq;
  const bool int8 = q.precision == Precision::INT8;
  nlohmann::ordered_json j;
  j["precision"] = precision_name(q.precision);
  j["method"] = int8 ? calib_method_name(r.options.calib.method) : "none";
  if (int8 && r.options.calib.method == CalibMethod::Percentile)
    j["percentile"] = r.options.calib.percentile;
  j["samples"] = int8 ? r.calib.inputs.size() : 0;
  j["activations"] = int8 ? io_name(q.activations) : "float";
  j["io"] = int8 ? io_name(q.io) : "float";
  j["float_nodes"] = nlohmann::ordered_json::array();
  for (const std::string& n : q.float_nodes) j["float_nodes"].push_back(n);
  if (int8 && q.io != DType::F32) {
    const Value& in = r.qdq.values[static_cast<size_t>(r.qdq.inputs.at(0))];
    j["input"] = params_json(in.quant);
    nlohmann::ordered_json outs = nlohmann::ordered_json::object();
    for (int o : r.qdq.outputs) {
      const Value& v = r.qdq.values[static_cast<size_t>(o)];
      outs[v.name] = params_json(v.quant);
    }
    j["outputs"] = outs;
  }
  return j.dump();
}

QuantizeResult quantize_model(const std::string& model_path, const QuantizeOptions& opt) {
  QuantizeResult r;
  r.options = opt;
  const bool int8 = opt.qdq.precision == Precision::INT8;
  if (opt.qdq.precision == Precision::FP32)
    fail(model_path, ": precision fp32 is the model itself; choose int8, fp16 or dynamic");
  if (int8 && opt.calib_path.empty())
    fail(model_path, ": int8 quantization needs a calibration set (--calib DATASET)");

  const Graph g = import_onnx_file(model_path);
  auto q = g.metadata.find(kQuantizationMetadataKey);
  if (q != g.metadata.end())
    fail(model_path, ": already quantized (", kQuantizationMetadataKey, " = ", q->second.substr(0, 40),
         "...); quantize the float model instead");
  r.float_metadata = g.metadata;
  r.prepared = prepare_for_quantization(g);
  // The spec: required for INT8; for FP16 / dynamic only copied when found.
  DetectorSpec spec;
  bool have_spec = false;
  try {
    spec = resolve_detector_spec(model_path, g.metadata, opt.spec_path);
    have_spec = true;
  } catch (const Error&) {
    if (int8 || !opt.spec_path.empty()) throw;
  }
  if (have_spec && !r.float_metadata.count(kDetectorMetadataKey))
    r.float_metadata[kDetectorMetadataKey] = detector_spec_to_json(spec);
  if (!int8) {
    build(r);
    return r;
  }

  const Value& in = single_input(g);
  const Shape want{1, 3, spec.input.height, spec.input.width};
  if (in.shape != want)
    fail(model_path, ": input '", in.name, "' is ", shape_str(in.shape), " but the detector spec (",
         spec.source, ") preprocesses to ", shape_str(want));
  r.calib = load_calibration_set(opt.calib_path, spec.input, opt.calib_set);
  r.ranges[in.name] = input_range(spec.input);

  // Calibrate every value any later rebuild() can quantize: all layers
  // quantized (no float nodes) with full-integer outputs, plus this run's.
  QdqOptions all = opt.qdq;
  all.float_nodes.clear();
  all.io = DType::I8;
  std::vector<QuantPoint> superset = quantization_points(r.prepared, all);
  const std::vector<QuantPoint> mine = quantization_points(r.prepared, opt.qdq);
  superset.insert(superset.end(), mine.begin(), mine.end());
  calibrate_missing(r, superset);
  build(r);
  return r;
}

void rebuild(QuantizeResult& r, const QdqOptions& opt) {
  r.options.qdq = opt;
  build(r);
}

void write_quantized(const QuantizeResult& r, const std::string& out_path) {
  write_onnx(r.qdq, r.metadata, out_path);
}

}  // namespace vedge

// tflite_export.cpp: ONNX detector -> .tflite variants (see tflite_export.h).
// Depends on runtime (ONNX import, detector spec, files), tools/quantize and
// tools/export; no LibTorch.
#include "tools/export/tflite_export.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/files.h"
#include "runtime/onnx_import.h"
#include "tools/export/onnx_writer.h"
#include "tools/export/tflite_convert.h"
#include "tools/export/tflite_postprocess.h"
#include "tools/export/tflite_writer.h"

namespace vedge {
namespace fs = std::filesystem;
namespace {

const char* io_name(DType t) {
  switch (t) {
    case DType::F32: return "float";
    case DType::I8: return "int8";
    case DType::U8: return "uint8";
    default: fail("TFLite export: io must be float, int8 or uint8, not dtype ", static_cast<int>(t));
  }
}

// The quantization an ONNX file already carries ("vedge.quantization").
struct SourceQuantization {
  bool quantized = false;
  Precision precision = Precision::FP32;
  DType io = DType::F32;
};

SourceQuantization source_quantization(const Graph& g, const std::string& model_path) {
  SourceQuantization s;
  auto it = g.metadata.find(kQuantizationMetadataKey);
  if (it == g.metadata.end()) return s;
  s.quantized = true;
  try {
    const nlohmann::json j = nlohmann::json::parse(it->second);
    s.precision = parse_precision(j.at("precision").get<std::string>());
    const std::string io = j.value("io", std::string("float"));
    s.io = io == "int8" ? DType::I8 : io == "uint8" ? DType::U8 : DType::F32;
  } catch (const nlohmann::json::exception& e) {
    fail(model_path, ": metadata ", kQuantizationMetadataKey, " is not valid (", e.what(), ")");
  }
  return s;
}

// The detector spec: explicit file > metadata > sidecar; nullopt when none.
std::optional<DetectorSpec> find_spec(const std::string& model_path, const Graph& g, const std::string& spec_path) {
  if (!spec_path.empty()) return resolve_detector_spec(model_path, g.metadata, spec_path);
  if (!g.metadata.count(kDetectorMetadataKey) && !fs::exists(sidecar_path(model_path))) return std::nullopt;
  return resolve_detector_spec(model_path, g.metadata, "");
}

TflitePostprocessOptions postprocess_options(const DetectorSpec& spec, const TflitePostprocessOverrides& o) {
  TflitePostprocessOptions p = postprocess_options_from_spec(spec);
  if (o.max_detections) {
    p.max_detections = *o.max_detections;
    p.detections_per_class = std::max(p.detections_per_class, p.max_detections);
  }
  if (o.score_threshold) p.score_threshold = *o.score_threshold;
  if (o.iou_threshold) p.iou_threshold = *o.iou_threshold;
  return p;
}

struct ConvertJob {
  Precision precision = Precision::FP32;
  DType io = DType::F32;
  bool nms_in_graph = false;
  TflitePostprocessOverrides postprocess;
  std::string spec_path;
};

// A canonical graph (float, or lowered from QDQ) -> tflite::Model with the
// metadata of the header, written atomically.
TfliteExportResult convert_and_write(const Graph& g, const std::string& model_path, const std::string& out_path,
                                     const ConvertJob& job) {
  std::optional<DetectorSpec> spec = find_spec(model_path, g, job.spec_path);
  VEDGE_CHECK(!job.nms_in_graph || spec, model_path,
              ": --nms-in-graph needs a detector spec (no vedge.detector metadata, sidecar or --spec)");

  TfliteConvertOptions co;
  co.weights = job.precision == Precision::FP16      ? TfliteWeights::Float16
               : job.precision == Precision::Dynamic ? TfliteWeights::Int8
                                                     : TfliteWeights::Float32;
  tflite::Model m;
  try {
    m = graph_to_tflite(g, co);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find(model_path) != std::string::npos) throw;
    fail(model_path, ": ", what);
  }
  if (spec) m.metadata[kDetectorMetadataKey] = detector_spec_to_json(*spec);
  auto q = g.metadata.find(kQuantizationMetadataKey);
  if (q != g.metadata.end()) m.metadata[kQuantizationMetadataKey] = q->second;
  m.metadata[kTfliteMetadataKey] = tflite_metadata_json(job.precision, job.io, false);
  if (job.nms_in_graph) {
    append_detection_postprocess(m, *spec, postprocess_options(*spec, job.postprocess));
    m.metadata[kTfliteMetadataKey] = tflite_metadata_json(job.precision, job.io, true);
  }
  m.description = std::string("vision-edge ") + VEDGE_VERSION + " " + precision_name(job.precision);
  tflite::write_file(m, out_path);
  return {out_path, job.precision, static_cast<size_t>(fs::file_size(out_path))};
}

std::string variant_path(const std::string& dir, const std::string& stem, Precision p, const char* ext) {
  return (fs::path(dir) / (stem + "_" + precision_name(p) + ext)).string();
}

TfliteExportResult result_of(const std::string& path, Precision p) {
  return {path, p, static_cast<size_t>(fs::file_size(path))};
}

}  // namespace

Precision source_precision(const std::string& model_path) {
  VEDGE_CHECK(fs::is_regular_file(model_path), model_path, ": no such model file");
  const SourceQuantization s = source_quantization(import_onnx_file(model_path), model_path);
  return s.quantized ? s.precision : Precision::FP32;
}

std::string tflite_metadata_json(Precision precision, DType io, bool postprocess) {
  nlohmann::ordered_json j;
  j["precision"] = precision_name(precision);
  j["io"] = io_name(io);
  j["layout"] = "NHWC";
  j["postprocess"] = postprocess;
  j["producer"] = std::string("vision-edge ") + VEDGE_VERSION;
  return j.dump();
}

TfliteExportResult export_tflite(const std::string& model_path, const std::string& out_path,
                                 const TfliteExportOptions& opt) {
  const bool int8 = opt.precision == Precision::INT8;
  const char* io = io_name(opt.io);  // rejects anything but float, int8, uint8
  VEDGE_CHECK(int8 || opt.io == DType::F32, model_path, ": io ", io, " needs precision int8 (",
              precision_name(opt.precision), " files keep float input/outputs)");
  VEDGE_CHECK(fs::is_regular_file(model_path), model_path, ": no such model file");
  const Graph g = import_onnx_file(model_path);
  const SourceQuantization src = source_quantization(g, model_path);

  ConvertJob job;
  job.precision = opt.precision;
  job.io = opt.io;
  job.nms_in_graph = opt.nms_in_graph;
  job.postprocess = opt.postprocess;
  job.spec_path = opt.quantize.spec_path;

  if (src.quantized) {
    VEDGE_CHECK(src.precision == opt.precision, model_path, ": already quantized (", precision_name(src.precision),
                "): it converts to ", precision_name(src.precision), " only; give the float model for ",
                precision_name(opt.precision));
    VEDGE_CHECK(opt.io == DType::F32 || opt.io == src.io, model_path, ": already quantized with io ",
                io_name(src.io), "; io ", io_name(opt.io), " needs the float model");
    VEDGE_CHECK(opt.quantize.calib_path.empty(), model_path, ": already quantized (", precision_name(src.precision),
                "): it keeps its own quantization, no calibration set is used");
    job.io = src.io;
    return convert_and_write(g, model_path, out_path, job);
  }
  if (!int8) return convert_and_write(g, model_path, out_path, job);

  VEDGE_CHECK(!opt.quantize.calib_path.empty(), model_path,
              ": int8 from a float model needs calibration images (--calib DATASET)");
  QuantizeOptions q = opt.quantize;
  q.qdq.precision = Precision::INT8;
  q.qdq.io = opt.io;
  q.progress = opt.progress;
  const QuantizeResult r = quantize_model(model_path, q);
  // The QDQ model as its ONNX file would be imported (lowered to integer
  // ops), so a .tflite made here equals one converted from that file.
  const Graph lowered = import_onnx_bytes(serialize_onnx(r.qdq, r.metadata), model_path);
  return convert_and_write(lowered, model_path, out_path, job);
}

std::vector<TfliteExportResult> export_all(const std::string& model_path, const std::string& out_dir,
                                           const ExportAllOptions& opt) {
  VEDGE_CHECK(fs::is_regular_file(model_path), model_path, ": no such model file");
  VEDGE_CHECK(!opt.quantize.calib_path.empty(), model_path,
              ": export --all needs calibration images for the int8 variants (--calib DATASET)");
  const Graph g = import_onnx_file(model_path);
  VEDGE_CHECK(!source_quantization(g, model_path).quantized, model_path,
              ": already quantized; export --all needs the float model");
  const std::optional<DetectorSpec> spec = find_spec(model_path, g, opt.quantize.spec_path);
  VEDGE_CHECK(!opt.nms_in_graph || spec, model_path,
              ": --nms-in-graph needs a detector spec (no vedge.detector metadata, sidecar or --spec)");
  fs::create_directories(out_dir);
  const std::string stem = fs::path(model_path).stem().string();
  std::vector<TfliteExportResult> out;

  // ONNX: the float model itself (with the spec in its metadata when it
  // came from a file), then the quantizer's three variants.
  const std::string fp32_onnx = variant_path(out_dir, stem, Precision::FP32, ".onnx");
  if (spec && !g.metadata.count(kDetectorMetadataKey)) {
    std::map<std::string, std::string> md = g.metadata;
    md[kDetectorMetadataKey] = detector_spec_to_json(*spec);
    write_onnx(g, md, fp32_onnx);
  } else {
    write_text_file_atomic(fp32_onnx, read_text_file(model_path));
  }
  out.push_back(result_of(fp32_onnx, Precision::FP32));
  for (Precision p : {Precision::FP16, Precision::Dynamic, Precision::INT8}) {
    QuantizeOptions q = opt.quantize;
    q.qdq.precision = p;
    if (p != Precision::INT8) q.qdq.io = DType::F32;
    q.progress = opt.progress;
    const std::string path = variant_path(out_dir, stem, p, ".onnx");
    write_quantized(quantize_model(model_path, q), path);
    out.push_back(result_of(path, p));
  }

  // TFLite: fp32 / fp16 / dynamic from the float model, int8 from the int8
  // ONNX just written (its calibration, not a second one).
  ConvertJob job;
  job.nms_in_graph = opt.nms_in_graph;
  job.postprocess = opt.postprocess;
  job.spec_path = opt.quantize.spec_path;
  for (Precision p : {Precision::FP32, Precision::FP16, Precision::Dynamic}) {
    job.precision = p;
    out.push_back(convert_and_write(g, model_path, variant_path(out_dir, stem, p, ".tflite"), job));
  }
  const std::string int8_onnx = variant_path(out_dir, stem, Precision::INT8, ".onnx");
  job.precision = Precision::INT8;
  job.io = opt.quantize.qdq.io;
  job.spec_path.clear();  // the int8 ONNX carries the spec
  out.push_back(
      convert_and_write(import_onnx_file(int8_onnx), int8_onnx, variant_path(out_dir, stem, Precision::INT8, ".tflite"),
                        job));
  return out;
}

}  // namespace vedge

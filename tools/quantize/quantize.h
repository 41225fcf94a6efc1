// quantize.h: the whole `vedge quantize` flow on a float ONNX detector:
// import, prepare (qdq_builder.h), calibrate on a calibration set read and
// preprocessed by the same code as inference (calibrate.h), build the QDQ /
// dynamic / FP16 graph, and write it with the float model's metadata plus
// "vedge.quantization" (format in docs/quantization.md). INT8 needs the
// detector spec (its InputSpec preprocesses the calibration images and
// gives the input range); a spec that came from a file or a sidecar is
// written into the output's "vedge.detector" so the file describes itself.
// Depends on runtime (import, detector spec), tools/quantize and
// tools/export/onnx_writer.h; no LibTorch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/graph.h"
#include "tools/quantize/calibrate.h"
#include "tools/quantize/observers.h"
#include "tools/quantize/qdq_builder.h"

namespace vedge {

inline constexpr const char* kQuantizationMetadataKey = "vedge.quantization";

struct QuantizeOptions {
  QdqOptions qdq;
  CalibOptions calib;
  CalibSetOptions calib_set;
  std::string calib_path;  // required for INT8, ignored for FP16 / Dynamic
  // Detector spec file for a model without "vedge.detector" metadata (see
  // runtime/detector_spec.h); the spec then goes into the output's metadata.
  std::string spec_path;
  bool progress = true;
};

struct QuantizeResult {
  QuantizeOptions options;
  Graph prepared;
  CalibrationSet calib;
  std::map<std::string, TensorRange> ranges;
  std::vector<QuantPoint> points;
  Graph qdq;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> float_metadata;  // the source model's metadata
};

QuantizeResult quantize_model(const std::string& model_path, const QuantizeOptions& opt);
// Calibrates, on r.calib, every point of `points` that has no range in
// r.ranges yet (one pass over the set), with r.options.calib's method except
// for gates (HardSigmoid/Sigmoid outputs), which always keep their min-max
// range. Throws a one-line vedge::Error when there is no calibration set.
void calibrate_missing(QuantizeResult& r, const std::vector<QuantPoint>& points);
// Re-builds r.qdq (and metadata) from r.prepared and r.ranges with new options.
void rebuild(QuantizeResult& r, const QdqOptions& opt);
void write_quantized(const QuantizeResult& r, const std::string& out_path);  // atomic

// The "vedge.quantization" JSON of a built result (what write_quantized stores).
std::string quantization_metadata_json(const QuantizeResult& r);

}  // namespace vedge

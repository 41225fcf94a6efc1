// analysis.h: the accuracy tools of `vedge quantize` (--report,
// --sensitivity, --max-map-drop):
//  - per-layer error: SQNR (dB), cosine similarity and max abs error between
//    the float activation (float graph) and the fake-quantized one (the QDQ
//    graph after fold_dequantized_constants, read at the DequantizeLinear
//    outputs) at every quantization point, and at the graph outputs, over
//    the first `error_images` calibration images;
//  - sensitivity: one layer quantized at a time (every other quantizable
//    node kept in float), ranked by mAP@0.5 drop on a validation set run by
//    the real integer runtime (serialize -> import (Integer) -> Detector ->
//    COCO eval), else by the SQNR of the worst graph output;
//  - mixed precision: the most sensitive layers kept in float, one at a
//    time, until the mAP@0.5 drop is within the budget (or all are float).
//    The order is the sensitivity ranking: by mAP drop with --sensitivity
//    (one validation run per layer), else by output SQNR (cheap; validation
//    runs only for the steps).
// The metrics and the search are plain functions (testable without a
// model); analyze_quantization() runs them on a QuantizeResult.
// Depends on runtime (executor, quant_lower, onnx_import, detector),
// tools/quantize (quantize.h), tools/eval, tools/export/onnx_writer.h and
// data/load.h; no LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/detector.h"
#include "runtime/graph.h"
#include "runtime/tensor.h"
#include "tools/quantize/quantize.h"

namespace vedge {

struct AnalysisOptions {
  std::string report_dir;  // empty: no report files
  bool sensitivity = false;
  std::string val_path, val_format, val_images_dir;  // validation set (optional)
  std::optional<double> max_map_drop;  // mAP@0.5 points (0.5 = 0.005 mAP), needs val_path
  int error_images = 16;               // calibration images for per-layer errors
  // Detection thresholds of the mAP evaluations (unset fields: the model
  // spec's). mAP needs the low-score tail: score 0.01, at most 100 boxes per
  // image by default, as the pipeline's evaluation (configs/demo.yaml).
  DetectOptions detect{0.01f, std::nullopt, 100, std::nullopt, std::nullopt};
  int threads = 1;                     // Session threads
  bool progress = true;                // progress bars on stderr
  bool print_summary = true;           // analysis_summary() to stdout
  std::string command;                 // the command line, recorded in the report
};

// ---- error metrics -------------------------------------------------------

// Accumulates reference (float) vs test (quantized) over many tensors.
struct ErrorStats {
  double signal = 0;  // sum ref^2
  double noise = 0;   // sum (ref - test)^2
  double dot = 0;     // sum ref * test
  double test_sq = 0; // sum test^2
  double max_abs = 0;
  int64_t count = 0;
  void add(const float* ref, const float* test, int64_t n);
  // 10 log10(signal / noise); +inf when noise == 0 (exact), -inf when the
  // signal is 0 but the noise is not. Reports print them as "inf" / "-inf".
  double sqnr_db() const;
  // dot / (|ref| |test|); 1 when both are all zero, 0 when only one is.
  double cosine() const;
};

// Named error of one tensor (a quantization point or a graph output).
struct LayerError {
  std::string value;  // float value name
  std::string node;   // producer node ("" for the graph input)
  std::string op;
  double sqnr_db = 0, cosine = 0, max_abs = 0;
  int64_t elements = 0;  // summed over the images
};

struct ErrorAnalysis {
  std::vector<LayerError> layers;   // one per quantization point, graph order
  std::vector<LayerError> outputs;  // one per graph output (boxes, scores)
  int images = 0;
};

// Runs `float_graph` and `qdq_graph` (fake-quantized with
// fold_dequantized_constants, run by a Session) over `inputs`, comparing each
// point's float value with its DequantizeLinear output, and the graph
// outputs pairwise (same order). Throws vedge::Error naming a point whose
// value is missing from either graph.
ErrorAnalysis measure_errors(const Graph& float_graph, const Graph& qdq_graph,
                             const std::vector<QuantPoint>& points,
                             const std::vector<Tensor>& inputs, int threads = 1);

// The worst (lowest) output SQNR: the output-error score of one graph.
double worst_output_sqnr(const ErrorAnalysis& e);

// ---- sensitivity ---------------------------------------------------------

struct LayerSensitivity {
  std::string node, op;
  double output_sqnr_db = 0;  // worst output SQNR with only this layer quantized
  double map50 = -1;          // mAP@0.5 with only this layer quantized (-1 without val)
  double map_drop = 0;        // (float mAP - map50) * 100, points (0 without val)
};

struct SensitivityResult {
  bool by_map = false;  // ranked by mAP drop (else by output SQNR)
  double float_map50 = -1;
  std::vector<LayerSensitivity> ranked;  // most sensitive first
};

// Most sensitive first: by map_drop descending when by_map (ties: lower
// output SQNR first), else by output SQNR ascending; ties keep input order.
void rank_sensitivity(SensitivityResult& s);

// ---- mixed precision -----------------------------------------------------

struct MixedPrecisionStep {
  std::string added;  // layer kept in float at this step ("" for the all-INT8 start)
  std::vector<std::string> float_nodes;  // every layer in float after this step
  double map50 = 0;
  double drop = 0;  // points
};

struct MixedPrecisionResult {
  double budget = 0;  // points
  double float_map50 = 0;
  std::vector<MixedPrecisionStep> steps;  // steps[0] = all INT8
  std::vector<std::string> kept_float;    // = steps.back().float_nodes
  bool met_budget = false;
  double final_map50() const { return steps.empty() ? 0 : steps.back().map50; }
};

// mAP@0.5 (0..1) of the model built with `float_nodes` kept in float.
using MapEvaluator = std::function<double(const std::set<std::string>& float_nodes)>;

// Evaluates the all-INT8 model, then while (float_map50 - map) * 100 > budget
// keeps the next layer of `ranked` (most sensitive first) in float and
// re-evaluates; stops within budget or when every layer is float.
MixedPrecisionResult search_mixed_precision(const std::vector<std::string>& ranked,
                                            double float_map50, double budget_points,
                                            const MapEvaluator& evaluate);

// ---- the whole analysis --------------------------------------------------

struct QuantAnalysis {
  std::string precision, method, activations;
  std::string io;  // "float", "int8" or "uint8" graph input/outputs (errors are measured with float I/O)
  int calib_samples = 0;
  // Per-layer and output errors of the model as calibrated (every layer
  // INT8 but the caller's own float_nodes): the chart of the report.
  ErrorAnalysis errors;
  // Output errors of the returned model when mixed precision kept layers in
  // float (empty otherwise).
  std::vector<LayerError> final_outputs;
  std::optional<SensitivityResult> sensitivity;
  std::optional<MixedPrecisionResult> mixed;
  double float_map50 = -1, quant_map50 = -1;  // -1 without val (quant = final model)
  std::string val_path;
  std::string command, date_utc;
};

// Runs the analysis the options ask for. INT8 only (one-line vedge::Error
// otherwise); max_map_drop needs val_path. Updates r (rebuild()) when
// layers are kept in float.
QuantAnalysis run_quantization_analysis(QuantizeResult& r, const AnalysisOptions& opt);

// A few lines for the terminal: worst layers, sensitivity top, kept layers.
std::string analysis_summary(const QuantAnalysis& a);

// run_quantization_analysis + the report (quant_report.h) when report_dir is
// set + the summary to stdout when print_summary. Returns r, re-built when
// layers were kept in float.
QuantizeResult analyze_quantization(QuantizeResult r, const AnalysisOptions& opt);

}  // namespace vedge

// tflite_export.h: the whole `vedge convert --to tflite` and `vedge export
// --all` flows. An ONNX detector becomes a .tflite file in one of the four
// variants of docs/tflite-format.md (fp32, fp16 weights, dynamic-range int8
// weights, full-integer int8), written atomically with its metadata:
//   "vedge.detector"      the source's detector spec (or the --spec file's),
//   "vedge.quantization"  the quantization record of an int8 model
//                         (docs/quantization.md; the source's when it was
//                         already quantized),
//   "vedge.tflite"        {"precision", "io", "layout": "NHWC",
//                          "postprocess", "producer"}.
// A float source is converted directly (fp32, fp16, dynamic) or quantized
// first with tools/quantize (quantize_model: the calibration of `vedge
// quantize`, one implementation) and then converted from the QDQ model
// exactly as a QDQ file would be. An already quantized source (an ONNX from
// `vedge quantize`, with "vedge.quantization") keeps its quantization: it
// converts to its own precision only and needs no calibration.
// Depends on runtime (ONNX import, detector spec), tools/quantize,
// tools/export (onnx_writer, tflite_convert, tflite_postprocess,
// tflite_writer); no LibTorch.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tools/quantize/quantize.h"

namespace vedge {

inline constexpr const char* kTfliteMetadataKey = "vedge.tflite";

// The in-graph post-processing (TFLite_Detection_PostProcess, see
// tflite_postprocess.h): unset fields keep postprocess_options_from_spec()
// of the model's detector spec.
struct TflitePostprocessOverrides {
  std::optional<int> max_detections;  // also raises detections_per_class to at least this
  std::optional<float> score_threshold, iou_threshold;
};

struct TfliteExportOptions {
  Precision precision = Precision::FP32;
  // int8 only: the model's input/outputs float (F32), or full-integer I8 /
  // U8 (QdqOptions::io; this field wins over quantize.qdq.io).
  DType io = DType::F32;
  bool nms_in_graph = false;  // append TFLite_Detection_PostProcess
  TflitePostprocessOverrides postprocess;
  // int8 from a float model: calibration set, method, samples, activation
  // type, spec file (quantize.qdq.precision and .io are set from above).
  // spec_path also serves --nms-in-graph for a model without metadata.
  QuantizeOptions quantize;
  bool progress = true;  // calibration progress bar
};

struct TfliteExportResult {
  std::string path;
  Precision precision = Precision::FP32;
  size_t bytes = 0;
};

// MODEL.onnx -> out_path (.tflite), atomically: nothing is written when any
// step fails. One-line vedge::Error (naming the model) for: --io with a
// precision other than int8; int8 from a float model without a calibration
// set; a quantized source asked for another precision or io, or given a
// calibration set; --nms-in-graph without a detector spec; and whatever the
// import, quantizer, converter or writer reject (an op TFLite cannot
// express, a calibration set that does not match the input, ...).
TfliteExportResult export_tflite(const std::string& model_path, const std::string& out_path,
                                 const TfliteExportOptions& opt);

struct ExportAllOptions {
  // Calibration of the int8 variants (calib_path required), done ONCE and
  // shared by <stem>_int8.onnx and <stem>_int8.tflite; qdq.io and
  // qdq.activations apply to both int8 files.
  QuantizeOptions quantize;
  bool nms_in_graph = false;  // the .tflite files only
  TflitePostprocessOverrides postprocess;
  bool progress = true;
};

// `vedge export MODEL --all`: writes into out_dir (created), for a float
// MODEL named <stem>.onnx, <stem>_fp32.onnx, <stem>_fp16.onnx,
// <stem>_dynamic.onnx, <stem>_int8.onnx, <stem>_fp32.tflite,
// <stem>_fp16.tflite, <stem>_dynamic.tflite, <stem>_int8.tflite, in that
// order (each atomically). A quantized MODEL or a missing calibration set is
// an error before anything is written.
std::vector<TfliteExportResult> export_all(const std::string& model_path, const std::string& out_dir,
                                           const ExportAllOptions& opt);

// The precision of an ONNX file: its "vedge.quantization" record's, FP32
// for a float model (what `vedge convert` converts to by default).
Precision source_precision(const std::string& model_path);

// The "vedge.tflite" JSON.
std::string tflite_metadata_json(Precision precision, DType io, bool postprocess);

}  // namespace vedge

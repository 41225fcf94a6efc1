// quantize_flags.cpp: the shared quantization flags (see quantize_flags.h).
// Depends on cli/flags.h, tools/quantize/quantize.h and tools/export/tflite_export.h only.
#include "cli/quantize_flags.h"

#include "runtime/error.h"

namespace vedge::cli {

void declare_quantize_flags(Flags& f) {
  f.flag("calib", "", "calibration images: a COCO/VOC/YOLO dataset or a folder of images "
                      "(required for int8 from a float model)")
      .flag("format", "", "calibration dataset format: coco, voc, yolo (default: detect)")
      .flag("images", "", "images folder of the calibration dataset, if not the default")
      .flag("spec", "", "detector spec JSON for a model without vedge.detector metadata "
                        "(copied into the output)")
      .flag("samples", "100", "calibration images used")
      .flag("seed", "0", "0: the first images in file order; else a seeded random choice")
      .flag("method", "minmax", "range calibration: minmax, percentile, entropy or mse")
      .flag("percentile", "99.99", "percentile of --method percentile, in (0, 100]")
      .flag("activations", "int8", "int8 activation type: int8 or uint8")
      .flag("io", "float", "graph input/outputs: float, or int8/uint8 (full-integer; scale and "
                           "zero point in the metadata)");
}

DType parse_int_dtype(const std::string& command, const std::string& flag, const std::string& value,
                      bool allow_float) {
  if (value == "int8") return DType::I8;
  if (value == "uint8") return DType::U8;
  if (allow_float && value == "float") return DType::F32;
  fail(command, ": --", flag, " must be ", allow_float ? "float, int8 or uint8" : "int8 or uint8", ", not '",
       value, "'");
}

QuantizeOptions quantize_options_from_flags(const Flags& f, const std::string& command, Precision precision) {
  QuantizeOptions opt;
  opt.qdq.precision = precision;
  if (precision != Precision::INT8)
    for (const char* k : {"activations", "io", "method", "percentile"})
      VEDGE_CHECK(!f.has(k), command, ": --", k, " applies to --precision int8 only");
  opt.qdq.activations = parse_int_dtype(command, "activations", f.str("activations"), false);
  opt.qdq.io = parse_int_dtype(command, "io", f.str("io"), true);
  opt.calib.method = parse_calib_method(f.str("method"));
  opt.calib.percentile = f.number("percentile", 1e-9, 100);
  opt.calib_set.format = f.str("format");
  opt.calib_set.images_dir = f.str("images");
  opt.calib_set.samples = f.integer("samples", 1, 1000000);
  opt.calib_set.seed = static_cast<uint64_t>(f.integer("seed", 0, 2147483647));
  opt.calib_path = f.str("calib");
  opt.spec_path = f.str("spec");
  return opt;
}

void declare_nms_flags(Flags& f, const char* nms_help) {
  f.boolean("nms-in-graph", nms_help)
      .flag("max-detections", "", "with --nms-in-graph: detections kept (default: the spec's)")
      .flag("score-thresh", "", "with --nms-in-graph: keep scores above this (default: the spec's)")
      .flag("iou-thresh", "", "with --nms-in-graph: NMS IoU (default: the spec's)");
}

bool nms_options_from_flags(const Flags& f, const std::string& command, TflitePostprocessOverrides& overrides) {
  const bool nms = f.on("nms-in-graph");
  for (const char* k : {"max-detections", "score-thresh", "iou-thresh"})
    VEDGE_CHECK(!f.has(k) || nms, command, ": --", k, " goes with --nms-in-graph");
  if (f.has("max-detections")) overrides.max_detections = f.integer("max-detections", 1, 100000);
  if (f.has("score-thresh")) overrides.score_threshold = static_cast<float>(f.number("score-thresh", 0, 1));
  if (f.has("iou-thresh")) overrides.iou_threshold = static_cast<float>(f.number("iou-thresh", 1e-6, 1));
  return nms;
}

}  // namespace vedge::cli

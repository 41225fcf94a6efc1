// quantize_flags.h: the calibration and quantization flags that `vedge
// quantize`, `vedge convert` and `vedge export` share (--calib, --format,
// --images, --spec, --samples, --seed, --method, --percentile,
// --activations, --io), declared once and turned into
// tools/quantize/quantize.h's QuantizeOptions; and the in-graph
// post-processing flags that `vedge convert` and `vedge export` share
// (--nms-in-graph, --max-detections, --score-thresh, --iou-thresh).
// Depends on cli/flags.h, tools/quantize/quantize.h and
// tools/export/tflite_export.h only.
#pragma once

#include <string>

#include "cli/flags.h"
#include "tools/export/tflite_export.h"
#include "tools/quantize/quantize.h"

namespace vedge::cli {

// Declares the flags above on `f`.
void declare_quantize_flags(Flags& f);

// "int8" -> I8, "uint8" -> U8, and "float" -> F32 when allow_float; else a
// one-line vedge::Error "<command>: --<flag> must be ...".
DType parse_int_dtype(const std::string& command, const std::string& flag, const std::string& value,
                      bool allow_float);

// QuantizeOptions from the flags, for `precision` (opt.qdq.precision). The
// int8-only flags (--activations, --io, --method, --percentile) given with
// another precision are a one-line error "<command>: --io applies to
// --precision int8 only". Whether --calib is required is the caller's call.
QuantizeOptions quantize_options_from_flags(const Flags& f, const std::string& command, Precision precision);

// Declares --nms-in-graph (with `nms_help`) and its three threshold flags.
void declare_nms_flags(Flags& f, const char* nms_help);

// Whether --nms-in-graph is on, and the thresholds given into `overrides`;
// a threshold flag without --nms-in-graph is a one-line error.
bool nms_options_from_flags(const Flags& f, const std::string& command, TflitePostprocessOverrides& overrides);

}  // namespace vedge::cli

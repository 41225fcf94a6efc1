// vedge convert MODEL.onnx --to tflite --precision fp32|fp16|dynamic|int8
// [--calib DATASET] [--io float|int8|uint8] [--nms-in-graph] -o OUT.tflite:
// one TFLite variant of an ONNX detector (tools/export/tflite_export.h),
// calibrated with `vedge quantize`'s flags (cli/quantize_flags.h), and one
// summary line. Bad input: one error line, exit 1, no file.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/quantize_flags.h"
#include "runtime/error.h"
#include "tools/export/tflite_export.h"

namespace fs = std::filesystem;

namespace vedge::cli {

int cmd_convert(int argc, char** argv) {
  const std::string cmd = "vedge convert";
  Flags f(cmd, "vedge convert MODEL.onnx --to tflite [--precision P] [--calib DATASET] -o OUT.tflite [options]");
  f.flag("out", "", "output .tflite file (-o works too)")
      .flag("to", "tflite", "output format: tflite")
      .flag("precision", "", "fp32, fp16 (float16 weights), dynamic (int8 weights, float compute) or int8 "
                             "(full integer); default: fp32, or the quantized model's own precision");
  declare_quantize_flags(f);
  declare_nms_flags(f, "append TFLite_Detection_PostProcess: outputs detection_boxes, "
                            "detection_classes, detection_scores, num_detections");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().size() == 1, cmd, ": expected one MODEL, got ", f.positional().size());
  VEDGE_CHECK(f.str("to") == "tflite", cmd, ": --to must be tflite, not '", f.str("to"), "'");
  VEDGE_CHECK(f.has("out"), cmd, ": -o OUT.tflite is required");
  const std::string model = f.positional()[0], out = f.str("out");
  VEDGE_CHECK(fs::path(out).extension() == ".tflite", cmd, ": -o must name a .tflite file, not '", out, "'");
  VEDGE_CHECK(fs::is_regular_file(model), model, ": no such model file");

  TfliteExportOptions opt;
  opt.precision = f.has("precision") ? parse_precision(f.str("precision")) : source_precision(model);
  const bool int8 = opt.precision == Precision::INT8;
  opt.quantize = quantize_options_from_flags(f, cmd, opt.precision);
  if (!int8)
    for (const char* k : {"calib", "format", "images", "samples", "seed"})
      VEDGE_CHECK(!f.has(k), cmd, ": --", k, " applies to --precision int8 only");
  opt.io = opt.quantize.qdq.io;
  opt.nms_in_graph = nms_options_from_flags(f, cmd, opt.postprocess);

  const auto t0 = std::chrono::steady_clock::now();
  const TfliteExportResult r = export_tflite(model, out, opt);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double before = static_cast<double>(fs::file_size(model)), after = static_cast<double>(r.bytes);
  std::string what = std::string("tflite ") + precision_name(r.precision);
  if (int8 && opt.io != DType::F32) what += opt.io == DType::U8 ? " (io uint8)" : " (io int8)";
  if (opt.nms_in_graph) what += ", NMS in graph";
  std::printf("%s: %s, %.2f MB -> %.2f MB (%.2fx), %.1f s -> %s\n", model.c_str(), what.c_str(), before / 1e6,
              after / 1e6, after / before, secs, out.c_str());
  return 0;
}

}  // namespace vedge::cli

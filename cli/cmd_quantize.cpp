// vedge quantize MODEL --calib DATASET -o OUT.onnx: writes the INT8 QDQ
// (default), FP16 or dynamic-range variant of a float detector
// (tools/quantize/quantize.h), optionally with the accuracy analysis
// (--report, --sensitivity, --max-map-drop: tools/quantize/analysis.h), and
// prints one summary line. Bad input: one error line, exit 1, no file.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/quantize_flags.h"
#include "runtime/error.h"
#include "tools/quantize/analysis.h"
#include "tools/quantize/quantize.h"

namespace fs = std::filesystem;

namespace vedge::cli {
namespace {

std::string mb(uintmax_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f MB", static_cast<double>(bytes) / 1e6);
  return b;
}

}  // namespace

int cmd_quantize(int argc, char** argv) {
  Flags f("vedge quantize", "vedge quantize MODEL --calib DATASET -o OUT.onnx [options]");
  f.flag("out", "", "output ONNX file (-o works too)")
      .flag("precision", "int8", "int8 (QDQ), fp16 (float16 weights) or dynamic (int8 weights, "
                                 "float activations)");
  declare_quantize_flags(f);
  f.flag("report", "", "write the accuracy report (md/json/html) into this folder")
      .boolean("sensitivity", "rank layers by how much quantizing each alone costs")
      .flag("val", "", "validation dataset for mAP (sensitivity, --max-map-drop)")
      .flag("val-format", "", "validation dataset format")
      .flag("val-images", "", "images folder of the validation dataset")
      .flag("max-map-drop", "", "mixed precision: keep the most sensitive layers in float until "
                                "mAP@0.5 drops at most this many points (needs --val)");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().size() == 1, "vedge quantize: expected one MODEL, got ",
              f.positional().size());
  VEDGE_CHECK(f.has("out"), "vedge quantize: -o OUT.onnx is required");
  const std::string model = f.positional()[0], out = f.str("out");
  VEDGE_CHECK(fs::is_regular_file(model), model, ": no such model file");

  const Precision precision = parse_precision(f.str("precision"));
  VEDGE_CHECK(precision != Precision::FP32, "vedge quantize: --precision must be int8, fp16 or dynamic");
  const bool int8 = precision == Precision::INT8;
  QuantizeOptions opt = quantize_options_from_flags(f, "vedge quantize", precision);
  if (int8) {
    VEDGE_CHECK(!opt.calib_path.empty(), "vedge quantize: int8 needs --calib DATASET "
                                         "(fp16 and dynamic need none)");
  } else {
    for (const char* k : {"report", "sensitivity", "max-map-drop"})
      VEDGE_CHECK(!f.has(k), "vedge quantize: --", k, " applies to --precision int8 only");
  }

  AnalysisOptions an;
  an.report_dir = f.str("report");
  an.sensitivity = f.on("sensitivity");
  an.val_path = f.str("val");
  an.val_format = f.str("val-format");
  an.val_images_dir = f.str("val-images");
  if (f.has("max-map-drop")) {
    an.max_map_drop = f.number("max-map-drop", 0, 100);
    VEDGE_CHECK(!an.val_path.empty(), "vedge quantize: --max-map-drop needs --val DATASET");
  }
  for (int i = 0; i < argc; ++i) an.command += (i ? " " : "vedge quantize ") + std::string(argv[i]);
  const bool analyze = !an.report_dir.empty() || an.sensitivity || an.max_map_drop.has_value();

  const auto t0 = std::chrono::steady_clock::now();
  QuantizeResult r = quantize_model(model, opt);
  if (int8 && r.calib.inputs.size() < 16)
    std::fprintf(stderr,
                 "vedge quantize: warning: only %zu calibration image%s (100 recommended): "
                 "activations unseen in calibration will clip\n",
                 r.calib.inputs.size(), r.calib.inputs.size() == 1 ? "" : "s");
  if (analyze) r = analyze_quantization(std::move(r), an);
  write_quantized(r, out);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const uintmax_t before = fs::file_size(model), after = fs::file_size(out);
  std::string what = precision_name(r.options.qdq.precision);
  if (int8) {
    what += std::string(" (") + calib_method_name(r.options.calib.method) + ", " +
            std::to_string(r.calib.inputs.size()) + " samples, activations " +
            (r.options.qdq.activations == DType::U8 ? "uint8" : "int8");
    if (r.options.qdq.io != DType::F32)
      what += std::string(", io ") + (r.options.qdq.io == DType::U8 ? "uint8" : "int8");
    if (!r.options.qdq.float_nodes.empty())
      what += ", " + std::to_string(r.options.qdq.float_nodes.size()) + " layers float";
    what += ")";
  }
  std::printf("%s: %s, %s -> %s (%.2fx), %.1f s -> %s\n", model.c_str(), what.c_str(),
              mb(before).c_str(), mb(after).c_str(),
              static_cast<double>(after) / static_cast<double>(before), secs, out.c_str());
  return 0;
}

}  // namespace vedge::cli

// vedge export MODEL --all --calib DATASET --out DIR: every ONNX and TFLite
// variant of a float detector in one call (tools/export/tflite_export.h
// export_all; the int8 calibration is done once and shared by the ONNX and
// TFLite int8 files), then a table of the files with their size and their
// ratio to the fp32 file of the same format. Bad input: one error line,
// exit 1, no file.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/quantize_flags.h"
#include "runtime/error.h"
#include "tools/export/tflite_export.h"

namespace fs = std::filesystem;

namespace vedge::cli {

int cmd_export(int argc, char** argv) {
  const std::string cmd = "vedge export";
  Flags f(cmd, "vedge export MODEL.onnx --all --calib DATASET --out DIR [options]");
  f.flag("out", "", "output folder (-o works too)")
      .boolean("all", "every variant: fp32, fp16, dynamic, int8 as ONNX and as TFLite");
  declare_quantize_flags(f);
  declare_nms_flags(f, "the .tflite files end with TFLite_Detection_PostProcess");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().size() == 1, cmd, ": expected one MODEL, got ", f.positional().size());
  VEDGE_CHECK(f.on("all"), cmd, ": --all is required (it writes every ONNX and TFLite variant; "
                                "`vedge convert` writes one)");
  VEDGE_CHECK(f.has("out"), cmd, ": --out DIR is required");
  VEDGE_CHECK(f.has("calib"), cmd, ": --calib DATASET is required (calibration of the int8 variants)");
  const std::string model = f.positional()[0], dir = f.str("out");
  VEDGE_CHECK(fs::is_regular_file(model), model, ": no such model file");

  ExportAllOptions opt;
  opt.quantize = quantize_options_from_flags(f, cmd, Precision::INT8);
  opt.nms_in_graph = nms_options_from_flags(f, cmd, opt.postprocess);

  const std::vector<TfliteExportResult> files = export_all(model, dir, opt);
  std::map<std::string, double> fp32;  // format -> bytes of its fp32 file
  for (const TfliteExportResult& r : files)
    if (r.precision == Precision::FP32) fp32[fs::path(r.path).extension().string()] = static_cast<double>(r.bytes);
  int width = 4;
  for (const TfliteExportResult& r : files)
    width = std::max(width, static_cast<int>(fs::path(r.path).filename().string().size()));
  std::printf("%-*s  %-7s %-9s %10s %8s\n", width, "file", "format", "precision", "size (MB)", "vs fp32");
  for (const TfliteExportResult& r : files) {
    const std::string ext = fs::path(r.path).extension().string();
    std::printf("%-*s  %-7s %-9s %10.2f %7.2fx\n", width, fs::path(r.path).filename().string().c_str(),
                ext.substr(1).c_str(), precision_name(r.precision), static_cast<double>(r.bytes) / 1e6,
                static_cast<double>(r.bytes) / fp32.at(ext));
  }
  std::printf("%zu files in %s\n", files.size(), dir.c_str());
  return 0;
}

}  // namespace vedge::cli

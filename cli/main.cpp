// vedge: the device-side command-line tool (no LibTorch). A thin main: the
// command table; cli/dispatch.h picks the command and reports errors.
#include <cstdio>

#include "cli/commands.h"
#include "cli/dispatch.h"
#include "runtime/cpu_features.h"

namespace {

using vedge::cli::Command;

const Command kCommands[] = {
    {"info", vedge::cli::cmd_info, "describe a model: inputs, outputs, ops, params, MACs, metadata"},
    {"detect", vedge::cli::cmd_detect, "detect objects in images, print or draw the boxes"},
    {"bench", vedge::cli::cmd_bench, "latency per stage, size, memory, mAP of model variants; report.md/json/html"},
    {"run", vedge::cli::cmd_run, "run the network alone on .npy inputs, write every output as .npy"},
    {"eval", vedge::cli::cmd_eval, "score detections (COCO results JSON) against ground truth: COCO mAP, VOC AP"},
    {"data", vedge::cli::cmd_data, "datasets: convert COCO/VOC/YOLO, stats, write the synthetic shapes set"},
#ifdef VEDGE_WITH_SERVE
    {"serve", vedge::cli::cmd_serve, "serve a detector over HTTP: detection API, metrics, demo page"},
#endif
    {"package", vedge::cli::cmd_package, "bundle the aarch64 binary, its libraries and models for a device"},
    {"quantize", vedge::cli::cmd_quantize, "INT8 (QDQ), FP16 or dynamic-range variant of a model; accuracy report"},
    {"convert", vedge::cli::cmd_convert, "ONNX detector -> TFLite: fp32, fp16, dynamic or int8, optional in-graph NMS"},
    {"export", vedge::cli::cmd_export, "every ONNX and TFLite variant of a model in one call (int8 calibrated once)"},
};

void print_version() {
  std::printf("vedge %s\n", VEDGE_VERSION);
  std::printf("cpu   %s\n", vedge::cpu_features_line(vedge::cpu_features()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const vedge::cli::Tool tool{"vedge", kCommands, sizeof(kCommands) / sizeof(kCommands[0]),
                              print_version,
                              "print the version and the CPU features detected at run time"};
  return vedge::cli::dispatch(tool, argc, argv);
}

// vedge-train: the training-side command-line tool (LibTorch). A thin main:
// the command table; cli/dispatch.h picks the command and reports errors
// (LibTorch's errors without their C++ backtrace).
#include <c10/util/Exception.h>

#include <cstdio>
#include <string>

#include "cli/dispatch.h"
#include "cli/train/commands.h"

namespace {

using vedge::cli::Command;

const Command kCommands[] = {
    {"train", vedge::cli::cmd_train, "train or fine-tune a detector from a YAML config (resumable)"},
    {"export", vedge::cli::cmd_export, "export a checkpoint to a self-describing ONNX detector"},
    {"eval", vedge::cli::cmd_evaluate, "validation mAP of a checkpoint on its configuration's val split"},
    {"bench", vedge::cli::cmd_train_bench, "training throughput: full loop vs raw forward+backward+step"},
    {"pipeline", vedge::cli::cmd_pipeline, "dataset, training, ONNX export, eval, sample detections and the report in one run folder"},
};

void print_version() { std::printf("vedge-train %s\n", VEDGE_VERSION); }

std::string describe(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

}  // namespace

int main(int argc, char** argv) {
  const vedge::cli::Tool tool{"vedge-train", kCommands, sizeof(kCommands) / sizeof(kCommands[0]),
                              print_version, "print the version", describe};
  return vedge::cli::dispatch(tool, argc, argv);
}

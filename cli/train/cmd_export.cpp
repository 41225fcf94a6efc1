// vedge-train export: a checkpoint (last.pt or best.pt) to a self-describing
// ONNX detector (labels, anchors and preprocessing in its metadata).
#include <cstdio>
#include <string>

#include "cli/flags.h"
#include "cli/train/commands.h"
#include "runtime/error.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/export.h"
#include "train/trainer.h"

namespace vedge::cli {

int cmd_export(int argc, char** argv) {
  Flags f("vedge-train export", "vedge-train export CHECKPOINT -o MODEL.onnx");
  f.flag("o", "", "output ONNX file").flag("output", "", "same as -o");
  // The parser takes "--o"; accept the usual single-dash "-o" too.
  std::vector<char*> args(argv, argv + argc);
  std::string dash_o = "--o";
  for (char*& a : args)
    if (std::string(a) == "-o") a = dash_o.data();
  f.parse(static_cast<int>(args.size()), args.data());
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().size() == 1, "expected one CHECKPOINT, got ", f.positional().size());
  const std::string out = f.has("o") ? f.str("o") : f.str("output");
  VEDGE_CHECK(!out.empty(), "-o MODEL.onnx is required");
  const std::string ckpt = f.positional()[0];
  CheckpointMeta meta = read_checkpoint_meta(ckpt);
  TrainConfig cfg = parse_train_config(meta.config_yaml, ckpt + " (stored configuration)");
  SSDLite model = build_model(cfg, meta.labels.size(), false);
  load_checkpoint(ckpt, model, nullptr, false);
  export_onnx(model, meta.labels, out);
  std::printf("%s: epoch %lld, %zu classes (incl. background) -> %s\n", ckpt.c_str(),
              static_cast<long long>(meta.state.epoch), meta.labels.size(), out.c_str());
  return 0;
}

}  // namespace vedge::cli

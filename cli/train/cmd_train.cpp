// vedge-train train: train or fine-tune a detector from a YAML config into a
// run folder (checkpoints, metrics, the exported ONNX); --resume continues an
// interrupted run from its last completed epoch.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/train/commands.h"
#include "runtime/error.h"
#include "train/trainer.h"

namespace vedge::cli {

int cmd_train(int argc, char** argv) {
  Flags f("vedge-train train", "vedge-train train --config FILE [--out DIR] [--resume] [overrides]");
  f.flag("config", "", "the YAML configuration (configs/*.yaml); with --resume, defaults to DIR/config.yaml")
      .flag("out", "", "run folder (default out/train/<name>)")
      .boolean("resume", "continue the run in --out from its last checkpoint (a fresh start when there is none)")
      .flag("epochs", "", "override train.epochs")
      .flag("batch-size", "", "override train.batch_size")
      .flag("lr", "", "override train.optimizer.lr")
      .flag("seed", "", "override seed")
      .flag("threads", "", "override threads (LibTorch intra-op threads)")
      .flag("workers", "", "override train.workers (data loader threads)")
      .flag("set", "", "override any field: --set train.patience=5 (repeatable)")
      .boolean("no-export", "do not write DIR/model.onnx at the end")
      .boolean("quiet", "no progress bars (epoch summaries only)");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().empty(), "unexpected argument '", f.positional()[0], "'");
  std::string config = f.str("config");
  if (config.empty()) {
    VEDGE_CHECK(f.on("resume") && f.has("out"), "--config FILE is required (or --resume --out DIR)");
    config = f.str("out") + "/config.yaml";
  }
  std::vector<std::string> overrides;
  const std::pair<const char*, const char*> shortcuts[] = {{"epochs", "train.epochs"},
                                                           {"batch-size", "train.batch_size"},
                                                           {"lr", "train.optimizer.lr"},
                                                           {"seed", "seed"},
                                                           {"threads", "threads"},
                                                           {"workers", "train.workers"}};
  for (const auto& [flag, key] : shortcuts)
    if (f.has(flag)) overrides.push_back(std::string(key) + "=" + f.str(flag));
  for (const std::string& s : f.all("set")) overrides.push_back(s);
  TrainConfig cfg = load_train_config(config, overrides);

  TrainOptions opt;
  opt.out_dir = f.has("out") ? f.str("out") : "out/train/" + cfg.name;
  opt.resume = f.on("resume");
  opt.export_onnx = !f.on("no-export");
  opt.progress = !f.on("quiet");
  TrainResult r = train_detector(cfg, opt);
  std::printf("trained %lld epochs (%lld steps)%s; best val mAP@0.5 %.4f at epoch %lld\n",
              static_cast<long long>(r.state.epoch), static_cast<long long>(r.state.step),
              r.state.stopped_early ? ", stopped early" : "", r.state.best_map50,
              static_cast<long long>(r.state.best_epoch));
  std::printf("run folder: %s\n", opt.out_dir.c_str());
  if (!r.onnx.empty()) std::printf("model: %s\n", r.onnx.c_str());
  return 0;
}

}  // namespace vedge::cli

// vedge-train pipeline: the whole path in one command and one run folder:
// dataset, training, FP32 ONNX export, evaluation in the runtime, sample
// detections drawn, and the benchmark report (train/pipeline.h). Re-running
// with the same --out skips what is already done.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/train/commands.h"
#include "runtime/error.h"
#include "train/config.h"
#include "train/pipeline.h"

namespace vedge::cli {

int cmd_pipeline(int argc, char** argv) {
  Flags f("vedge-train pipeline", "vedge-train pipeline --config FILE [--out DIR] [--set key=value ...]");
  f.flag("config", "", "the YAML configuration (configs/demo.yaml for the built-in demo)")
      .flag("out", "", "run folder (default out/<name>); re-running with it resumes and skips finished stages")
      .flag("set", "", "override any configuration field: --set train.epochs=3 (repeatable)")
      .flag("samples", "6", "val images drawn with their detections into DIR/detections")
      .flag("samples-score-thresh", "", "minimum score of the drawn detections (default: the model spec's)")
      .flag("bench-runs", "50", "timed runs per model in the report (after 5 warm-up runs)")
      .flag("bench-threads", "1", "runtime threads for the report's latency")
      .boolean("quiet", "no progress bars (stage lines and epoch summaries only)");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().empty(), "unexpected argument '", f.positional()[0], "'");
  VEDGE_CHECK(f.has("config"), "--config FILE is required (configs/demo.yaml for the demo)");
  const TrainConfig cfg = load_train_config(f.str("config"), f.all("set"));

  PipelineOptions opt;
  opt.out_dir = f.has("out") ? f.str("out") : "out/" + cfg.name;
  opt.progress = !f.on("quiet");
  opt.sample_images = f.integer("samples", 0, 10000);
  if (f.has("samples-score-thresh"))
    opt.sample_score_threshold = static_cast<float>(f.number("samples-score-thresh", 1e-6, 1));
  opt.bench_runs = f.integer("bench-runs", 1, 1000000);
  opt.bench_threads = f.integer("bench-threads", 1, 256);
  opt.version = VEDGE_VERSION;
  opt.command = "vedge-train pipeline";
  for (int i = 0; i < argc; ++i) opt.command += std::string(" ") + argv[i];
  const PipelineSummary s = run_pipeline(cfg, opt);
  std::printf("%s", format_pipeline_summary(s).c_str());
  return 0;
}

}  // namespace vedge::cli

// vedge-train bench: training throughput (images/s) of the real loop
// (loader workers decoding, augmenting, matching, prefetching + the training
// step) against LibTorch's raw forward + loss + backward + optimizer step on
// one pre-made batch of the same model and size. Their ratio shows whether
// the data pipeline keeps the network busy.
#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "cli/train/commands.h"
#include "runtime/error.h"
#include "tools/common/progress.h"
#include "train/loader.h"
#include "train/optim.h"
#include "train/trainer.h"

namespace vedge::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int cmd_train_bench(int argc, char** argv) {
  Flags f("vedge-train bench", "vedge-train bench --config FILE [--steps 20] [--warmup 3] [--run DIR]");
  f.flag("config", "", "the YAML configuration (model, data, batch size, workers)")
      .flag("run", "out/train-bench", "folder for a generated synthetic dataset")
      .flag("steps", "20", "timed steps per measurement")
      .flag("warmup", "3", "untimed steps before each measurement")
      .flag("batch-size", "", "override train.batch_size")
      .flag("threads", "", "override threads")
      .flag("workers", "", "override train.workers")
      .flag("json", "", "also write the results to this JSON file");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.has("config"), "--config FILE is required");
  std::vector<std::string> ov;
  if (f.has("batch-size")) ov.push_back("train.batch_size=" + f.str("batch-size"));
  if (f.has("threads")) ov.push_back("threads=" + f.str("threads"));
  if (f.has("workers")) ov.push_back("train.workers=" + f.str("workers"));
  TrainConfig cfg = load_train_config(f.str("config"), ov);
  const int steps = f.integer("steps", 1, 1 << 20), warmup = f.integer("warmup", 0, 1 << 20);

  at::set_num_threads(cfg.threads);
  TrainingData data = prepare_training_data(cfg, f.str("run"), true);
  SSDLite model = build_model(cfg, data.labels.size(), false);
  const DetectorSpec spec = model->detector_spec(data.labels);
  LoaderOptions lo = loader_options(cfg);
  lo.batches_per_epoch = warmup + steps;
  DetectionLoader loader(data.train, data.train_class, spec.input, model->anchors(), spec.coder, cfg.match, lo);
  std::vector<torch::Tensor> params = model->parameters();
  auto optimizer = make_optimizer(params, cfg.optimizer);
  model->train();
  apply_freeze(model, cfg.freeze, 0);
  const double B = cfg.batch_size;

  // Raw: the same batch over and over, no loader.
  Preprocessor pre(spec.input);
  const Batch fixed = loader.build(0, 0, pre);
  for (int i = 0; i < warmup; ++i) train_step(model, *optimizer, params, fixed, cfg.loss);
  double raw_s;
  {
    ProgressBar bar("raw step", steps, stderr);
    auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) {
      train_step(model, *optimizer, params, fixed, cfg.loss);
      bar.update(i + 1);
    }
    raw_s = seconds_since(t0);
    bar.finish();
  }
  // The loop: loader workers + the same step.
  double loop_s;
  {
    loader.start_epoch(1);
    Batch b;
    for (int i = 0; i < warmup && loader.next(b); ++i) train_step(model, *optimizer, params, b, cfg.loss);
    ProgressBar bar("loop step", steps, stderr);
    auto t0 = Clock::now();
    int done = 0;
    while (done < steps && loader.next(b)) {
      train_step(model, *optimizer, params, b, cfg.loss);
      bar.update(++done);
    }
    loop_s = seconds_since(t0);
    bar.finish();
  }
  const double raw_ips = steps * B / raw_s, loop_ips = steps * B / loop_s;
  std::printf("model %s x%.2f %dx%d, batch %d, %d LibTorch threads, %d loader workers, %d timed steps\n",
              cfg.model.backbone.c_str(), cfg.model.width, cfg.model.input_size, cfg.model.input_size,
              cfg.batch_size, cfg.threads, cfg.workers, steps);
  std::printf("raw forward+loss+backward+step: %.2f img/s\n", raw_ips);
  std::printf("training loop (loader + step):  %.2f img/s (%.1f%% of raw)\n", loop_ips, 100.0 * loop_ips / raw_ips);
  if (f.has("json")) {
    nlohmann::json j = {{"config", cfg.source},   {"backbone", cfg.model.backbone}, {"width", cfg.model.width},
                        {"input_size", cfg.model.input_size}, {"batch_size", cfg.batch_size},
                        {"threads", cfg.threads}, {"workers", cfg.workers},     {"steps", steps},
                        {"raw_images_per_second", raw_ips}, {"loop_images_per_second", loop_ips},
                        {"ratio", loop_ips / raw_ips}};
    std::string path = f.str("json"), tmp = path + ".tmp";
    FILE* out = std::fopen(tmp.c_str(), "w");
    VEDGE_CHECK(out, path, ": cannot write");
    std::fprintf(out, "%s\n", j.dump(1).c_str());
    VEDGE_CHECK(std::fclose(out) == 0 && std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot write");
  }
  return 0;
}

}  // namespace vedge::cli

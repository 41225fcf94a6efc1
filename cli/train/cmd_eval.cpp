// vedge-train eval: COCO mAP of a checkpoint on its configuration's
// validation split, through the runtime's preprocessing and
// post-processing (the numbers the training loop reports).
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/flags.h"
#include "cli/train/commands.h"
#include "runtime/error.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/trainer.h"
#include "train/validate.h"

namespace vedge::cli {

int cmd_evaluate(int argc, char** argv) {
  Flags f("vedge-train eval", "vedge-train eval CHECKPOINT [--run DIR] [--max-images N]");
  f.flag("run", "", "run folder (where a synthetic dataset was generated); default: the checkpoint's ../..")
      .flag("max-images", "0", "evaluate on the first N validation images (0 = all)")
      .flag("score-thresh", "", "score threshold (default: the config's eval.score_threshold)")
      .flag("threads", "", "LibTorch threads (default: the config's)");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  VEDGE_CHECK(f.positional().size() == 1, "expected one CHECKPOINT, got ", f.positional().size());
  const std::string ckpt = f.positional()[0];
  CheckpointMeta meta = read_checkpoint_meta(ckpt);
  TrainConfig cfg = parse_train_config(meta.config_yaml, ckpt + " (stored configuration)");
  std::string run = f.has("run") ? f.str("run")
                                 : std::filesystem::absolute(ckpt).parent_path().parent_path().string();
  at::set_num_threads(f.has("threads") ? f.integer("threads", 1, 256) : cfg.threads);
  TrainingData data = prepare_training_data(cfg, run, true);
  VEDGE_CHECK(data.labels == meta.labels, ckpt, ": the checkpoint's labels differ from the dataset's");
  SSDLite model = build_model(cfg, meta.labels.size(), false);
  load_checkpoint(ckpt, model, nullptr, false);
  ValidateOptions vo;
  vo.thresholds.score = f.has("score-thresh") ? static_cast<float>(f.number("score-thresh", 0, 1))
                                              : cfg.eval.score_threshold;
  vo.thresholds.iou = cfg.eval.iou_threshold;
  vo.thresholds.max_detections = cfg.eval.max_detections;
  vo.thresholds.top_k = cfg.eval.top_k;
  vo.max_images = f.integer("max-images", 0, 1 << 30);
  vo.progress = true;
  CocoEvalResult r = validate_model(model, model->detector_spec(meta.labels), data.val, data.val_category, vo);
  std::printf("%s on %s (%d images, %d boxes)\n%s\n", ckpt.c_str(), data.val.source.c_str(), r.num_images,
              r.num_gt, r.summary().c_str());
  return 0;
}

}  // namespace vedge::cli

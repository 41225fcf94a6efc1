// trainer.h: the training loop. prepare_training_data() resolves the
// datasets (generating the synthetic shapes set when configured) and the
// label <-> category mapping; train_detector() runs the epochs: warm-up +
// cosine learning rate per step, optional backbone freezing, SSD loss,
// validation mAP@0.5 with the runtime's post-processing after every
// `eval.every` epochs, early stopping, and a checkpoint after every epoch
// (checkpoint.h). A run folder holds:
//   config.yaml         the effective configuration
//   checkpoints/last.pt everything needed to resume (--resume)
//   checkpoints/best.pt the weights of the best validation mAP@0.5
//   metrics.json        per-epoch loss, mAP@0.5, mAP@[.5:.95], img/s
//   model.onnx          the best weights exported (train/export.h)
// Training is deterministic for a fixed seed and thread count: the data
// order and augmentation come from loader.h's (seed, epoch, position)
// mapping, torch::manual_seed(seed) fixes initialization, and resuming
// restores the optimizer, step and RNG state of the last completed epoch.
// Depends on LibTorch and train/, data/, runtime/, tools/.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "data/dataset.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/loader.h"
#include "train/model.h"

namespace vedge {

struct TrainingData {
  Dataset train, val;
  std::vector<std::string> labels;                      // background first
  std::unordered_map<int64_t, int64_t> train_class;     // train category id -> class
  std::unordered_map<int64_t, int64_t> val_category;    // class -> val category id
};

// run_dir: where the synthetic dataset goes when data.synthetic.dir is empty
// (<run_dir>/data); it is generated once and reused while its settings are
// unchanged.
TrainingData prepare_training_data(const TrainConfig& cfg, const std::string& run_dir, bool progress);

// The model of `cfg` with num_classes = labels.size(), seeded by cfg.seed,
// initialized from init.tflite / init.state_dict when given.
SSDLite build_model(const TrainConfig& cfg, size_t num_labels, bool apply_init);
// The loader settings of a configuration (batch, steps, workers, prefetch,
// seed, augmentation).
LoaderOptions loader_options(const TrainConfig& cfg);

// Freezes (requires_grad false, BatchNorm in eval mode) what cfg.freeze
// asks for at `epoch` (0-based); unfreezes the rest. Call after model->train().
void apply_freeze(SSDLite& model, const FreezeConfig& freeze, int64_t epoch);

// One optimizer step on a batch (forward, SSD loss, backward, step) at the
// optimizer's current learning rate; returns the loss. The training loop
// and `vedge-train bench` share it.
double train_step(SSDLite& model, torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params,
                  const Batch& batch, const SsdLossOptions& loss);

struct TrainOptions {
  std::string out_dir;
  bool resume = false;       // continue from out_dir/checkpoints/last.pt
  bool progress = true;      // progress bars on stderr
  bool export_onnx = true;   // write out_dir/model.onnx at the end
  FILE* log = stderr;        // one summary line per epoch (null: silent)
};

struct TrainResult {
  TrainState state;
  std::string last_checkpoint, best_checkpoint, onnx;  // empty when not written
};

TrainResult train_detector(const TrainConfig& cfg, const TrainOptions& opt);

}  // namespace vedge

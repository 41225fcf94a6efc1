// checkpoint.h: training checkpoints. One file holds everything a resumed
// run needs to continue exactly where the last completed epoch ended: model
// parameters and buffers, optimizer state, the schedule position (step),
// the epoch count, early-stopping state, per-epoch metrics, LibTorch's CPU
// RNG state, the effective YAML configuration and the labels. Written to
// "<path>.tmp" and renamed, so a kill at any moment leaves either the old or
// the new checkpoint, never a torn one. (The data order and augmentation are
// pure functions of (seed, epoch, position), see loader.h, so they need no
// saved state.) Depends on LibTorch and train/model.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "train/model.h"

namespace vedge {

struct EpochMetrics {
  int64_t epoch = 0;      // 1-based
  double loss = 0;        // mean training loss of the epoch
  double map50 = -1;      // validation mAP@0.5 (-1: not evaluated)
  double map = -1;        // validation mAP@[.5:.95]
  double images_per_second = 0;
};

struct TrainState {
  int64_t epoch = 0;  // epochs completed
  int64_t step = 0;   // optimizer steps completed
  double best_map50 = -1;
  int64_t best_epoch = 0;
  int64_t epochs_since_best = 0;
  bool stopped_early = false;
  std::vector<EpochMetrics> history;
};

struct CheckpointMeta {
  TrainState state;
  std::string config_yaml;
  std::vector<std::string> labels;  // background first
};

// `optimizer` may be null (a weights-only file such as best.pt).
void save_checkpoint(const std::string& path, const SSDLite& model, const torch::optim::Optimizer* optimizer,
                     const CheckpointMeta& meta);

// Reads the metadata only (state, config, labels).
CheckpointMeta read_checkpoint_meta(const std::string& path);

// Restores the model (shapes must match: build it from the checkpoint's
// config), and, when given, the optimizer and LibTorch's CPU RNG state.
// Throws vedge::Error naming the file when it is not a checkpoint or does
// not match the model.
CheckpointMeta load_checkpoint(const std::string& path, SSDLite& model, torch::optim::Optimizer* optimizer,
                               bool restore_rng);

}  // namespace vedge

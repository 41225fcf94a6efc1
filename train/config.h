// config.h: the training configuration (configs/*.yaml, every field
// documented in configs/README.md). Parsed with yaml-cpp; unknown keys and
// out-of-range values are errors naming the file and the key, so a typo
// never silently falls back to a default. Command-line overrides
// ("train.epochs=3") are applied to the YAML tree before it is read, and the
// effective YAML is kept (checkpoints store it, so a run can be resumed or
// exported without the original file).
// Depends on yaml-cpp, data/augment.h, and the plain config structs of
// train/model.h, train/optim.h, train/loss.h, train/matcher.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/augment.h"
#include "train/loss.h"
#include "train/matcher.h"
#include "train/model.h"
#include "train/optim.h"

namespace vedge {

// A dataset on disk (data/load.h).
struct DataSourceConfig {
  std::string path;
  std::string format = "auto";  // auto | coco | voc | yolo
  std::string split;            // YOLO data.yaml split; empty = train / val by role
  std::string images_dir;       // empty = the format's default
  bool skip_bad = false;
};

// The built-in synthetic shapes dataset (data/synthetic.h), generated into
// <run dir>/data unless `dir` is given.
struct SyntheticConfig {
  bool enabled = false;
  int train_images = 800, val_images = 200;
  int image_size = 320;
  uint64_t seed = 1;
  std::string dir;
};

struct FreezeConfig {
  bool backbone = false;  // freeze the whole backbone
  int blocks = 0;         // else freeze its first N blocks (0 = none)
  int epochs = 0;         // 0: frozen for the whole run; N: unfreeze after N epochs
};

struct EvalConfig {
  int every = 1;  // validate every N epochs (and always after the last)
  float score_threshold = 0.01f;
  float iou_threshold = 0.5f;
  int max_detections = 100;
  int top_k = 200;
  int max_images = 0;  // 0 = the whole validation set
};

// The pipeline's quantized variants (`vedge quantize`, tools/quantize/).
struct QuantizeConfig {
  bool fp16 = true;  // write model-fp16.onnx
  bool int8 = true;  // write model-int8.onnx, calibrated on the train split
  std::string method = "minmax";  // minmax | percentile | entropy | mse
  double percentile = 99.99;
  int samples = 100;  // calibration images
  std::string activations = "int8";  // int8 | uint8
  // > 0: mixed precision on the val split (`vedge quantize --max-map-drop`),
  // with the accuracy report in quant-report/.
  double max_map_drop = 0;
};

// The pipeline's TFLite variants (`vedge convert`, tools/export/tflite_export.h).
struct TfliteExportConfig {
  bool fp32 = true;      // model.tflite
  bool fp16 = true;      // model-fp16.tflite (float16 weights)
  bool dynamic = false;  // model-dynamic.tflite (int8 weights, float compute)
  bool int8 = true;      // model-int8.tflite from model-int8.onnx (needs quantize.int8)
};

struct ExportConfig {
  TfliteExportConfig tflite;
};

struct TrainConfig {
  std::string name = "run";
  uint64_t seed = 0;
  int threads = 2;  // LibTorch intra-op threads

  SyntheticConfig synthetic;
  DataSourceConfig train_data, val_data;

  ModelConfig model;  // num_classes is set from the dataset
  std::string init_tflite, init_state_dict;

  bool augment_enabled = true;
  AugmentConfig augment;  // out_width/out_height unused: preprocessing resizes

  int epochs = 10;
  int batch_size = 16;
  int64_t steps_per_epoch = 0;  // 0 = one pass over the training set
  int workers = 2;              // loader threads
  int prefetch = 4;             // batches prepared ahead
  OptimizerConfig optimizer;
  double warmup_epochs = 1.0;
  ScheduleConfig schedule;  // warmup_steps derived from warmup_epochs
  FreezeConfig freeze;
  SsdLossOptions loss;
  MatchOptions match;
  int patience = 0;  // early stopping: epochs without improvement (0 = off)
  double min_delta = 0.0;

  EvalConfig eval;
  QuantizeConfig quantize;
  ExportConfig export_;  // YAML `export:` ("export" is a C++ keyword)

  std::string yaml;    // the effective configuration, after overrides
  std::string source;  // the file it came from
};

// `overrides`: "key.path=value" (value parsed as YAML: 3, 0.1, true, [1,2]).
TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides = {});
TrainConfig parse_train_config(const std::string& yaml_text, const std::string& source,
                               const std::vector<std::string>& overrides = {});

// The part of an effective configuration (TrainConfig::yaml) that decides
// the trained weights: everything but the sections only later stages read
// (`quantize`, `export`), emitted canonically. Two runs whose training_yaml
// are equal train the same model.
std::string training_yaml(const std::string& yaml_text);

}  // namespace vedge

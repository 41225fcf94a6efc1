// pipeline.h: the whole path from data to a benchmarked detector in one run
// folder, as an explicit list of stages run in order:
//   dataset  generate (synthetic shapes) or load the train / val splits
//   train    the trainer (train/trainer.h), resumed from its last checkpoint
//   export   the best checkpoint -> model.onnx (FP32, with detector metadata)
//   fp16     model.onnx -> model-fp16.onnx (float16 weights; config quantize.fp16)
//   int8     model.onnx -> model-int8.onnx (QDQ, calibrated on the train
//            split; config quantize.int8 / method / samples)
//   tflite-fp32, tflite-fp16, tflite-dynamic
//            model.onnx -> model.tflite, model-fp16.tflite, model-dynamic.tflite
//            (tools/export/tflite_export.h; config export.tflite)
//   tflite-int8
//            model-int8.onnx -> model-int8.tflite: the int8 stage's
//            quantization as it is (its calibration ranges, no second pass)
//   eval     model.onnx on the val split in the runtime, exactly as
//            `vedge eval MODEL --data` (tools/eval/detect_dataset.h) -> eval.json
//   detect   a few val images with boxes drawn, as `vedge detect --draw`
//            -> detections/*.jpg + detections/detections.json
//   report   every model variant benchmarked and scored (tools/bench,
//            tools/report) -> report/report.{md,json,html}
// A stage that makes a model variant (export, fp16, int8, tflite-*)
// declares it, and the report stage compares all of them (a TFLite row
// notes what the runtime could not measure). Re-running with the same run
// folder skips the stages whose outputs are complete and newer than their
// inputs (the dataset's stamp, a checkpoint that finished every epoch, files
// newer than the model, the quantize settings in stamps/<stage>.txt), like
// make. A folder trained with another configuration is refused, except when
// only the quantize / export sections differ (training_yaml()). Stage times and the
// final numbers go to pipeline.json.
// Depends on LibTorch (through the trainer), train/, data/, runtime/ and
// tools/ (eval, bench, report); nothing from cli/.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/detector.h"
#include "tools/eval/coco_eval.h"
#include "train/config.h"
#include "train/trainer.h"

namespace vedge {

struct PipelineOptions {
  std::string out_dir;        // the run folder (required)
  bool progress = true;       // progress bars on stderr
  FILE* log = stderr;         // stage lines (null: silent)
  int sample_images = 6;      // val images drawn into detections/
  float sample_score_threshold = 0;  // their minimum score; 0: the model spec's (as `vedge detect`)
  int eval_threads = 1;       // runtime threads for eval and detect (as `vedge eval`'s default)
  int bench_warmup = 5, bench_runs = 50;
  int bench_threads = 1;
  std::string command;        // the command line, recorded in the report
  std::string version;        // vedge version, recorded in the report
};

// A model file a stage produces; the report compares them, the first is the
// baseline.
struct PipelineVariant {
  std::string name;  // "fp32"
  std::string file;  // relative to the run folder: "model.onnx"
};

// What the stages share while a pipeline runs.
struct PipelineRun {
  TrainConfig cfg;
  PipelineOptions opt;
  std::string dir;                 // = opt.out_dir
  TrainingData data;               // filled by the dataset stage
  std::vector<PipelineVariant> variants;  // from the stage list
  std::map<std::string, CocoEvalResult> evals;  // model path -> val result, computed this run

  std::string path(const std::string& rel) const { return dir + "/" + rel; }
  // The thresholds eval.json and the report use: the config's eval section
  // (score, NMS IoU, max detections); the rest stay the model spec's.
  DetectOptions eval_options() const;
};

struct PipelineStage {
  std::string name;
  std::string what;          // one line for the log
  PipelineVariant variant;   // the model it writes (name empty: none)
  // True when the stage's outputs are complete and up to date.
  std::function<bool(const PipelineRun&)> done;
  std::function<void(PipelineRun&)> run;
};

// The stages in the order they run (the quantized variants as configured).
std::vector<PipelineStage> pipeline_stages(const TrainConfig& cfg);

struct StageRecord {
  std::string name;
  bool skipped = false;  // up to date from an earlier run
  double seconds = 0;    // this run
  double total_seconds = 0;  // over every run of this folder
};

struct PipelineSummary {
  std::string dir, config, dataset, checkpoint, model, eval_json, detections, report;
  int64_t epochs = 0;
  double best_val_map50 = -1;       // the trainer's validation (LibTorch network)
  double map50 = -1, map = -1;      // eval.json: the exported ONNX in the runtime
  double train_seconds = 0;         // wall time of the train stage, over every run
  double train_images_per_second = 0;  // mean over the epochs
  double latency_p50_ms = -1;       // report: end to end, FP32, bench_threads
  std::vector<StageRecord> stages;
};

// Runs (or resumes) the pipeline of `cfg` in opt.out_dir. Throws
// vedge::Error when the folder holds a run of a different configuration.
PipelineSummary run_pipeline(const TrainConfig& cfg, const PipelineOptions& opt);

// The summary block printed at the end of `vedge-train pipeline`.
std::string format_pipeline_summary(const PipelineSummary& s);

}  // namespace vedge

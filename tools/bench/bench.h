// bench.h: latency measurement of a model: cold-start load time, warm-up,
// timed runs, and statistics per stage. With a detector spec the whole
// pipeline is timed per stage (preprocess, inference, decode, NMS); without
// one, the network alone on a seeded random input. Every sample is kept so
// that reported percentiles can be recomputed. Also: file size raw and
// deflated, arena and peak RSS, a sustained mode (run for a duration, report
// latency drift per time window) and sweeps over threads and input sizes.
// ONNX files and TFLite files (the latter as a network alone, at their
// declared input size: their inputs are NHWC).
// Depends on runtime/, tools/bench/ and tools/common/progress.h only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/detector.h"
#include "runtime/executor.h"
#include "runtime/image.h"
#include "tools/bench/input_size.h"
#include "tools/bench/stats.h"

namespace vedge {

struct BenchOptions {
  int warmup = 5;
  int runs = 50;
  int threads = 1;
  bool profile = false;     // per-op times
  std::string spec_path;    // detector spec override
  std::string image_path;   // image for the end-to-end run (default: generated)
  bool network_only = false;  // time session.run alone even if a spec exists
  InputSize input_size;     // 0 x 0: the model's own; else re-imported (input_size.h)
  double duration_s = 0;    // > 0: sustained mode, timed runs until this much time has passed
  double window_s = 0;      // sustained: drift window (0: a tenth of the duration)
  bool progress = false;    // progress bar on stderr (the sustained mode always shows one)
  DetectOptions detect;     // thresholds of the end-to-end runs (unset: the spec's)
};

struct BenchResult {
  std::string model;
  int threads = 1, warmup = 0, runs = 0;
  bool end_to_end = false;     // stages measured through the detector
  std::string image;           // what the end-to-end runs used
  InputSize input;             // network input size used
  uint64_t file_bytes = 0;
  uint64_t deflate_bytes = 0;  // zlib level 9 of the file
  double load_ms = 0;          // import + plan + kernel creation
  size_t arena_bytes = 0;
  size_t peak_rss_bytes = 0;   // VmHWM after the runs
  bool peak_rss_is_own = false;  // the peak was reset before the load (else: the process so far)
  // "preprocess", "inference", "decode", "nms", "total" (end to end) or
  // "inference" only (network alone): every sample in ms.
  std::map<std::string, std::vector<double>> samples;
  std::vector<OpProfile> profile;  // summed over the timed runs
  // Sustained mode: when each timed run started (s since the first), and
  // the drift windows of the main stage.
  double duration_s = 0, window_s = 0;
  std::vector<double> start_times_s;
  std::vector<DriftWindow> windows;

  // "total" end to end, else "inference".
  std::string main_stage() const { return end_to_end ? "total" : "inference"; }
  LatencyStats stats(const std::string& stage) const { return summarize(samples.at(stage)); }
};

BenchResult run_bench(const std::string& model_path, const BenchOptions& opt);

// Every combination of threads x input sizes (sizes empty: the model's own).
// A size the model cannot run at is a point with a skip reason. `measured`
// (optional): a result already taken at the model's own size with the same
// options, reused for the point of its thread count instead of a second run.
struct SweepPoint {
  int threads = 1;
  InputSize size;
  std::optional<BenchResult> result;
  std::string skip_reason;
};
std::vector<SweepPoint> run_sweep(const std::string& model_path, const BenchOptions& base,
                                  const std::vector<int>& threads, const std::vector<SizeRequest>& sizes,
                                  const BenchResult* measured = nullptr);

// A deterministic 640x480 test image (gradients, shapes and noise), used when
// no image is given so that the benchmark needs nothing from outside.
Image synthetic_bench_image(int width = 640, int height = 480);

nlohmann::ordered_json bench_json(const BenchResult& r);
std::string bench_to_json(const BenchResult& r, int indent = 2);

}  // namespace vedge

// bench.h: latency measurement of a model: cold-start load time, warm-up,
// timed runs, and statistics per stage. With a detector spec the whole
// pipeline is timed per stage (preprocess, inference, decode, NMS); without
// one, the network alone on a seeded random input. Every sample is kept so
// that reported percentiles can be recomputed. Depends on runtime/ only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/executor.h"
#include "runtime/image.h"
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
};

struct BenchResult {
  std::string model;
  int threads = 1, warmup = 0, runs = 0;
  bool end_to_end = false;     // stages measured through the detector
  std::string image;           // what the end-to-end runs used
  size_t file_bytes = 0;
  double load_ms = 0;          // import + plan + kernel creation
  size_t arena_bytes = 0;
  size_t peak_rss_bytes = 0;   // of this process, after the runs
  // "preprocess", "inference", "decode", "nms", "total" (end to end) or
  // "inference" only (network alone): every sample in ms.
  std::map<std::string, std::vector<double>> samples;
  std::vector<OpProfile> profile;  // summed over the timed runs
  LatencyStats stats(const std::string& stage) const { return summarize(samples.at(stage)); }
};

BenchResult run_bench(const std::string& model_path, const BenchOptions& opt);

// A deterministic 640x480 test image (gradients, shapes and noise), used when
// no image is given so that the benchmark needs nothing from outside.
Image synthetic_bench_image(int width = 640, int height = 480);

std::string bench_to_json(const BenchResult& r, int indent = 2);

}  // namespace vedge

// vedge bench MODEL: latency with warm-up and timed runs; mean / p50 / p95 /
// min per stage (preprocess, inference, decode, NMS) for detectors, the
// network alone otherwise; optional per-op profile and JSON report.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "runtime/error.h"
#include "tools/bench/bench.h"

namespace vedge::cli {

int cmd_bench(int argc, char** argv) {
  Flags f("vedge bench", "vedge bench MODEL [options]");
  f.flag("warmup", "5", "untimed runs first")
      .flag("runs", "50", "timed runs")
      .flag("threads", "1", "threads for the network")
      .flag("image", "", "image for the end-to-end runs (default: a generated 640x480 image)")
      .flag("spec", "", "detector spec JSON (default: model metadata, then MODEL.vedge.json)")
      .boolean("network-only", "time the network alone even for a detector")
      .boolean("profile", "also time every op and print the slowest")
      .flag("json", "", "write the full result (stats and every sample) to this JSON file");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  if (f.positional().size() != 1) fail("vedge bench: expected one MODEL, got ", f.positional().size());

  BenchOptions o;
  o.warmup = f.integer("warmup", 0, 1000000);
  o.runs = f.integer("runs", 1, 1000000);
  o.threads = f.integer("threads", 1, 256);
  o.image_path = f.str("image");
  o.spec_path = f.str("spec");
  o.network_only = f.on("network-only");
  o.profile = f.on("profile");
  BenchResult r = run_bench(f.positional()[0], o);

  std::printf("model %s  (%.2f MB, load %.1f ms, arena %.2f MB, peak RSS %.1f MB)\n",
              r.model.c_str(), r.file_bytes / 1e6, r.load_ms, r.arena_bytes / 1e6,
              r.peak_rss_bytes / 1e6);
  std::printf("%d threads, %d warm-up, %d timed runs%s%s\n", r.threads, r.warmup, r.runs,
              r.end_to_end ? ", end to end on " : ", network alone",
              r.end_to_end ? r.image.c_str() : "");
  std::printf("%-11s %9s %9s %9s %9s %9s\n", "stage (ms)", "mean", "p50", "p95", "min", "max");
  for (const char* stage : {"preprocess", "inference", "decode", "nms", "total"}) {
    if (!r.samples.count(stage)) continue;
    LatencyStats s = r.stats(stage);
    std::printf("%-11s %9.3f %9.3f %9.3f %9.3f %9.3f\n", stage, s.mean, s.p50, s.p95, s.min, s.max);
  }
  if (o.profile && !r.profile.empty()) {
    std::map<std::string, double> by_op;
    double total = 0;
    for (const OpProfile& p : r.profile) {
      double ms = p.calls ? p.total_ms / p.calls : 0;
      by_op[p.op] += ms;
      total += ms;
    }
    std::vector<OpProfile> top = r.profile;
    std::sort(top.begin(), top.end(),
              [](const OpProfile& a, const OpProfile& b) { return a.total_ms > b.total_ms; });
    std::printf("\nper op type (ms per run):\n");
    for (const auto& [op, ms] : by_op)
      std::printf("  %-18s %8.3f  %5.1f%%\n", op.c_str(), ms, total > 0 ? 100 * ms / total : 0);
    std::printf("slowest nodes:\n");
    for (size_t i = 0; i < std::min<size_t>(15, top.size()); ++i) {
      double ms = top[i].calls ? top[i].total_ms / top[i].calls : 0;
      std::printf("  %-40s %8.3f\n", top[i].node.c_str(), ms);
    }
  }
  if (f.has("json")) {
    std::string path = f.str("json"), tmp = path + ".tmp";
    {
      std::ofstream out(tmp);
      out << bench_to_json(r) << "\n";
      if (!out) fail(path, ": cannot write");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path, ": cannot write");
  }
  return 0;
}

}  // namespace vedge::cli

// vedge bench MODEL...: latency with warm-up and timed runs per stage
// (preprocess, inference, decode, NMS) for detectors, the network alone
// otherwise; optional per-op profile, thread and input-size sweeps, a
// sustained mode with latency drift, accuracy on a dataset (the same code as
// `vedge eval MODEL --data`), ONNX Runtime as a peer, and the comparison
// report (report.md, report.json, report.html) with --out.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/dataset_flags.h"
#include "cli/detector_flags.h"
#include "cli/flags.h"
#include "runtime/error.h"
#include "runtime/tflite_import.h"
#include "tools/bench/bench.h"
#include "tools/bench/ort_peer.h"
#include "tools/eval/detect_dataset.h"
#include "tools/report/report.h"
#include "runtime/files.h"

namespace vedge::cli {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  for (size_t e; (e = s.find(',', b)) != std::string::npos; b = e + 1) out.push_back(s.substr(b, e - b));
  out.push_back(s.substr(b));
  return out;
}

std::vector<int> parse_threads(const std::string& s) {
  std::vector<int> out;
  for (const std::string& t : split_commas(s)) {
    char* end = nullptr;
    long v = t.empty() ? 0 : std::strtol(t.c_str(), &end, 10);
    VEDGE_CHECK(!t.empty() && *end == '\0' && v >= 1 && v <= 256, "vedge bench: --threads: '", s,
                "' is not a list of thread counts (1 to 256, e.g. 1,2,4)");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// "300s", "5m", "300" -> seconds.
double parse_duration(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string unit = end ? end : "";
  double mul = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  VEDGE_CHECK(end != s.c_str() && mul > 0 && std::isfinite(v) && v > 0 && v * mul <= 86400,
              "vedge bench: --duration: '", s, "' is not a duration (e.g. 300s, 5m; at most 24h)");
  return v * mul;
}

std::string shell_word(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") ==
                        std::string::npos)
    return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void print_result(const BenchResult& r, bool profile) {
  std::printf("model %s  (%.2f MB, %.2f MB deflated, load %.1f ms, arena %.2f MB, peak RSS %.1f MB)\n",
              r.model.c_str(), r.file_bytes / 1e6, r.deflate_bytes / 1e6, r.load_ms, r.arena_bytes / 1e6,
              r.peak_rss_bytes / 1e6);
  std::printf("%d threads, input %dx%d, %d warm-up, %d timed runs%s%s\n", r.threads, r.input.width, r.input.height,
              r.warmup, r.runs, r.end_to_end ? ", end to end on " : ", network alone",
              r.end_to_end ? r.image.c_str() : "");
  std::printf("%-11s %9s %9s %9s %9s %9s %9s\n", "stage (ms)", "mean", "p50", "p95", "p99", "min", "max");
  for (const char* stage : {"preprocess", "inference", "decode", "nms", "total"}) {
    if (!r.samples.count(stage)) continue;
    LatencyStats s = r.stats(stage);
    std::printf("%-11s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", stage, s.mean, s.p50, s.p95, s.p99, s.min, s.max);
  }
  if (!r.windows.empty()) {
    std::printf("sustained %.0f s, %s per window of %.1f s:\n", r.duration_s, r.main_stage().c_str(), r.window_s);
    std::printf("  %-15s %7s %9s %9s\n", "window (s)", "runs", "p50", "p95");
    for (const DriftWindow& w : r.windows)
      std::printf("  %7.1f-%-7.1f %7d %9.3f %9.3f\n", w.start_s, w.end_s, w.n, w.p50, w.p95);
    const DriftWindow &f = r.windows.front(), &l = r.windows.back();
    std::printf("  last / first window: p50 %.3fx, p95 %.3fx\n", l.p50 / f.p50, l.p95 / f.p95);
  }
  if (profile && !r.profile.empty()) {
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
}

void print_sweep(const std::vector<SweepPoint>& sweep) {
  std::printf("%-8s %-10s %9s %9s %9s\n", "threads", "input", "p50 (ms)", "p95 (ms)", "arena MB");
  for (const SweepPoint& p : sweep) {
    std::string in = std::to_string(p.size.width) + "x" + std::to_string(p.size.height);
    if (!p.result) {
      std::printf("%-8d %-10s skipped: %s\n", p.threads, in.c_str(), p.skip_reason.c_str());
      continue;
    }
    LatencyStats s = p.result->stats(p.result->main_stage());
    std::printf("%-8d %-10s %9.3f %9.3f %9.2f\n", p.threads, in.c_str(), s.p50, s.p95, p.result->arena_bytes / 1e6);
  }
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  Flags f("vedge bench",
          "vedge bench MODEL... [--threads 1,2] [--sizes 320,480] [--duration 300s]\n"
          "                   [--data DATASET [--format F] [--images DIR]] [--out DIR] [--peer ort] [options]");
  f.flag("warmup", "5", "untimed runs first")
      .flag("runs", "50", "timed runs")
      .flag("image", "", "image for the end-to-end runs (default: a generated 640x480 image)")
      .boolean("network-only", "time the network alone even for a detector")
      .boolean("profile", "also time every op and print the slowest")
      .flag("sizes", "", "input-size sweep: widths (height keeps the aspect ratio) or WxH, e.g. 320,480,640")
      .flag("duration", "", "sustained mode: timed runs for this long (e.g. 300s, 5m); reports drift per window")
      .flag("window", "", "sustained mode: window length in seconds (default: a tenth of the duration)")
      .flag("data", "", "accuracy: a dataset (COCO, VOC, YOLO); each model is evaluated as by `vedge eval MODEL "
                        "--data`")
      .flag("out", "", "write report.md, report.json and report.html into this folder")
      .flag("baseline", "", "the reference variant (a MODEL as given, or its name); default: the first")
      .flag("peer", "", "also time the network in another engine: ort (ONNX Runtime for Node)")
      .flag("json", "", "write every result (statistics and every sample) to this JSON file");
  declare_dataset_flags(f, "with --data: ");
  declare_detector_flags(f);  // --spec (once, or once per MODEL), thresholds, --threads (a list here)
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  const std::vector<std::string>& models = f.positional();
  VEDGE_CHECK(!models.empty(), "vedge bench: expected at least one MODEL");
  for (const std::string& m : models)
    if (!std::filesystem::is_regular_file(m)) fail(m, ": no such model file");
  const std::vector<std::string> specs = f.all("spec");
  VEDGE_CHECK(specs.size() <= 1 || specs.size() == models.size(), "vedge bench: --spec given ", specs.size(),
              " times for ", models.size(), " models (give it once for all, or once per model)");
  const std::string dataset_flag = given_dataset_flag(f);
  VEDGE_CHECK(dataset_flag.empty() || f.has("data"), "vedge bench: --", dataset_flag, " goes with --data");
  VEDGE_CHECK(!f.has("peer") || f.str("peer") == "ort", "vedge bench: --peer must be ort, not '", f.str("peer"), "'");

  BenchOptions base;
  base.warmup = f.integer("warmup", 0, 1000000);
  base.runs = f.integer("runs", 1, 1000000);
  base.image_path = f.str("image");
  base.network_only = f.on("network-only");
  base.profile = f.on("profile");
  if (f.has("duration")) base.duration_s = parse_duration(f.str("duration"));
  if (f.has("window")) {
    VEDGE_CHECK(base.duration_s > 0, "vedge bench: --window needs --duration");
    base.window_s = f.number("window", 1e-3, 86400);
  }
  const std::vector<int> threads = parse_threads(f.str("threads"));
  base.threads = threads.front();
  std::vector<SizeRequest> sizes;
  if (f.has("sizes"))
    for (const std::string& s : split_commas(f.str("sizes"))) sizes.push_back(parse_size_request(s));
  const bool sweep = threads.size() > 1 || !sizes.empty();
  const DetectOptions detect_opt = detect_options(f);
  base.detect = detect_opt;  // the timed runs use the thresholds the evaluation uses

  if (f.has("peer")) check_ort_peer();  // fail before any measurement
  Dataset gt;
  if (f.has("data")) {
    LoadReport problems;
    gt = load_dataset_from_flags(f, f.str("data"), &problems);
    print_load_problems(problems, "vedge bench");
    VEDGE_CHECK(!gt.annotations.empty(), gt.source, ": dataset has no boxes");
  }

  // The context first: the date is the run's start.
  Report report;
  {
    std::string command = "vedge bench";
    for (int i = 0; i < argc; ++i) command += " " + shell_word(argv[i]);
    report.context = current_report_context(command, VEDGE_VERSION);
    if (f.has("data")) report.context.dataset = f.str("data"), report.context.images = gt.image_root;
  }
  std::map<std::string, int> seen;
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string& model = models[i];
    BenchOptions o = base;
    o.spec_path = specs.empty() ? "" : specs.size() == 1 ? specs[0] : specs[i];
    ReportVariant v;
    v.path = model;
    // ONNX variants by their stem, TFLite ones with the extension, so that
    // model.onnx and model.tflite get different rows.
    const std::filesystem::path mp(model);
    v.name = is_tflite_file(model) ? mp.filename().string() : mp.stem().string();
    if (int n = ++seen[v.name]; n > 1) v.name += " (" + std::to_string(n) + ")";
    if (models.size() > 1) std::printf("== %s\n", v.name.c_str());
    v.bench = run_bench(model, o);
    print_result(v.bench, o.profile);
    if (sweep) {
      BenchOptions so = o;
      so.duration_s = 0;  // sweeps use --runs; the sustained run is the main configuration's
      v.sweep = run_sweep(model, so, threads, sizes, o.duration_s > 0 ? nullptr : &v.bench);
      print_sweep(v.sweep);
    }
    const bool tflite = is_tflite_file(model);
    if (tflite && f.has("peer"))
      std::fprintf(stderr, "vedge bench: note: %s is a TFLite file: no ONNX Runtime column\n", model.c_str());
    if (f.has("data")) {
      SessionOptions sess;
      sess.num_threads = threads.front();
      Detector det(model, o.spec_path, sess);
      DatasetDetections run = detect_dataset(det, gt, detect_opt);
      for (const auto& [label, n] : run.unmatched_labels)
        std::fprintf(stderr, "vedge bench: note: %s: %d '%s' boxes dropped (no such category in %s)\n",
                     v.name.c_str(), n, label.c_str(), gt.source.c_str());
      v.eval = evaluate_coco(gt, run.detections);
      std::printf("accuracy on %s: mAP@0.5 %.4f, mAP@[.5:.95] %.4f\n", gt.source.c_str(), v.eval->stats[1],
                  v.eval->stats[0]);
    }
    if (f.has("peer") && !tflite) {
      v.ort = time_with_ort(model, threads.front(), base.warmup, base.runs);
      LatencyStats s = summarize(v.ort->samples_ms);
      std::printf("ONNX Runtime %s, network alone: p50 %.3f ms, p95 %.3f ms (vedge network p50 %.3f ms)\n",
                  v.ort->version.c_str(), s.p50, s.p95, v.bench.stats("inference").p50);
    }
    report.variants.push_back(std::move(v));
  }

  if (f.has("baseline")) {
    const std::string b = f.str("baseline");
    auto it = std::find_if(report.variants.begin(), report.variants.end(),
                           [&](const ReportVariant& v) { return v.path == b || v.name == b; });
    VEDGE_CHECK(it != report.variants.end(), "vedge bench: --baseline '", b, "' is none of the models given");
    report.baseline = static_cast<size_t>(it - report.variants.begin());
  }
  if (!report.variants.empty() && report.variants[0].ort)
    report.context.versions.emplace_back("ONNX Runtime",
                                         report.variants[0].ort->engine + " " + report.variants[0].ort->version);
  if (report.variants.size() > 1) std::printf("\n%s", report_markdown(report).c_str());

  if (f.has("json")) {
    nlohmann::ordered_json j;
    if (report.variants.size() == 1 && report.variants[0].sweep.empty()) {
      j = bench_json(report.variants[0].bench);
    } else {
      j = nlohmann::ordered_json::array();
      for (const ReportVariant& v : report.variants) {
        j.push_back(bench_json(v.bench));
        for (const SweepPoint& p : v.sweep)
          if (p.result) j.push_back(bench_json(*p.result));
      }
    }
    write_text_file_atomic(f.str("json"), j.dump(2) + "\n");
  }
  if (f.has("out")) {
    write_report(report, f.str("out"));
    std::printf("\nwrote %s/report.md, report.json, report.html\n", f.str("out").c_str());
  }
  return 0;
}

}  // namespace vedge::cli

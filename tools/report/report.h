// report.h: the comparison report of `vedge bench MODEL... --out DIR`: one
// row per model variant (size, size reduction, p50 / p95 latency, speedup,
// mAP@0.5, mAP@[.5:.95], optionally ONNX Runtime's time), per-class AP deltas
// against the baseline variant, sweeps, sustained drift, the machine,
// versions, date and the exact command. Rendered as Markdown, JSON (every
// latency sample included, so every figure can be recomputed) and a
// self-contained HTML page with inline SVG charts (report_html.cpp).
// Depends on tools/bench, tools/eval and nlohmann/json; nothing else.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tools/bench/bench.h"
#include "tools/bench/machine.h"
#include "tools/bench/ort_peer.h"
#include "tools/eval/coco_eval.h"

namespace vedge {

struct ReportVariant {
  std::string name;  // unique label in the tables and charts
  std::string path;  // the model file
  BenchResult bench;  // the main configuration (first thread count, the model's own size)
  std::vector<SweepPoint> sweep;  // other thread counts / sizes (may be empty)
  std::optional<CocoEvalResult> eval;
  std::optional<PeerTiming> ort;
  // What could not be measured and why (e.g. "mAP not measured: ..."),
  // printed under the comparison table; a bench without samples of the
  // compared stage shows "-" for its latency.
  std::string note;
};

struct ReportContext {
  MachineInfo machine;
  std::vector<std::pair<std::string, std::string>> versions;  // component -> version
  std::string date_utc;  // ISO 8601
  std::string command;   // the exact command line
  std::string dataset;   // ground-truth file, empty without --data
  std::string images;    // its image folder
};

struct Report {
  ReportContext context;
  std::vector<ReportVariant> variants;
  size_t baseline = 0;  // index into variants
};

// The latency stage every row compares: "total" (end to end) when every
// variant was timed end to end, else "inference" (the network alone) for all.
std::string report_latency_stage(const Report& r);

// The derived figures of one row, computed one way for all three formats.
struct ReportRow {
  double size_mb = 0;          // file bytes / 1e6
  double deflate_mb = 0;
  double size_reduction = 1;   // baseline bytes / bytes
  double p50_ms = 0, p95_ms = 0;  // of report_latency_stage()
  double speedup = 1;          // baseline p50 / p50
  double map50 = -1, map = -1;  // -1 without evaluation
  double net_p50_ms = 0;       // the network alone (inference stage)
  double ort_p50_ms = -1;      // -1 without --peer ort
  double vedge_over_ort = -1;  // net_p50 / ort_p50
};
ReportRow report_row(const Report& r, size_t variant);

// Mean precision over the classes with ground truth at each of the 101
// recall points (IoU 0.5): the all-class PR curve whose area is AP50.
std::vector<double> mean_pr_curve(const CocoEvalResult& e);

std::string report_markdown(const Report& r);
nlohmann::ordered_json report_json(const Report& r);
std::string report_html(const Report& r);

// Writes DIR/report.md, report.json and report.html, each through a
// temporary file renamed into place; creates DIR.
void write_report(const Report& r, const std::string& dir);

// ISO 8601 UTC time of now, "2026-11-21T09:12:03Z".
std::string utc_now_iso8601();

// A context for a run starting now: this machine, the date, `command`, and
// the versions of vedge (`vedge_version`), XNNPACK (its Debian package) and
// the compiler. Callers add the dataset and further versions.
ReportContext current_report_context(const std::string& command, const std::string& vedge_version);

}  // namespace vedge

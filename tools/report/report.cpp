// report.cpp: the report's figures, its Markdown and JSON forms, and the
// atomic write of the three files (see report.h). The HTML page is in
// report_html.cpp.
#include "tools/report/report.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "tools/report/format.h"
#include "runtime/files.h"

namespace vedge {
namespace {

namespace fmt = report_format;

// Classes with ground truth in the baseline's evaluation.
std::vector<size_t> classes_with_gt(const CocoEvalResult& e) {
  std::vector<size_t> out;
  for (size_t i = 0; i < e.classes.size(); ++i)
    if (e.classes[i].ap >= 0) out.push_back(i);
  return out;
}

std::string md_escape(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '|' ? std::string("\\|") : std::string(1, c);
  return o;
}

}  // namespace

std::string report_latency_stage(const Report& r) {
  for (const ReportVariant& v : r.variants)
    if (!v.bench.end_to_end) return "inference";
  return "total";
}

ReportRow report_row(const Report& r, size_t v) {
  VEDGE_CHECK(v < r.variants.size() && r.baseline < r.variants.size(), "report: variant index out of range");
  const ReportVariant& x = r.variants[v];
  const ReportVariant& b = r.variants[r.baseline];
  ReportRow row;
  row.size_mb = x.bench.file_bytes / 1e6;
  row.deflate_mb = x.bench.deflate_bytes / 1e6;
  row.size_reduction = x.bench.file_bytes ? static_cast<double>(b.bench.file_bytes) / x.bench.file_bytes : 0;
  const std::string stage = report_latency_stage(r);
  const bool timed = x.bench.samples.count(stage) != 0, base_timed = b.bench.samples.count(stage) != 0;
  row.p50_ms = timed ? x.bench.stats(stage).p50 : -1;
  row.p95_ms = timed ? x.bench.stats(stage).p95 : -1;
  const double base_p50 = base_timed ? b.bench.stats(stage).p50 : -1;
  row.speedup = row.p50_ms > 0 && base_p50 > 0 ? base_p50 / row.p50_ms : -1;
  if (x.eval) {
    row.map = x.eval->stats[0];
    row.map50 = x.eval->stats[1];
  }
  row.net_p50_ms = x.bench.samples.count("inference") ? x.bench.stats("inference").p50 : -1;
  if (x.ort) {
    row.ort_p50_ms = summarize(x.ort->samples_ms).p50;
    row.vedge_over_ort = row.ort_p50_ms > 0 ? row.net_p50_ms / row.ort_p50_ms : -1;
  }
  return row;
}

std::vector<double> mean_pr_curve(const CocoEvalResult& e) {
  std::vector<double> mean(e.recall_thresholds.size(), 0.0);
  int n = 0;
  for (const CocoClassResult& c : e.classes) {
    if (c.ap < 0 || c.pr.size() != mean.size()) continue;
    for (size_t i = 0; i < mean.size(); ++i) mean[i] += c.pr[i];
    ++n;
  }
  for (double& m : mean) m = n ? m / n : 0;
  return mean;
}

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

ReportContext current_report_context(const std::string& command, const std::string& vedge_version) {
  ReportContext c;
  c.machine = describe_machine();
  c.versions.emplace_back("vedge", vedge_version);
  const std::string xnn = debian_package_version("libxnnpack0");
  c.versions.emplace_back("XNNPACK", xnn.empty() ? "unknown (not a Debian package here)" : "Debian libxnnpack0 " + xnn);
#ifdef __clang__
  c.versions.emplace_back("compiler", "clang " __clang_version__);
#else
  c.versions.emplace_back("compiler", "GCC " __VERSION__);
#endif
  c.date_utc = utc_now_iso8601();
  c.command = command;
  return c;
}

std::string report_markdown(const Report& r) {
  std::ostringstream o;
  const ReportVariant& base = r.variants.at(r.baseline);
  const bool with_eval = base.eval.has_value();
  bool with_ort = false;
  for (const ReportVariant& v : r.variants) with_ort |= v.ort.has_value();
  o << "# Model variants: size, latency, accuracy\n\n";
  o << "Baseline: **" << md_escape(base.name) << "**. Latency: "
    << (report_latency_stage(r) == "total" ? "end to end (preprocess, network, decode, NMS)" : "the network alone")
    << ", "
    << base.bench.threads << " thread(s), " << base.bench.warmup << " warm-up + " << base.bench.runs
    << " timed runs.";
  if (with_eval) o << " Accuracy: COCO mAP on `" << r.context.dataset << "`.";
  o << "\n\n| Variant | Size (MB) | Size reduction | p50 / p95 latency (ms) | Speedup | mAP@0.5 | mAP@[.5:.95] |";
  if (with_ort) o << " ORT p50, network (ms) | vedge / ORT (network) |";
  o << "\n|---|---|---|---|---|---|---|" << (with_ort ? "---|---|" : "") << "\n";
  for (size_t i = 0; i < r.variants.size(); ++i) {
    const ReportRow row = report_row(r, i);
    o << "| " << md_escape(r.variants[i].name) << " | " << fmt::fixed(row.size_mb, 2) << " | "
      << fmt::ratio(row.size_reduction) << " | " << fmt::fixed(row.p50_ms, 2) << " / " << fmt::fixed(row.p95_ms, 2)
      << " | " << fmt::ratio(row.speedup) << " | " << fmt::fixed(row.map50, 3) << " | " << fmt::fixed(row.map, 3)
      << " |";
    if (with_ort) o << " " << fmt::fixed(row.ort_p50_ms, 2) << " | " << fmt::fixed(row.vedge_over_ort, 2) << " |";
    o << "\n";
  }
  for (const ReportVariant& v : r.variants)
    if (!v.note.empty()) o << "\n- " << md_escape(v.name) << ": " << v.note;
  for (const ReportVariant& v : r.variants)
    if (!v.note.empty()) {
      o << "\n";
      break;
    }
  if (with_ort && base.ort)
    o << "\nORT: " << base.ort->engine << " " << base.ort->version << " on the same files in the same run, "
      << base.ort->threads << " thread(s), " << base.ort->warmup << " warm-up + " << base.ort->runs
      << " timed runs, network alone; vedge / ORT is vedge's network p50 over ORT's.\n";

  o << "\n## Per stage (mean ms) and memory\n\n"
    << "| Variant | preprocess | inference | decode | NMS | load (ms) | arena (MB) | peak RSS (MB) | deflated size (MB) |\n"
    << "|---|---|---|---|---|---|---|---|---|\n";
  for (const ReportVariant& v : r.variants) {
    auto mean = [&](const char* s) { return v.bench.samples.count(s) ? fmt::fixed(v.bench.stats(s).mean, 3) : "-"; };
    o << "| " << md_escape(v.name) << " | " << mean("preprocess") << " | " << mean("inference") << " | "
      << mean("decode") << " | " << mean("nms") << " | " << fmt::fixed(v.bench.load_ms, 1) << " | "
      << fmt::megabytes(static_cast<double>(v.bench.arena_bytes)) << " | "
      << fmt::megabytes(static_cast<double>(v.bench.peak_rss_bytes)) << " | "
      << fmt::megabytes(static_cast<double>(v.bench.deflate_bytes)) << " |\n";
  }
  o << "\nDeflated size: zlib deflate at level 9 of the whole file. Peak RSS: "
    << (base.bench.peak_rss_is_own ? "VmHWM, reset before each model's load."
                                   : "VmHWM of the process so far (the kernel did not allow a reset).")
    << "\n";

  if (with_eval && r.variants.size() > 1) {
    o << "\n## Per-class AP@[.5:.95] (delta vs " << md_escape(base.name) << ")\n\n| Class |";
    for (const ReportVariant& v : r.variants) o << " " << md_escape(v.name) << " |";
    o << "\n|---|";
    for (size_t i = 0; i < r.variants.size(); ++i) o << "---|";
    o << "\n";
    for (size_t c : classes_with_gt(*base.eval)) {
      o << "| " << md_escape(base.eval->classes[c].name) << " |";
      const double b = base.eval->classes[c].ap;
      for (size_t i = 0; i < r.variants.size(); ++i) {
        const auto& e = r.variants[i].eval;
        double ap = e && c < e->classes.size() ? e->classes[c].ap : -1;
        o << " " << fmt::fixed(ap, 3);
        if (i != r.baseline && ap >= 0) o << " (" << fmt::delta(ap - b) << ")";
        o << " |";
      }
      o << "\n";
    }
  }

  bool any_sweep = false;
  for (const ReportVariant& v : r.variants) any_sweep |= !v.sweep.empty();
  if (any_sweep) {
    o << "\n## Sweep (threads, input size)\n\n| Variant | threads | input | p50 (ms) | p95 (ms) | arena (MB) |\n"
      << "|---|---|---|---|---|---|\n";
    for (const ReportVariant& v : r.variants)
      for (const SweepPoint& p : v.sweep) {
        o << "| " << md_escape(v.name) << " | " << p.threads << " | " << p.size.width << "x" << p.size.height << " | ";
        if (p.result) {
          LatencyStats s = p.result->stats(p.result->main_stage());
          o << fmt::fixed(s.p50, 2) << " | " << fmt::fixed(s.p95, 2) << " | "
            << fmt::megabytes(static_cast<double>(p.result->arena_bytes)) << " |\n";
        } else {
          o << "skipped: " << md_escape(p.skip_reason) << " | | |\n";
        }
      }
  }

  for (const ReportVariant& v : r.variants) {
    if (v.bench.windows.empty()) continue;
    o << "\n## Sustained run: " << md_escape(v.name) << " (" << fmt::fixed(v.bench.duration_s, 0) << " s, "
      << v.bench.runs << " runs, windows of " << fmt::fixed(v.bench.window_s, 1) << " s)\n\n"
      << "| window (s) | runs | p50 (ms) | p95 (ms) |\n|---|---|---|---|\n";
    for (const DriftWindow& w : v.bench.windows)
      o << "| " << fmt::fixed(w.start_s, 1) << "-" << fmt::fixed(w.end_s, 1) << " | " << w.n << " | "
        << fmt::fixed(w.p50, 3) << " | " << fmt::fixed(w.p95, 3) << " |\n";
    const DriftWindow &f = v.bench.windows.front(), &l = v.bench.windows.back();
    o << "\nLast / first window: p50 " << fmt::ratio(f.p50 > 0 ? l.p50 / f.p50 : -1) << ", p95 "
      << fmt::ratio(f.p95 > 0 ? l.p95 / f.p95 : -1) << ".\n";
  }

  const MachineInfo& m = r.context.machine;
  o << "\n## Machine and versions\n\n- CPU: " << m.cpu_model << ", " << m.logical_cores << " logical cores; ISA: ";
  for (size_t i = 0; i < m.isa.size(); ++i) o << (i ? ", " : "") << m.isa[i];
  o << "\n- OS: " << m.os << ", " << fmt::fixed(m.memory_bytes / 1073741824.0, 1) << " GiB\n";
  for (const auto& [k, v] : r.context.versions) o << "- " << k << ": " << v << "\n";
  o << "- Date: " << r.context.date_utc << "\n- Command: `" << r.context.command << "`\n";
  return o.str();
}

nlohmann::ordered_json report_json(const Report& r) {
  nlohmann::ordered_json j;
  const MachineInfo& m = r.context.machine;
  j["date"] = r.context.date_utc;
  j["command"] = r.context.command;
  j["machine"] = {{"cpu", m.cpu_model}, {"logical_cores", m.logical_cores}, {"isa", m.isa},
                  {"os", m.os},         {"memory_bytes", m.memory_bytes}};
  for (const auto& [k, v] : r.context.versions) j["versions"][k] = v;
  if (!r.context.dataset.empty()) j["dataset"] = {{"annotations", r.context.dataset}, {"images", r.context.images}};
  j["baseline"] = r.variants.at(r.baseline).name;
  j["variants"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.variants.size(); ++i) {
    const ReportVariant& v = r.variants[i];
    const ReportRow row = report_row(r, i);
    nlohmann::ordered_json x;
    x["name"] = v.name;
    x["path"] = v.path;
    x["row"] = {{"size_mb", row.size_mb},      {"size_reduction", row.size_reduction},
                {"p50_ms", row.p50_ms},        {"p95_ms", row.p95_ms},
                {"latency_stage", report_latency_stage(r)},
                {"speedup", row.speedup},      {"map50", row.map50},
                {"map", row.map},              {"net_p50_ms", row.net_p50_ms},
                {"ort_p50_ms", row.ort_p50_ms}, {"vedge_over_ort", row.vedge_over_ort}};
    if (!v.note.empty()) x["note"] = v.note;
    x["bench"] = bench_json(v.bench);
    for (const SweepPoint& p : v.sweep) {
      nlohmann::ordered_json s = {{"threads", p.threads}, {"input_size", {p.size.width, p.size.height}}};
      if (p.result) s["bench"] = bench_json(*p.result);
      else s["skipped"] = p.skip_reason;
      x["sweep"].push_back(s);
    }
    if (v.eval) {
      x["eval"] = coco_eval_to_json(*v.eval);
      x["eval"]["mean_pr_iou50"] = mean_pr_curve(*v.eval);
    }
    if (v.ort) {
      LatencyStats s = summarize(v.ort->samples_ms);
      x["ort"] = {{"engine", v.ort->engine}, {"version", v.ort->version}, {"threads", v.ort->threads},
                  {"warmup", v.ort->warmup}, {"runs", v.ort->runs},
                  {"stats", {{"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"p50", s.p50}, {"p90", s.p90},
                             {"p95", s.p95}, {"p99", s.p99}, {"max", s.max}}},
                  {"samples_ms", v.ort->samples_ms}};
    }
    j["variants"].push_back(x);
  }
  return j;
}

void write_report(const Report& r, const std::string& dir) {
  VEDGE_CHECK(!r.variants.empty(), "report: no variants");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create the folder (", ec.message(), ")");
  // Render all three first, so a rendering error leaves no file behind.
  const std::string md = report_markdown(r), js = report_json(r).dump(1) + "\n", html = report_html(r);
  write_text_file_atomic(dir + "/report.md", md);
  write_text_file_atomic(dir + "/report.json", js);
  write_text_file_atomic(dir + "/report.html", html);
}

}  // namespace vedge

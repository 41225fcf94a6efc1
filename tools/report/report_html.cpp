// report_html.cpp: the report as one self-contained HTML page (report.h):
// the comparison table, inline SVG charts (latency vs mAP, per-stage stacked
// bars, PR curves, sustained drift), per-class AP deltas, sweeps, memory, the
// machine and the command. No scripts, no network: it reads the same offline.
// Depends on report.h, format.h and svg.h.
#include <sstream>

#include "tools/report/format.h"
#include "tools/report/report.h"
#include "tools/report/svg.h"

namespace vedge {
namespace {

namespace fmt = report_format;
using svg::escape;

// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
const char* kVariantColors[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000",
                                "#F0E442"};
std::string variant_color(size_t i) { return kVariantColors[i % (sizeof kVariantColors / sizeof *kVariantColors)]; }

const char* kCss = R"CSS(
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #f6f8fa; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: #ffffff; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.lead, p.note { color: var(--muted); margin: 4px 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--head); font-weight: 600; white-space: normal; vertical-align: bottom; }
.table-wrap { overflow-x: auto; }
th:first-child, td:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fbfcfd; }
tr.baseline td:first-child::after { content: " (baseline)"; color: var(--muted); font-weight: 400; }
td.name { font-weight: 600; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 7px; vertical-align: -1px; }
.better { color: #006e4f; } .worse { color: #b3261e; }
.unit { color: var(--muted); font-weight: 400; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 18px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px; background: #fff; }
figcaption { color: var(--muted); font-size: 13px; padding: 4px 6px 0; }
svg.chart { width: 100%; height: auto; display: block; }
svg .chart-title { font-size: 16px; font-weight: 600; fill: #1f2328; }
svg .axis-label { font-size: 13px; fill: #1f2328; }
svg .tick, svg .legend { font-size: 12px; fill: #3d444d; }
svg .grid { stroke: #e6eaef; stroke-width: 1; }
svg .axis { stroke: #59636e; stroke-width: 1.2; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 8px 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
pre { background: var(--head); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; font-size: 13px; white-space: pre-wrap; overflow-wrap: anywhere; }
.skip { color: var(--muted); font-style: italic; white-space: normal; text-align: left; }
)CSS";

std::string td(const std::string& v, const std::string& cls = "") {
  return "<td" + (cls.empty() ? "" : " class=\"" + cls + "\"") + ">" + escape(v) + "</td>";
}

// Green when the variant is better than the baseline, red when worse.
std::string cls_for(double ratio_or_delta, bool is_delta) {
  double neutral = is_delta ? 0 : 1, eps = is_delta ? 5e-4 : 5e-3;
  if (ratio_or_delta > neutral + eps) return "better";
  if (ratio_or_delta < neutral - eps) return "worse";
  return "";
}

std::string name_cell(const std::string& name, size_t i) {
  return "<td class=\"name\"><span class=\"swatch\" style=\"background:" + variant_color(i) + "\"></span>" +
         escape(name) + "</td>";
}

}  // namespace

std::string report_html(const Report& r) {
  const ReportVariant& base = r.variants.at(r.baseline);
  const bool with_eval = base.eval.has_value();
  bool with_ort = false, any_sweep = false, any_drift = false;
  for (const ReportVariant& v : r.variants) {
    with_ort |= v.ort.has_value();
    any_sweep |= !v.sweep.empty();
    any_drift |= !v.bench.windows.empty();
  }
  const bool e2e = report_latency_stage(r) == "total";
  const std::string stage_desc = e2e ? "end to end (preprocess + network + decode + NMS)"
                                                       : "the network alone";
  std::ostringstream o;
  o << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>Vision-Edge benchmark report</title><style>" << kCss << "</style></head><body><main>\n"
    << "<h1>Model variants: size, latency, accuracy</h1>\n<p class=\"lead\">" << escape(r.context.date_utc) << " &middot; "
    << escape(r.context.machine.cpu_model) << ", " << r.context.machine.logical_cores << " cores &middot; baseline <b>"
    << escape(base.name) << "</b></p>\n";

  // The comparison table.
  o << "<h2>Comparison</h2>\n<p class=\"note\">Latency: " << escape(stage_desc) << ", " << base.bench.threads
    << " thread(s), " << base.bench.warmup << " warm-up and " << base.bench.runs << " timed runs per variant."
    << (with_eval ? " Accuracy: COCO mAP on <code>" + escape(r.context.dataset) + "</code>." : "") << "</p>\n"
    << "<table id=\"comparison\"><thead><tr><th>Variant</th><th>Size <span class=\"unit\">(MB)</span></th>"
    << "<th>Size reduction</th><th>p50 / p95 latency <span class=\"unit\">(ms)</span></th><th>Speedup</th>"
    << "<th>mAP@0.5</th><th>mAP@[.5:.95]</th>";
  if (with_ort) o << "<th>ORT p50, network <span class=\"unit\">(ms)</span></th><th>vedge / ORT</th>";
  o << "</tr></thead><tbody>\n";
  for (size_t i = 0; i < r.variants.size(); ++i) {
    const ReportRow row = report_row(r, i);
    const bool is_base = i == r.baseline;
    o << "<tr class=\"variant-row" << (is_base ? " baseline" : "") << "\">" << name_cell(r.variants[i].name, i)
      << td(fmt::fixed(row.size_mb, 2)) << td(fmt::ratio(row.size_reduction), is_base ? "" : cls_for(row.size_reduction, false))
      << td(fmt::fixed(row.p50_ms, 2) + " / " + fmt::fixed(row.p95_ms, 2))
      << td(fmt::ratio(row.speedup), is_base ? "" : cls_for(row.speedup, false));
    const ReportRow b = report_row(r, r.baseline);
    o << td(fmt::fixed(row.map50, 3), is_base || row.map50 < 0 ? "" : cls_for(row.map50 - b.map50, true))
      << td(fmt::fixed(row.map, 3), is_base || row.map < 0 ? "" : cls_for(row.map - b.map, true));
    if (with_ort)
      o << td(fmt::fixed(row.ort_p50_ms, 2)) << td(row.vedge_over_ort < 0 ? "-" : fmt::fixed(row.vedge_over_ort, 2) + "x");
    o << "</tr>\n";
  }
  o << "</tbody></table>\n<p class=\"note\">Size reduction and speedup are the baseline's size and p50 over the"
       " variant's (higher is better).";
  if (with_ort)
    o << " ORT: ONNX Runtime (" << escape(base.ort ? base.ort->engine + " " + base.ort->version : "onnxruntime-node")
      << ") on the same file in the same run, same threads, "
      << (base.ort ? std::to_string(base.ort->warmup) + " warm-up and " + std::to_string(base.ort->runs) + " timed runs"
                   : std::string("the same warm-up and runs"))
      << ", network alone; vedge / ORT compares vedge's network p50 with it (below 1: vedge is faster).";
  o << "</p>\n";
  for (const ReportVariant& v : r.variants)
    if (!v.note.empty()) o << "<p class=\"note\"><b>" << escape(v.name) << "</b>: " << escape(v.note) << "</p>\n";

  // Charts.
  o << "<h2>Charts</h2>\n<div class=\"charts\">\n";
  if (with_eval) {
    std::vector<svg::Point> pts;
    for (size_t i = 0; i < r.variants.size(); ++i) {
      const ReportRow row = report_row(r, i);
      if (row.p50_ms >= 0 && row.map50 >= 0)  // a variant without either has no point
        pts.push_back({r.variants[i].name, variant_color(i), row.p50_ms, row.map50});
    }
    o << "<figure id=\"chart-latency-map\">"
      << svg::scatter("Latency vs accuracy",
                      std::string("p50 latency, ") + (e2e ? "end to end" : "network") + " (ms)",
                      "mAP@0.5", pts)
      << "<figcaption>Up and to the left is better.</figcaption></figure>\n";
  }
  {
    std::vector<std::string> names;
    std::vector<std::vector<double>> vals;
    std::vector<svg::Segment> segs;
    if (e2e)
      segs = {{"preprocess", "#56B4E9"}, {"inference", "#0072B2"}, {"decode", "#E69F00"}, {"NMS", "#D55E00"}};
    else
      segs = {{"inference", "#0072B2"}};
    for (const ReportVariant& v : r.variants) {
      names.push_back(v.name);
      std::vector<double> x;
      for (const char* s : {"preprocess", "inference", "decode", "nms"})
        if (e2e || std::string(s) == "inference")
          x.push_back(v.bench.samples.count(s) ? v.bench.stats(s).mean : 0.0);
      vals.push_back(x);
    }
    o << "<figure id=\"chart-stages\">" << svg::stacked_bars("Time per stage", "mean time per image (ms)", names, segs, vals)
      << "<figcaption>Mean of each stage over the timed runs; the label on top is their sum.</figcaption></figure>\n";
  }
  if (with_eval) {
    std::vector<svg::Series> ss;
    for (size_t i = 0; i < r.variants.size(); ++i) {
      if (!r.variants[i].eval) continue;
      svg::Series s{r.variants[i].name, variant_color(i), r.variants[i].eval->recall_thresholds,
                    mean_pr_curve(*r.variants[i].eval), i != r.baseline};
      ss.push_back(s);
    }
    o << "<figure id=\"chart-pr\">" << svg::lines("Precision-recall at IoU 0.5", "recall", "precision", ss, 0, 1)
      << "<figcaption>COCO's interpolated precision at 101 recall points, averaged over the classes with ground"
         " truth (its area is mAP@0.5).</figcaption></figure>\n";
  }
  if (any_drift) {
    std::vector<svg::Series> ss;
    for (size_t i = 0; i < r.variants.size(); ++i) {
      const BenchResult& b = r.variants[i].bench;
      if (b.windows.empty()) continue;
      svg::Series p50{r.variants[i].name + " p50", variant_color(i), {}, {}, false};
      svg::Series p95{r.variants[i].name + " p95", variant_color(i), {}, {}, true};
      for (const DriftWindow& w : b.windows) {
        double mid = (w.start_s + w.end_s) / 2;
        p50.x.push_back(mid), p50.y.push_back(w.p50);
        p95.x.push_back(mid), p95.y.push_back(w.p95);
      }
      ss.push_back(p50), ss.push_back(p95);
    }
    o << "<figure id=\"chart-drift\">" << svg::lines("Latency over a sustained run", "time since start (s)",
                                                     "latency per window (ms)", ss)
      << "<figcaption>p50 (solid) and p95 (dashed) of each time window.</figcaption></figure>\n";
  }
  o << "</div>\n";

  if (with_eval && r.variants.size() > 1) {
    o << "<h2>Per-class AP@[.5:.95]</h2>\n<p class=\"note\">Each variant's AP and its difference from the"
         " baseline.</p>\n<table id=\"per-class\"><thead><tr><th>Class</th>";
    for (const ReportVariant& v : r.variants) o << "<th>" << escape(v.name) << "</th>";
    o << "</tr></thead><tbody>\n";
    for (size_t c = 0; c < base.eval->classes.size(); ++c) {
      const double b = base.eval->classes[c].ap;
      if (b < 0) continue;
      o << "<tr><td>" << escape(base.eval->classes[c].name) << "</td>";
      for (size_t i = 0; i < r.variants.size(); ++i) {
        const auto& e = r.variants[i].eval;
        double ap = e && c < e->classes.size() ? e->classes[c].ap : -1;
        std::string text = fmt::fixed(ap, 3);
        if (i != r.baseline && ap >= 0) text += " (" + fmt::delta(ap - b) + ")";
        o << td(text, i == r.baseline || ap < 0 ? "" : cls_for(ap - b, true));
      }
      o << "</tr>\n";
    }
    o << "</tbody></table>\n";
  }

  o << "<h2>Stages, memory and load time</h2>\n<div class=\"table-wrap\"><table id=\"stages\"><thead><tr><th>Variant</th>"
    << "<th>preprocess</th><th>inference</th><th>decode</th><th>NMS</th><th>total p99</th>"
    << "<th>load <span class=\"unit\">(ms)</span></th><th>arena <span class=\"unit\">(MB)</span></th>"
    << "<th>peak RSS <span class=\"unit\">(MB)</span></th><th>deflated <span class=\"unit\">(MB)</span></th>"
    << "</tr></thead><tbody>\n";
  for (size_t i = 0; i < r.variants.size(); ++i) {
    const BenchResult& b = r.variants[i].bench;
    auto mean = [&](const char* s) { return b.samples.count(s) ? fmt::fixed(b.stats(s).mean, 3) : std::string("-"); };
    o << "<tr>" << name_cell(r.variants[i].name, i) << td(mean("preprocess")) << td(mean("inference"))
      << td(mean("decode")) << td(mean("nms")) << td(b.samples.count(b.main_stage()) ? fmt::fixed(b.stats(b.main_stage()).p99, 3) : std::string("-"))
      << td(fmt::fixed(b.load_ms, 1)) << td(fmt::megabytes(static_cast<double>(b.arena_bytes)))
      << td(fmt::megabytes(static_cast<double>(b.peak_rss_bytes)))
      << td(fmt::megabytes(static_cast<double>(b.deflate_bytes))) << "</tr>\n";
  }
  o << "</tbody></table></div>\n<p class=\"note\">Stage times: mean ms per image. Deflated: the file compressed with"
       " zlib deflate at level 9, what a generic compressor would still save. Peak RSS: "
    << (base.bench.peak_rss_is_own ? "VmHWM, reset before each model's load." : "VmHWM of the process so far.")
    << "</p>\n";

  if (any_sweep) {
    o << "<h2>Threads and input size</h2>\n<table id=\"sweep\"><thead><tr><th>Variant</th><th>threads</th>"
      << "<th>input</th><th>p50 <span class=\"unit\">(ms)</span></th><th>p95 <span class=\"unit\">(ms)</span></th>"
      << "<th>arena <span class=\"unit\">(MB)</span></th></tr></thead><tbody>\n";
    for (size_t i = 0; i < r.variants.size(); ++i)
      for (const SweepPoint& p : r.variants[i].sweep) {
        o << "<tr>" << name_cell(r.variants[i].name, i) << td(std::to_string(p.threads))
          << td(std::to_string(p.size.width) + "x" + std::to_string(p.size.height));
        if (p.result) {
          LatencyStats s = p.result->stats(p.result->main_stage());
          o << td(fmt::fixed(s.p50, 2)) << td(fmt::fixed(s.p95, 2))
            << td(fmt::megabytes(static_cast<double>(p.result->arena_bytes)));
        } else {
          o << "<td class=\"skip\" colspan=\"3\">skipped: " << escape(p.skip_reason) << "</td>";
        }
        o << "</tr>\n";
      }
    o << "</tbody></table>\n";
  }

  const MachineInfo& m = r.context.machine;
  std::string isa;
  for (size_t i = 0; i < m.isa.size(); ++i) isa += (i ? ", " : "") + m.isa[i];
  o << "<h2>Machine, versions, command</h2>\n<dl class=\"facts\"><dt>CPU</dt><dd>" << escape(m.cpu_model) << ", "
    << m.logical_cores << " logical cores</dd><dt>ISA</dt><dd>" << escape(isa.empty() ? "-" : isa)
    << "</dd><dt>OS</dt><dd>" << escape(m.os) << ", " << fmt::fixed(m.memory_bytes / 1073741824.0, 1)
    << " GiB</dd>";
  for (const auto& [k, v] : r.context.versions) o << "<dt>" << escape(k) << "</dt><dd>" << escape(v) << "</dd>";
  o << "<dt>Date</dt><dd>" << escape(r.context.date_utc) << "</dd></dl>\n<pre><code>" << escape(r.context.command)
    << "</code></pre>\n<p class=\"note\">Every latency sample is in report.json next to this page.</p>\n"
    << "</main></body></html>\n";
  return o.str();
}

}  // namespace vedge

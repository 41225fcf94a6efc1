// quant_report.cpp: renders a QuantAnalysis (analysis.h) as Markdown, JSON
// and one self-contained HTML page with inline SVG charts (tools/report/
// svg.h): per-layer SQNR bars (layers kept in float in another colour) and
// the mAP of each mixed-precision step against the budget. No scripts, no
// network. Depends on analysis.h, tools/report (svg.h, format.h),
// runtime/files.h and nlohmann/json.
#include "tools/quantize/quant_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/files.h"
#include "tools/report/format.h"
#include "tools/report/svg.h"

namespace vedge {
namespace {

namespace fmt = report_format;
using svg::escape;

constexpr size_t kBarsPerChart = 12;  // per-layer SQNR bars per chart (labels stay legible)
const char* kInt8Color = "#0072B2";
const char* kFloatColor = "#D55E00";

std::string db(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

// Signed, unlike fmt::fixed (which prints "-" for negatives).
std::string num(double v, int decimals) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string gen(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

nlohmann::ordered_json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

std::set<std::string> kept_set(const QuantAnalysis& a) {
  if (!a.mixed) return {};
  return {a.mixed->kept_float.begin(), a.mixed->kept_float.end()};
}

std::string layer_name(const LayerError& e) { return e.node.empty() ? e.value + " (input)" : e.node; }

nlohmann::ordered_json error_json(const LayerError& e) {
  nlohmann::ordered_json j;
  j["value"] = e.value;
  j["node"] = e.node;
  j["op"] = e.op;
  j["sqnr_db"] = finite_or_null(e.sqnr_db);
  j["cosine"] = e.cosine;
  j["max_abs"] = e.max_abs;
  j["elements"] = e.elements;
  return j;
}

std::string ranked_by(const SensitivityResult& s) { return s.by_map ? "map50_drop" : "output_sqnr"; }

}  // namespace

nlohmann::ordered_json quant_report_json(const QuantAnalysis& a) {
  using J = nlohmann::ordered_json;
  J j;
  j["producer"] = std::string("vision-edge ") + VEDGE_VERSION;
  j["date_utc"] = a.date_utc;
  j["command"] = a.command;
  j["quantization"] = {{"precision", a.precision},
                       {"activations", a.activations},
                       {"io", a.io},
                       {"method", a.method},
                       {"calibration_images", a.calib_samples},
                       {"error_images", a.errors.images}};
  j["outputs"] = J::array();
  for (const LayerError& e : a.errors.outputs) j["outputs"].push_back(error_json(e));
  const std::set<std::string> kept = kept_set(a);
  j["layers"] = J::array();
  for (const LayerError& e : a.errors.layers) {
    J l = error_json(e);
    l["kept_float"] = kept.count(e.node) != 0;
    j["layers"].push_back(std::move(l));
  }
  if (a.float_map50 >= 0) {
    j["map50"] = {{"dataset", a.val_path}, {"float", a.float_map50}, {"quantized", a.quant_map50},
                  {"drop_points", (a.float_map50 - a.quant_map50) * 100}};
  } else {
    j["map50"] = nullptr;
  }
  if (a.sensitivity) {
    J s;
    s["ranked_by"] = ranked_by(*a.sensitivity);
    s["float_map50"] = a.sensitivity->by_map ? J(a.sensitivity->float_map50) : J(nullptr);
    s["layers"] = J::array();
    for (size_t i = 0; i < a.sensitivity->ranked.size(); ++i) {
      const LayerSensitivity& l = a.sensitivity->ranked[i];
      J x;
      x["rank"] = i + 1;
      x["node"] = l.node;
      x["op"] = l.op;
      x["output_sqnr_db"] = finite_or_null(l.output_sqnr_db);
      if (a.sensitivity->by_map) {
        x["map50"] = l.map50;
        x["map_drop_points"] = l.map_drop;
      }
      s["layers"].push_back(std::move(x));
    }
    j["sensitivity"] = std::move(s);
  } else {
    j["sensitivity"] = nullptr;
  }
  if (a.mixed) {
    const MixedPrecisionResult& m = *a.mixed;
    J x;
    x["budget_points"] = m.budget;
    x["float_map50"] = m.float_map50;
    x["met_budget"] = m.met_budget;
    x["kept_float"] = m.kept_float;
    x["final_map50"] = m.final_map50();
    x["steps"] = J::array();
    for (const MixedPrecisionStep& s : m.steps)
      x["steps"].push_back({{"added", s.added}, {"float_nodes", s.float_nodes}, {"map50", s.map50},
                            {"drop_points", s.drop}});
    x["final_outputs"] = J::array();
    for (const LayerError& e : a.final_outputs) x["final_outputs"].push_back(error_json(e));
    j["mixed_precision"] = std::move(x);
  } else {
    j["mixed_precision"] = nullptr;
  }
  return j;
}

std::string quant_report_markdown(const QuantAnalysis& a) {
  std::ostringstream o;
  const std::set<std::string> kept = kept_set(a);
  o << "# Quantization report\n\n"
    << "- Precision: " << a.precision << ", " << a.activations << " activations, " << a.io << " I/O, calibration " << a.method << " on "
    << a.calib_samples << " images\n"
    << "- Errors: float vs fake-quantized activations (QDQ graph with DequantizeLinear of the weights folded, "
    << "activation Q/DQ kept) on " << a.errors.images << " calibration images, every layer INT8\n";
  if (!a.date_utc.empty()) o << "- Date: " << a.date_utc << "\n";
  if (!a.command.empty()) o << "- Command: `" << a.command << "`\n";
  if (a.float_map50 >= 0)
    o << "- mAP@0.5 on `" << a.val_path << "`: float " << fmt::fixed(a.float_map50, 3) << ", quantized "
      << fmt::fixed(a.quant_map50, 3) << " (" << fmt::delta((a.quant_map50 - a.float_map50) * 100)
      << " points), run by the integer runtime\n";

  o << "\n## Outputs\n\n| Output | SQNR (dB) | Cosine | Max abs error |\n|---|---:|---:|---:|\n";
  for (const LayerError& e : a.errors.outputs)
    o << "| " << e.value << " | " << db(e.sqnr_db) << " | " << num(e.cosine, 6) << " | " << gen(e.max_abs) << " |\n";

  if (a.mixed) {
    const MixedPrecisionResult& m = *a.mixed;
    o << "\n## Mixed precision\n\nBudget: mAP@0.5 drop at most " << fmt::fixed(m.budget, 2) << " points (float "
      << fmt::fixed(m.float_map50, 3) << "). "
      << (m.met_budget ? "Within budget" : "Budget not reached even with every layer in float") << "; kept in float: "
      << (m.kept_float.empty() ? std::string("none") : "") ;
    for (size_t i = 0; i < m.kept_float.size(); ++i) o << (i ? ", " : "") << "`" << m.kept_float[i] << "`";
    o << ".\n\n| Step | Layer kept in float | Layers in float | mAP@0.5 | Drop (points) |\n|---:|---|---:|---:|---:|\n";
    for (size_t i = 0; i < m.steps.size(); ++i)
      o << "| " << i << " | " << (m.steps[i].added.empty() ? "(all INT8)" : m.steps[i].added) << " | "
        << m.steps[i].float_nodes.size() << " | " << fmt::fixed(m.steps[i].map50, 3) << " | " << num(m.steps[i].drop, 3)
        << " |\n";
    if (!a.final_outputs.empty()) {
      o << "\nOutputs of the mixed-precision model:";
      for (const LayerError& e : a.final_outputs) o << " " << e.value << " " << db(e.sqnr_db) << " dB;";
      o << "\n";
    }
  }

  if (a.sensitivity) {
    const SensitivityResult& s = *a.sensitivity;
    o << "\n## Sensitivity\n\nOne layer quantized at a time (every other layer float), ranked by "
      << (s.by_map ? "mAP@0.5 drop on the validation set" : "the SQNR of the worst output") << ", most sensitive first.\n\n"
      << "| Rank | Layer | Op | Output SQNR (dB) |" << (s.by_map ? " mAP@0.5 | Drop (points) |" : "")
      << "\n|---:|---|---|---:|" << (s.by_map ? "---:|---:|" : "") << "\n";
    for (size_t i = 0; i < s.ranked.size(); ++i) {
      const LayerSensitivity& l = s.ranked[i];
      o << "| " << i + 1 << " | " << l.node << " | " << l.op << " | " << db(l.output_sqnr_db) << " |";
      if (s.by_map) o << " " << fmt::fixed(l.map50, 3) << " | " << num(l.map_drop, 3) << " |";
      o << "\n";
    }
  }

  o << "\n## Per-layer error\n\nAt every quantization point, in graph order (errors accumulate through the "
       "network).\n\n| # | Layer | Op | Value | SQNR (dB) | Cosine | Max abs error | Kept in float |\n"
       "|---:|---|---|---|---:|---:|---:|---|\n";
  for (size_t i = 0; i < a.errors.layers.size(); ++i) {
    const LayerError& e = a.errors.layers[i];
    o << "| " << i + 1 << " | " << layer_name(e) << " | " << e.op << " | " << e.value << " | " << db(e.sqnr_db)
      << " | " << num(e.cosine, 6) << " | " << gen(e.max_abs) << " | " << (kept.count(e.node) ? "yes" : "") << " |\n";
  }
  return o.str();
}

namespace {

const char* kCss = R"CSS(
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d1d9e0; }
p.note { color: #59636e; margin: 4px 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid #d1d9e0; text-align: right; white-space: nowrap; }
th { background: #f6f8fa; font-weight: 600; }
th:first-child, td:first-child, td.name, th.name { text-align: left; }
td.name { white-space: normal; overflow-wrap: anywhere; }
tr.kept td { background: #fdf0e8; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 18px; }
figure { margin: 0; border: 1px solid #d1d9e0; border-radius: 8px; padding: 8px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .chart-title { font-size: 16px; font-weight: 600; fill: #1f2328; }
svg .axis-label { font-size: 13px; fill: #1f2328; }
svg .tick, svg .legend { font-size: 12px; fill: #3d444d; }
svg .grid { stroke: #e6eaef; stroke-width: 1; }
svg .axis { stroke: #59636e; stroke-width: 1.2; }
code { background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
)CSS";

std::string td(const std::string& v, bool name = false) {
  return std::string(name ? "<td class=\"name\">" : "<td>") + escape(v) + "</td>";
}

// Per-layer SQNR bars, kBarsPerChart layers per chart, labelled by their
// row number in the table; -inf/negative SQNR shows as 0, +inf as the
// highest finite value (the tooltip and the table give the exact figure).
std::string sqnr_charts(const QuantAnalysis& a) {
  const std::set<std::string> kept = kept_set(a);
  double top = 0;
  for (const LayerError& e : a.errors.layers)
    if (std::isfinite(e.sqnr_db)) top = std::max(top, e.sqnr_db);
  std::vector<svg::Segment> segs = {{"INT8", kInt8Color}};
  if (!kept.empty()) segs.push_back({"kept in float", kFloatColor});
  std::ostringstream o;
  const size_t n = a.errors.layers.size();
  for (size_t first = 0; first < n; first += kBarsPerChart) {
    const size_t last = std::min(n, first + kBarsPerChart);
    std::vector<std::string> bars;
    std::vector<std::vector<double>> values;
    for (size_t i = first; i < last; ++i) {
      const LayerError& e = a.errors.layers[i];
      double v = std::isinf(e.sqnr_db) ? (e.sqnr_db > 0 ? top : 0) : std::max(0.0, e.sqnr_db);
      bars.push_back(std::to_string(i + 1));
      const bool k = kept.count(e.node) != 0;
      values.push_back(kept.empty() ? std::vector<double>{v} : std::vector<double>{k ? 0.0 : v, k ? v : 0.0});
    }
    o << "<figure class=\"sqnr-chart\">"
      << svg::stacked_bars("Per-layer SQNR, layers " + std::to_string(first + 1) + "-" + std::to_string(last),
                           "SQNR (dB)", bars, segs, values)
      << "</figure>\n";
  }
  return o.str();
}

std::string mixed_chart(const MixedPrecisionResult& m) {
  svg::Series got{"mAP@0.5", kInt8Color, {}, {}, false}, fl{"float", "#009E73", {}, {}, true},
      budget{"budget", kFloatColor, {}, {}, true};
  const double last = static_cast<double>(m.steps.size() - 1);
  for (size_t i = 0; i < m.steps.size(); ++i) {
    got.x.push_back(static_cast<double>(i));
    got.y.push_back(m.steps[i].map50);
  }
  fl.x = budget.x = {0.0, std::max(1.0, last)};
  fl.y = {m.float_map50, m.float_map50};
  const double b = std::max(0.0, m.float_map50 - m.budget / 100);
  budget.y = {b, b};
  // Zoomed on the figures (a few points of mAP), not on 0..1.
  double lo = std::min(b, m.float_map50), hi = std::max(b, m.float_map50);
  for (double y : got.y) lo = std::min(lo, y), hi = std::max(hi, y);
  const double pad = std::max(0.002, (hi - lo) * 0.15);
  return "<figure id=\"chart-mixed\">" +
         svg::lines("Mixed precision: mAP@0.5 per step", "layers kept in float", "mAP@0.5", {got, fl, budget},
                    std::max(0.0, lo - pad), std::min(1.0, hi + pad)) +
         "</figure>\n";
}

}  // namespace

std::string quant_report_html(const QuantAnalysis& a) {
  const std::set<std::string> kept = kept_set(a);
  std::ostringstream o;
  o << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>Vision-Edge quantization report</title><style>" << kCss << "</style></head><body><main>\n"
    << "<h1>Quantization report</h1>\n<p class=\"note\">" << escape(a.precision) << ", " << escape(a.activations)
    << " activations, " << escape(a.io) << " I/O, " << escape(a.method) << " calibration on " << a.calib_samples << " images; errors on "
    << a.errors.images << " of them, every layer INT8"
    << (a.date_utc.empty() ? "" : " &middot; " + escape(a.date_utc)) << "</p>\n";
  if (!a.command.empty()) o << "<p class=\"note\">Command: <code>" << escape(a.command) << "</code></p>\n";
  if (a.float_map50 >= 0)
    o << "<p>mAP@0.5 on <code>" << escape(a.val_path) << "</code> (integer runtime): float <b>"
      << fmt::fixed(a.float_map50, 3) << "</b>, quantized <b>" << fmt::fixed(a.quant_map50, 3) << "</b> ("
      << fmt::delta((a.quant_map50 - a.float_map50) * 100) << " points).</p>\n";

  o << "<h2>Outputs</h2>\n<table id=\"outputs\"><thead><tr><th>Output</th><th>SQNR (dB)</th><th>Cosine</th>"
    << "<th>Max abs error</th></tr></thead><tbody>\n";
  for (const LayerError& e : a.errors.outputs)
    o << "<tr>" << td(e.value, true) << td(db(e.sqnr_db)) << td(num(e.cosine, 6)) << td(gen(e.max_abs)) << "</tr>\n";
  o << "</tbody></table>\n";

  if (a.mixed) {
    const MixedPrecisionResult& m = *a.mixed;
    o << "<h2>Mixed precision</h2>\n<p>Budget: mAP@0.5 drop at most " << fmt::fixed(m.budget, 2) << " points. "
      << (m.met_budget ? "Within budget" : "Budget not reached even with every layer in float")
      << "; kept in float: <b>";
    for (size_t i = 0; i < m.kept_float.size(); ++i) o << (i ? ", " : "") << escape(m.kept_float[i]);
    o << (m.kept_float.empty() ? "none" : "") << "</b>.</p>\n<div class=\"charts\">" << mixed_chart(m) << "</div>\n"
      << "<table id=\"mixed\"><thead><tr><th>Step</th><th class=\"name\">Layer kept in float</th><th>Layers in float</th>"
      << "<th>mAP@0.5</th><th>Drop (points)</th></tr></thead><tbody>\n";
    for (size_t i = 0; i < m.steps.size(); ++i)
      o << "<tr>" << td(std::to_string(i)) << td(m.steps[i].added.empty() ? "(all INT8)" : m.steps[i].added, true)
        << td(std::to_string(m.steps[i].float_nodes.size())) << td(fmt::fixed(m.steps[i].map50, 3))
        << td(num(m.steps[i].drop, 3)) << "</tr>\n";
    o << "</tbody></table>\n";
  }

  o << "<h2>Per-layer SQNR</h2>\n<p class=\"note\">Float vs fake-quantized activation at every quantization point, "
       "in graph order (bars numbered as the table below); "
    << "<span style=\"color:" << kFloatColor << "\">layers kept in float</span> in orange.</p>\n<div class=\"charts\">\n"
    << sqnr_charts(a) << "</div>\n";

  if (a.sensitivity) {
    const SensitivityResult& s = *a.sensitivity;
    o << "<h2>Sensitivity</h2>\n<p class=\"note\">One layer quantized at a time (every other layer float), ranked by "
      << (s.by_map ? "mAP@0.5 drop on the validation set" : "the SQNR of the worst output")
      << ", most sensitive first.</p>\n<table id=\"sensitivity\"><thead><tr><th>Rank</th><th class=\"name\">Layer</th>"
      << "<th class=\"name\">Op</th><th>Output SQNR (dB)</th>" << (s.by_map ? "<th>mAP@0.5</th><th>Drop (points)</th>" : "")
      << "</tr></thead><tbody>\n";
    for (size_t i = 0; i < s.ranked.size(); ++i) {
      const LayerSensitivity& l = s.ranked[i];
      o << "<tr" << (kept.count(l.node) ? " class=\"kept\"" : "") << ">" << td(std::to_string(i + 1)) << td(l.node, true)
        << td(l.op, true) << td(db(l.output_sqnr_db));
      if (s.by_map) o << td(fmt::fixed(l.map50, 3)) << td(num(l.map_drop, 3));
      o << "</tr>\n";
    }
    o << "</tbody></table>\n";
  }

  o << "<h2>Per-layer error</h2>\n<table id=\"layers\"><thead><tr><th>#</th><th class=\"name\">Layer</th>"
    << "<th class=\"name\">Op</th><th class=\"name\">Value</th>"
    << "<th>SQNR (dB)</th><th>Cosine</th><th>Max abs error</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < a.errors.layers.size(); ++i) {
    const LayerError& e = a.errors.layers[i];
    o << "<tr" << (kept.count(e.node) ? " class=\"kept\"" : "") << ">" << td(std::to_string(i + 1))
      << td(layer_name(e), true) << td(e.op, true) << td(e.value, true) << td(db(e.sqnr_db)) << td(num(e.cosine, 6))
      << td(gen(e.max_abs)) << "</tr>\n";
  }
  o << "</tbody></table>\n</main></body></html>\n";
  return o.str();
}

void write_quant_report(const QuantAnalysis& a, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create the report folder (", ec.message(), ")");
  // Render all three first, so a rendering error leaves no file behind.
  const std::string md = quant_report_markdown(a), js = quant_report_json(a).dump(1) + "\n",
                    html = quant_report_html(a);
  write_text_file_atomic(dir + "/quant-report.md", md);
  write_text_file_atomic(dir + "/quant-report.json", js);
  write_text_file_atomic(dir + "/quant-report.html", html);
}

}  // namespace vedge

// quant_report.h: the report of the quantization accuracy tools
// (analysis.h) as Markdown, JSON and a self-contained HTML page: per-layer
// SQNR / cosine / max abs error (an SVG bar chart of the per-layer SQNR with
// the layers kept in float highlighted), the output errors, the sensitivity
// ranking and the mixed-precision steps. Non-finite SQNR (an exact layer)
// is "inf" in Markdown/HTML and null in JSON.
// Depends on tools/quantize/analysis.h, tools/report (svg.h, format.h),
// runtime/files.h and nlohmann/json.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tools/quantize/analysis.h"

namespace vedge {

std::string quant_report_markdown(const QuantAnalysis& a);
nlohmann::ordered_json quant_report_json(const QuantAnalysis& a);
std::string quant_report_html(const QuantAnalysis& a);

// Writes DIR/quant-report.md, quant-report.json and quant-report.html, each
// through a temporary file renamed into place (all three rendered first);
// creates DIR.
void write_quant_report(const QuantAnalysis& a, const std::string& dir);

}  // namespace vedge

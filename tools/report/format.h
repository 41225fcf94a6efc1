// format.h: number formatting shared by the Markdown and HTML reports, so
// both print the same figures: fixed decimals, "-" for a missing value (< 0),
// ratios as "4.00x", bytes as MB. Header-only; the standard library only.
#pragma once

#include <cstdio>
#include <string>

namespace vedge::report_format {

inline std::string fixed(double v, int decimals) {
  if (v < 0) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

inline std::string ratio(double v) { return v < 0 ? "-" : fixed(v, 2) + "x"; }

// Signed difference with 3 decimals ("+0.012", "-0.100", "0.000").
inline std::string delta(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%+.3f", v);
  std::string s = b;
  return s == "+0.000" || s == "-0.000" ? "0.000" : s;
}

inline std::string megabytes(double bytes) { return fixed(bytes / 1e6, 2); }

}  // namespace vedge::report_format

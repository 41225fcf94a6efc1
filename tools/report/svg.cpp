// svg.cpp: the report's SVG charts (see svg.h). Standard library only.
#include "tools/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace vedge::svg {
namespace {

constexpr double kW = 720, kH = 380;                          // viewBox
constexpr double kLeft = 70, kRight = 190, kTop = 44, kBottom = 64;  // plot margins (legend on the right)
constexpr double kPlotW = kW - kLeft - kRight, kPlotH = kH - kTop - kBottom;

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

// Tick label: as few decimals as the step needs.
std::string tick_text(double v, double step) {
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", std::min(decimals, 6), std::fabs(v) < step * 1e-6 ? 0.0 : v);
  return b;
}

struct Scale {
  double lo = 0, hi = 1, step = 0.2;
  // Pixel position of v along [p0, p1].
  double at(double v, double p0, double p1) const { return p0 + (v - lo) / (hi - lo) * (p1 - p0); }
};

// A range covering [lo, hi] with about 5 ticks at 1, 2 or 5 x 10^k.
Scale nice_scale(double lo, double hi) {
  if (!(hi > lo)) {
    double pad = std::fabs(lo) > 0 ? std::fabs(lo) * 0.1 : 1;
    lo -= pad, hi += pad;
  }
  double raw = (hi - lo) / 5, mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  Scale s;
  s.step = step;
  s.lo = std::floor(lo / step + 1e-9) * step;
  s.hi = std::ceil(hi / step - 1e-9) * step;
  if (s.hi <= s.lo) s.hi = s.lo + step;
  return s;
}

void open_svg(const std::string& kind, const std::string& title, std::ostringstream& o) {
  o << "<svg class=\"chart\" data-kind=\"" << kind << "\" viewBox=\"0 0 " << kW << " " << kH
    << "\" role=\"img\" aria-label=\"" << escape(title) << "\" xmlns=\"http://www.w3.org/2000/svg\">"
    << "<title>" << escape(title) << "</title>"
    << "<rect class=\"bg\" x=\"0\" y=\"0\" width=\"" << kW << "\" height=\"" << kH << "\" fill=\"#ffffff\"/>"
    << "<text class=\"chart-title\" x=\"" << kLeft << "\" y=\"24\">" << escape(title) << "</text>";
}

// Grid lines, tick labels and axis labels.
void axes(std::ostringstream& o, const Scale& x, const Scale& y, const std::string& x_label,
          const std::string& y_label, bool x_ticks = true) {
  const double x0 = kLeft, x1 = kLeft + kPlotW, y0 = kTop + kPlotH, y1 = kTop;
  for (double v = y.lo; v <= y.hi + y.step * 1e-6; v += y.step) {
    double py = y.at(v, y0, y1);
    o << "<line class=\"grid\" x1=\"" << x0 << "\" x2=\"" << x1 << "\" y1=\"" << num(py) << "\" y2=\"" << num(py)
      << "\"/><text class=\"tick\" x=\"" << x0 - 8 << "\" y=\"" << num(py + 4) << "\" text-anchor=\"end\">"
      << tick_text(v, y.step) << "</text>";
  }
  if (x_ticks)
    for (double v = x.lo; v <= x.hi + x.step * 1e-6; v += x.step) {
      double px = x.at(v, x0, x1);
      o << "<line class=\"grid\" x1=\"" << num(px) << "\" x2=\"" << num(px) << "\" y1=\"" << y0 << "\" y2=\"" << y1
        << "\"/><text class=\"tick\" x=\"" << num(px) << "\" y=\"" << y0 + 18 << "\" text-anchor=\"middle\">"
        << tick_text(v, x.step) << "</text>";
    }
  o << "<line class=\"axis\" x1=\"" << x0 << "\" x2=\"" << x1 << "\" y1=\"" << y0 << "\" y2=\"" << y0 << "\"/>"
    << "<line class=\"axis\" x1=\"" << x0 << "\" x2=\"" << x0 << "\" y1=\"" << y0 << "\" y2=\"" << y1 << "\"/>"
    << "<text class=\"axis-label\" x=\"" << kLeft + kPlotW / 2 << "\" y=\"" << kH - 14
    << "\" text-anchor=\"middle\">" << escape(x_label) << "</text>"
    << "<text class=\"axis-label\" transform=\"translate(18 " << kTop + kPlotH / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape(y_label) << "</text>";
}

struct LegendEntry {
  std::string name, color;
  bool dashed = false;
};

void legend(std::ostringstream& o, const std::vector<LegendEntry>& entries, bool as_lines) {
  double x = kLeft + kPlotW + 20, y = kTop + 6;
  for (const auto& [name, color, dashed] : entries) {
    if (as_lines)
      o << "<line x1=\"" << x << "\" x2=\"" << x + 18 << "\" y1=\"" << y << "\" y2=\"" << y << "\" stroke=\"" << color
        << "\" stroke-width=\"3\"" << (dashed ? " stroke-dasharray=\"5 3\"" : "") << "/>";
    else
      o << "<rect x=\"" << x << "\" y=\"" << y - 6 << "\" width=\"12\" height=\"12\" fill=\"" << color << "\"/>";
    std::string shown = name.size() > 22 ? name.substr(0, 21) + "\u2026" : name;
    o << "<text class=\"legend\" x=\"" << x + 24 << "\" y=\"" << y + 4 << "\">" << escape(shown) << "<title>"
      << escape(name) << "</title></text>";
    y += 20;
  }
}

}  // namespace

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  return o;
}

std::string scatter(const std::string& title, const std::string& x_label, const std::string& y_label,
                    const std::vector<Point>& points) {
  std::ostringstream o;
  open_svg("scatter", title, o);
  double xlo = 0, xhi = 0, ylo = 0, yhi = 0;
  for (const Point& p : points) xhi = std::max(xhi, p.x), yhi = std::max(yhi, p.y);
  Scale x = nice_scale(xlo, xhi * 1.1), y = nice_scale(ylo, std::max(yhi * 1.1, 1e-3));
  if (yhi <= 1 && yhi > 0) y = nice_scale(0, std::min(1.0, yhi * 1.15));
  axes(o, x, y, x_label, y_label);
  std::vector<LegendEntry> entries;
  for (const Point& p : points) {
    double px = x.at(p.x, kLeft, kLeft + kPlotW), py = y.at(p.y, kTop + kPlotH, kTop);
    o << "<circle class=\"point\" cx=\"" << num(px) << "\" cy=\"" << num(py) << "\" r=\"7\" fill=\"" << p.color
      << "\" stroke=\"#1f2328\" stroke-width=\"1\"><title>" << escape(p.label) << ": " << num(p.x) << ", "
      << num(p.y) << "</title></circle>";
    entries.push_back({p.label, p.color});
  }
  legend(o, entries, false);
  o << "</svg>";
  return o.str();
}

std::string stacked_bars(const std::string& title, const std::string& y_label, const std::vector<std::string>& bars,
                         const std::vector<Segment>& segments, const std::vector<std::vector<double>>& values) {
  std::ostringstream o;
  open_svg("stacked-bars", title, o);
  double top = 0;
  for (const auto& v : values) {
    double s = 0;
    for (double x : v) s += std::max(0.0, x);
    top = std::max(top, s);
  }
  Scale y = nice_scale(0, top > 0 ? top * 1.05 : 1);
  axes(o, Scale{}, y, "", y_label, false);
  const double slot = kPlotW / std::max<size_t>(1, bars.size()), bw = std::min(80.0, slot * 0.6);
  for (size_t b = 0; b < bars.size(); ++b) {
    const double cx = kLeft + slot * (b + 0.5);
    double acc = 0;
    for (size_t s = 0; s < segments.size() && s < values[b].size(); ++s) {
      double v = std::max(0.0, values[b][s]);
      double y0 = y.at(acc, kTop + kPlotH, kTop), y1 = y.at(acc + v, kTop + kPlotH, kTop);
      o << "<rect class=\"bar-seg\" x=\"" << num(cx - bw / 2) << "\" y=\"" << num(y1) << "\" width=\"" << num(bw)
        << "\" height=\"" << num(std::max(0.0, y0 - y1)) << "\" fill=\"" << segments[s].color << "\"><title>"
        << escape(bars[b]) << ", " << escape(segments[s].name) << ": " << num(v) << "</title></rect>";
      acc += v;
    }
    std::string shown = bars[b].size() > 18 ? bars[b].substr(0, 17) + "\u2026" : bars[b];
    o << "<text class=\"tick\" x=\"" << num(cx) << "\" y=\"" << kTop + kPlotH + 18 << "\" text-anchor=\"middle\">"
      << escape(shown) << "</text><text class=\"tick\" x=\"" << num(cx) << "\" y=\"" << num(y.at(acc, kTop + kPlotH, kTop) - 6)
      << "\" text-anchor=\"middle\">" << num(acc) << "</text>";
  }
  std::vector<LegendEntry> entries;
  for (const Segment& s : segments) entries.push_back({s.name, s.color});
  legend(o, entries, false);
  o << "</svg>";
  return o.str();
}

std::string lines(const std::string& title, const std::string& x_label, const std::string& y_label,
                  const std::vector<Series>& series, double y_lo, double y_hi) {
  std::ostringstream o;
  open_svg("lines", title, o);
  double xlo = 1e300, xhi = -1e300, ylo = 1e300, yhi = -1e300;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
    }
  if (xlo > xhi) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  Scale x = nice_scale(xlo, xhi);
  Scale y = nice_scale(y_lo >= 0 ? y_lo : std::min(0.0, ylo), y_hi >= 0 ? y_hi : yhi * 1.05);
  axes(o, x, y, x_label, y_label);
  std::vector<LegendEntry> entries;
  for (const Series& s : series) {
    o << "<path class=\"series-line\" fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2.5\""
      << (s.dashed ? " stroke-dasharray=\"7 4\"" : "") << " d=\"";
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      o << (i ? " L" : "M") << num(x.at(s.x[i], kLeft, kLeft + kPlotW)) << " "
        << num(y.at(s.y[i], kTop + kPlotH, kTop));
    o << "\"><title>" << escape(s.name) << "</title></path>";
    entries.push_back({s.name, s.color, s.dashed});
  }
  legend(o, entries, true);
  o << "</svg>";
  return o.str();
}

}  // namespace vedge::svg

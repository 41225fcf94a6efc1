// svg.h: small self-contained SVG charts for the HTML report: a scatter plot,
// stacked bars and line charts, each with a title, axis labels, "nice" tick
// values and a legend, as one <svg> string (no scripts, no external files).
// Marks carry classes the browser test counts: "point" (scatter), "bar-seg"
// (stacked bars), "series-line" (lines); each has a <title> tooltip.
// Depends on the standard library only.
#pragma once

#include <string>
#include <vector>

namespace vedge::svg {

struct Point {
  std::string label, color;
  double x = 0, y = 0;
};

struct Segment {  // one stack component (a legend entry)
  std::string name, color;
};

struct Series {
  std::string name, color;
  std::vector<double> x, y;
  bool dashed = false;
};

// HTML/XML text escaping (&, <, >, ", ').
std::string escape(const std::string& s);

std::string scatter(const std::string& title, const std::string& x_label, const std::string& y_label,
                    const std::vector<Point>& points);

// values[bar][segment]; bars labelled below.
std::string stacked_bars(const std::string& title, const std::string& y_label, const std::vector<std::string>& bars,
                         const std::vector<Segment>& segments, const std::vector<std::vector<double>>& values);

// y_lo/y_hi < 0: from the data.
std::string lines(const std::string& title, const std::string& x_label, const std::string& y_label,
                  const std::vector<Series>& series, double y_lo = -1, double y_hi = -1);

}  // namespace vedge::svg

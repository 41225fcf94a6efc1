#include "tools/bench/stats.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace vedge {

static double sorted_percentile(const std::vector<double>& s, double q) {
  if (s.empty()) return 0;
  double pos = q / 100.0 * static_cast<double>(s.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, s.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return s[lo] + (s[hi] - s[lo]) * frac;
}

double percentile(std::vector<double> samples, double q) {
  std::sort(samples.begin(), samples.end());
  return sorted_percentile(samples, q);
}

LatencyStats summarize(const std::vector<double>& samples_ms) {
  LatencyStats st;
  st.n = static_cast<int>(samples_ms.size());
  if (samples_ms.empty()) return st;
  std::vector<double> s = samples_ms;
  std::sort(s.begin(), s.end());
  double sum = 0;
  for (double v : s) sum += v;
  st.mean = sum / static_cast<double>(s.size());
  double var = 0;
  for (double v : s) var += (v - st.mean) * (v - st.mean);
  st.std = s.size() > 1 ? std::sqrt(var / static_cast<double>(s.size() - 1)) : 0.0;
  st.min = s.front();
  st.max = s.back();
  st.p50 = sorted_percentile(s, 50);
  st.p90 = sorted_percentile(s, 90);
  st.p95 = sorted_percentile(s, 95);
  st.p99 = sorted_percentile(s, 99);
  return st;
}

std::vector<DriftWindow> drift_windows(const std::vector<double>& samples_ms,
                                       const std::vector<double>& start_times_s, double window_s) {
  VEDGE_CHECK(samples_ms.size() == start_times_s.size(), "drift: ", samples_ms.size(), " samples but ",
              start_times_s.size(), " start times");
  VEDGE_CHECK(window_s > 0, "drift: window must be positive, got ", window_s, " s");
  std::vector<DriftWindow> out;
  std::vector<double> cur;
  size_t i = 0;
  for (int64_t w = 0; i < samples_ms.size(); ++w) {
    const double lo = static_cast<double>(w) * window_s, hi = lo + window_s;
    cur.clear();
    while (i < samples_ms.size() && start_times_s[i] < hi) cur.push_back(samples_ms[i++]);
    if (cur.empty()) continue;
    std::sort(cur.begin(), cur.end());
    DriftWindow d;
    d.start_s = lo;
    d.end_s = hi;
    d.n = static_cast<int>(cur.size());
    d.p50 = sorted_percentile(cur, 50);
    d.p95 = sorted_percentile(cur, 95);
    out.push_back(d);
  }
  return out;
}

}  // namespace vedge

// stats.h: summary statistics of latency samples. Percentiles interpolate
// linearly between the two closest ranks of the sorted samples (the
// definition numpy.percentile uses by default), so they can be recomputed
// from the recorded samples. Depends on runtime/error.h only.
#pragma once

#include <vector>

namespace vedge {

struct LatencyStats {
  int n = 0;
  double mean = 0, std = 0, min = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
};

// q in [0, 100]; samples need not be sorted. Empty input gives 0.
double percentile(std::vector<double> samples, double q);
LatencyStats summarize(const std::vector<double>& samples_ms);

// Latency drift of a sustained run: the samples split by the time they
// started (seconds since the first timed run) into consecutive windows of
// `window_s` seconds; each window's p50 and p95. A window without samples is
// left out. The last window may be shorter than the others.
struct DriftWindow {
  double start_s = 0, end_s = 0;
  int n = 0;
  double p50 = 0, p95 = 0;
};
std::vector<DriftWindow> drift_windows(const std::vector<double>& samples_ms,
                                       const std::vector<double>& start_times_s, double window_s);

}  // namespace vedge

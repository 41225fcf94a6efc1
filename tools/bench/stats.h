// stats.h: summary statistics of latency samples. Percentiles interpolate
// linearly between the two closest ranks of the sorted samples (the
// definition numpy.percentile uses by default), so they can be recomputed
// from the recorded samples. Depends on nothing.
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

}  // namespace vedge

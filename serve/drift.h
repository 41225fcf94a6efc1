// drift.h: a detection-statistics drift monitor. The first `window` images
// served form the baseline; afterwards the last `window` images form the
// current window. Drift is on while the share of images with zero detections
// or the mean top score (0 for an image without detections) of the current
// window differs from the baseline's by more than its threshold: the signal
// that a camera went dark, was covered or moved. Thread-safe.
// Depends on the C++ standard library only.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>

namespace vedge::serve {

struct DriftOptions {
  size_t window = 200;            // images per window (baseline and current)
  double zero_share_delta = 0.3;  // |current - baseline| share of zero-detection images
  double top_score_delta = 0.2;   // |current - baseline| mean top score
};

struct DriftState {
  bool baseline_ready = false;  // the baseline window is full
  bool window_ready = false;    // a full current window exists
  double baseline_zero_share = 0, baseline_top_score = 0;
  double zero_share = 0, top_score = 0;  // current window
  bool drifting = false;
  // Set by the observe() call that switched `drifting` (for one log line).
  bool changed = false;
};

class DriftMonitor {
 public:
  explicit DriftMonitor(const DriftOptions& opt = {});
  // One served image: its detection count and top score.
  DriftState observe(size_t num_detections, double top_score);
  DriftState state() const;
  const DriftOptions& options() const { return opt_; }

 private:
  DriftState state_locked() const;

  DriftOptions opt_;
  mutable std::mutex mu_;
  size_t base_n_ = 0, base_zero_ = 0;
  double base_score_sum_ = 0;
  std::deque<std::pair<bool, double>> cur_;  // (zero detections, top score)
  size_t cur_zero_ = 0;
  double cur_score_sum_ = 0;
  bool drifting_ = false;
};

}  // namespace vedge::serve

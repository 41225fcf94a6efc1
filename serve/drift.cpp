// drift.cpp: the sliding-window drift monitor (see drift.h).
// Depends on the C++ standard library only.
#include "serve/drift.h"

#include <cmath>
#include <stdexcept>

namespace vedge::serve {

DriftMonitor::DriftMonitor(const DriftOptions& opt) : opt_(opt) {
  if (opt_.window == 0) throw std::invalid_argument("drift window must be positive");
}

DriftState DriftMonitor::observe(size_t num_detections, double top_score) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool zero = num_detections == 0;
  if (base_n_ < opt_.window) {
    ++base_n_;
    base_zero_ += zero;
    base_score_sum_ += top_score;
    return state_locked();
  }
  cur_.emplace_back(zero, top_score);
  cur_zero_ += zero;
  cur_score_sum_ += top_score;
  if (cur_.size() > opt_.window) {
    cur_zero_ -= cur_.front().first;
    cur_score_sum_ -= cur_.front().second;
    cur_.pop_front();
  }
  DriftState s = state_locked();
  if (s.window_ready) {
    const bool now = std::fabs(s.zero_share - s.baseline_zero_share) > opt_.zero_share_delta ||
                     std::fabs(s.top_score - s.baseline_top_score) > opt_.top_score_delta;
    s.changed = now != drifting_;
    drifting_ = now;
    s.drifting = now;
  }
  return s;
}

DriftState DriftMonitor::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_locked();
}

DriftState DriftMonitor::state_locked() const {
  DriftState s;
  s.baseline_ready = base_n_ == opt_.window;
  s.window_ready = cur_.size() == opt_.window;
  if (base_n_ > 0) {
    s.baseline_zero_share = static_cast<double>(base_zero_) / base_n_;
    s.baseline_top_score = base_score_sum_ / base_n_;
  }
  if (!cur_.empty()) {
    s.zero_share = static_cast<double>(cur_zero_) / cur_.size();
    s.top_score = cur_score_sum_ / cur_.size();
  }
  s.drifting = drifting_;
  return s;
}

}  // namespace vedge::serve

// progress.h: a terminal progress bar for long jobs (training epochs,
// benchmarks, dataset generation). On a TTY it redraws one line in place at
// most ~10 times a second: label, bar, done/total, rate (items/s), elapsed
// and ETA, plus a caller-supplied extra field ("loss 1.234"). When the
// output is not a TTY it prints plain lines instead, at most one every
// `plain_interval_s` seconds (default 10), and always a final line.
// Depends on the standard library only (no LibTorch).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace vedge {

class ProgressBar {
 public:
  // total <= 0: unknown total (no bar, no ETA).
  ProgressBar(std::string label, int64_t total, FILE* out = stderr);
  ~ProgressBar();  // finish() if not yet called
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` items finished so far (absolute, not an increment). `extra` is
  // appended to the line.
  void update(int64_t done, const std::string& extra = "");
  // Draws the final state and ends the line. Idempotent.
  void finish();

  // Items per second since construction (0 before any time has passed).
  double rate() const;
  double elapsed_seconds() const;
  void set_plain_interval(double seconds) { plain_interval_s_ = seconds; }
  // Forces TTY or plain mode (tests; "--progress" flags).
  void set_tty(bool tty) { tty_ = tty; }

  // "1:02:03", "02:03"; "--:--" for negative or non-finite values.
  static std::string format_duration(double seconds);
  // The line as drawn (without "\r" or "\n"); width = bar cells.
  std::string render(int width = 24) const;

 private:
  void draw(bool final_line);

  using Clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_ = 0, done_ = 0;
  std::string extra_;
  FILE* out_ = nullptr;
  bool tty_ = false, finished_ = false;
  double plain_interval_s_ = 10.0;
  Clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace vedge

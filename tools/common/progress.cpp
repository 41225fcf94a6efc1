// progress.cpp: the terminal progress bar (see progress.h). Standard library
// and POSIX isatty only.
#include "tools/common/progress.h"

#include <unistd.h>

#include <cmath>
#include <utility>

namespace vedge {

ProgressBar::ProgressBar(std::string label, int64_t total, FILE* out)
    : label_(std::move(label)), total_(total), out_(out) {
  tty_ = out_ && isatty(fileno(out_));
  start_ = last_draw_ = Clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

double ProgressBar::rate() const {
  double t = elapsed_seconds();
  return t > 0 ? static_cast<double>(done_) / t : 0.0;
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  long long s = static_cast<long long>(std::llround(seconds));
  char b[32];
  if (s >= 3600)
    std::snprintf(b, sizeof b, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(b, sizeof b, "%02lld:%02lld", s / 60, s % 60);
  return b;
}

std::string ProgressBar::render(int width) const {
  std::string line = label_;
  double r = rate();
  char b[160];
  if (total_ > 0) {
    double frac = std::min(1.0, std::max(0.0, static_cast<double>(done_) / static_cast<double>(total_)));
    int filled = static_cast<int>(frac * width);
    line += " [";
    line += std::string(static_cast<size_t>(filled), '#');
    line += std::string(static_cast<size_t>(width - filled), '.');
    std::snprintf(b, sizeof b, "] %lld/%lld %3.0f%%", static_cast<long long>(done_),
                  static_cast<long long>(total_), frac * 100.0);
    line += b;
  } else {
    std::snprintf(b, sizeof b, " %lld", static_cast<long long>(done_));
    line += b;
  }
  std::snprintf(b, sizeof b, " | %.1f/s | %s", r, format_duration(elapsed_seconds()).c_str());
  line += b;
  if (total_ > 0) {
    double eta = r > 0 ? static_cast<double>(total_ - done_) / r : -1.0;
    line += " ETA " + format_duration(done_ >= total_ ? 0.0 : eta);
  }
  if (!extra_.empty()) line += " | " + extra_;
  return line;
}

void ProgressBar::draw(bool final_line) {
  if (!out_) return;
  std::string line = render();
  if (tty_)
    std::fprintf(out_, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  else
    std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
  drawn_ = true;
  last_draw_ = Clock::now();
}

void ProgressBar::update(int64_t done, const std::string& extra) {
  if (finished_) return;
  done_ = done;
  extra_ = extra;
  double since = std::chrono::duration<double>(Clock::now() - last_draw_).count();
  double interval = tty_ ? 0.1 : plain_interval_s_;
  if (!drawn_ ? (tty_ || since >= interval) : since >= interval) draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

}  // namespace vedge

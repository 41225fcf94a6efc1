// observers.h: range statistics of one tensor over many calibration batches
// and the four ways to turn them into a quantization range (min-max,
// percentile, entropy/KL, MSE). Used by calibrate.h and the quantizer.
// Depends on runtime/error.h only; no LibTorch, no graph or executor.
//
// The histogram (shared by percentile, entropy and MSE)
//   2*B bins of width w = R / B over [-R, R) (B = bins, even, default 2048),
//   bin i = floor(x * (B / R) + B) (in double), clamped to [0, 2B-1];
//   bin i covers [(i - B) w, (i - B + 1) w). R is the smallest power of two
//   >= max |x| seen so far (so R is known without a first pass): when a
//   batch exceeds R, R is multiplied by 2^k and the old bins are merged (new
//   bin = floor((i - B) / 2^k) + B), which gives the histogram that binning
//   every value with the final R gives (the two could differ only through
//   double rounding, for values within ~2^-40 R of a bin edge). Values are counted
//   exactly (uint64) in the order they arrive, so the same batches give the
//   same histogram and the same ranges bit for bit. min and max are kept
//   exactly. Non-finite values are an error.
//
// Every range is finally widened to include 0 and never exceeds the observed
// [min, max] (widened to include 0): lo = max(lo', min(min,0)),
// hi = min(hi', max(max,0)). An all-zero (or empty) tensor gives [0, 0].
//
// Methods (N = number of values observed):
//   minmax      [min, max].
//   percentile  p = CalibOptions::percentile in (0, 100]; t = N * p / 100.
//               hi = right edge of the first bin (from the bottom) whose
//               cumulative count reaches t; lo = left edge of the first bin
//               (from the top) whose cumulative count from the top reaches t.
//   entropy     (KL divergence, the classic int8 threshold search).
//               H = histogram of |x|: B bins of width w, H[j] = bin (B + j) +
//               bin (B - 1 - j) of the signed histogram, minus the exact
//               zeros from H[0] (0 is always exactly representable, since
//               every range includes it; without this the zeros of ReLU
//               outputs make the threshold an artefact of the bin width).
//               If no non-zero value was seen: T = 0. M = last non-empty
//               bin of H + 1. L = 128 quantization levels when the data has
//               both signs, 256 when it is one-sided (min >= 0 or max <= 0:
//               the whole asymmetric 8-bit grid covers one side).
//               If M <= L: T = max |x|. Otherwise for every candidate
//               i = L .. M (threshold i * w):
//                 P[j] = H[j] for j < i - 1, P[i-1] = H[i-1] + sum_{j>=i} H[j]
//                   (the clipped outliers folded into the last bin);
//                 chunk k (k = 0 .. L-1) = bins [floor(k i / L), floor((k+1) i / L));
//                 Q[j] = (sum of H over j's chunk, j < i) / (number of bins of
//                   the chunk with P > 0) where P[j] > 0, else 0;
//                 (a candidate with Q all zero, no value below it, is
//                 rejected); P and Q normalized to sum 1; then every Q[j] = 0
//                 with P[j] > 0 (clipped mass no level represents) is set to
//                 eps = 1e-4 and Q renormalized to sum 1;
//                 KL(P||Q) = sum_{P[j]>0} P[j] ln(P[j] / Q[j]).
//               The smallest i whose KL is within 1e-9 of the minimum wins
//               (so round-off does not decide ties); T = i * w.
//               Range [-T, T] (then clipped to the observed range as above,
//               so one-sided data gets [0, T] or [-T, 0]).
//   mse         the asymmetric 8-bit grid [a, b] (a <= 0 <= b on bin edges:
//               a = -ka w, b = kb w, ka, kb >= 0 up to the first edges that
//               cover min and max) minimizing the expected squared error
//               estimated from the signed histogram, each bin's count n_j at
//               its centre c_j:
//                 E(a,b) = (sum_{a <= c_j <= b} n_j - Z) s^2 / 12
//                          (s = (b - a) / 255: uniform rounding error of
//                          every value inside but the Z exact zeros, which
//                          the grid represents exactly)
//                        + sum_{c_j < a} n_j (a - c_j)^2 + sum_{c_j > b} n_j (c_j - b)^2.
//               Ties: the smallest ka, then the smallest kb.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vedge {

enum class CalibMethod { MinMax, Percentile, Entropy, Mse };
const char* calib_method_name(CalibMethod m);          // "minmax" "percentile" "entropy" "mse"
CalibMethod parse_calib_method(const std::string& s);  // one-line vedge::Error on others

struct CalibOptions {
  CalibMethod method = CalibMethod::MinMax;
  double percentile = 99.99;  // percentile method, in (0, 100]
  int bins = 2048;            // histogram bins per side of zero (B above), even, >= 8
};

// Throws one-line vedge::Error for a percentile outside (0, 100] or bins
// that are not an even number in [8, 1048576].
void check_calib_options(const CalibOptions& opt);

struct TensorRange {
  float lo = 0, hi = 0;
};

class RangeObserver {  // statistics of one tensor over many batches
 public:
  explicit RangeObserver(int bins = 2048);
  void observe(const float* x, int64_t n);
  // Always lo <= 0 <= hi. opt.bins is not used here (the observer's own bins
  // count is; calibrate() builds its observers with opt.bins).
  TensorRange range(const CalibOptions& opt) const;

  int64_t count() const { return count_; }
  int64_t zeros() const { return zeros_; }  // values exactly 0 (or -0)
  float min() const { return min_; }  // 0 before any value
  float max() const { return max_; }
  int bins() const { return bins_; }
  // R of the histogram (0 while every value seen is 0).
  double hist_range() const { return r_; }
  double bin_width() const { return r_ > 0 ? r_ / bins_ : 0; }
  // 2 * bins() counts; bin i covers [(i - bins) w, (i - bins + 1) w).
  const std::vector<uint64_t>& histogram() const { return hist_; }

 private:
  void grow_to(double r);
  TensorRange percentile_range(double p) const;
  double entropy_threshold() const;
  TensorRange mse_range() const;

  int bins_;
  int64_t count_ = 0, zeros_ = 0;
  float min_ = 0, max_ = 0;
  double r_ = 0;
  std::vector<uint64_t> hist_;
};

}  // namespace vedge

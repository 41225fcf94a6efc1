// observers.cpp: RangeObserver (min/max + growable power-of-two histogram)
// and the min-max, percentile, entropy (KL) and MSE range definitions
// documented in observers.h. Depends on runtime/error.h only.
#include "tools/quantize/observers.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"

namespace vedge {

const char* calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::MinMax: return "minmax";
    case CalibMethod::Percentile: return "percentile";
    case CalibMethod::Entropy: return "entropy";
    case CalibMethod::Mse: return "mse";
  }
  return "?";
}

CalibMethod parse_calib_method(const std::string& s) {
  for (CalibMethod m : {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse})
    if (s == calib_method_name(m)) return m;
  fail("unknown calibration method '", s, "' (expected minmax, percentile, entropy or mse)");
}

void check_calib_options(const CalibOptions& opt) {
  VEDGE_CHECK(opt.percentile > 0 && opt.percentile <= 100,
              "calibration: percentile must be in (0, 100], got ", opt.percentile);
  VEDGE_CHECK(opt.bins >= 8 && opt.bins % 2 == 0 && opt.bins <= (1 << 20),
              "calibration: histogram bins must be an even number in [8, 1048576], got ", opt.bins);
}

namespace {

// The smallest power of two >= m (m > 0).
double pow2_at_least(double m) {
  int e = 0;
  double f = std::frexp(m, &e);  // m = f * 2^e, f in [0.5, 1)
  return f == 0.5 ? m : std::ldexp(1.0, e);
}

// observe(): tensors of at least kSplitMin values are binned kBlock at a
// time into 4 interleaved 32-bit histograms, flushed every kFlushBlocks
// blocks (< 2^32 counts each).
constexpr int64_t kSplitMin = 1 << 14;
constexpr int kBlock = 256;
constexpr int64_t kFlushBlocks = int64_t(1) << 22;

// floor(d / 2^k) for any integer d.
int64_t floor_shift(int64_t d, int k) {
  if (k >= 62) return d < 0 ? -1 : 0;
  const int64_t p = int64_t(1) << k;
  return d >= 0 ? d / p : -((-d + p - 1) / p);
}

}  // namespace

RangeObserver::RangeObserver(int bins) : bins_(bins) {
  CalibOptions o;
  o.bins = bins;
  check_calib_options(o);
  hist_.assign(2 * static_cast<size_t>(bins), 0);
}

void RangeObserver::grow_to(double r) {
  if (r_ == 0) {  // only zeros so far: they stay in bin B at any R
    r_ = r;
    return;
  }
  int k = 0;
  while (std::ldexp(r_, k) < r) ++k;
  const int64_t b = bins_;
  std::vector<uint64_t> merged(hist_.size(), 0);
  for (int64_t i = 0; i < 2 * b; ++i)
    if (hist_[i]) merged[static_cast<size_t>(floor_shift(i - b, k) + b)] += hist_[i];
  hist_ = std::move(merged);
  r_ = std::ldexp(r_, k);
}

void RangeObserver::observe(const float* x, int64_t n) {
  VEDGE_CHECK(n >= 0 && (n == 0 || x), "calibration observer: bad tensor (", n, " values)");
  if (n == 0) return;
  // min, max and NaN in 8 independent lanes (a vectorizable loop); an
  // infinity shows in min or max.
  float lo8[8], hi8[8];
  int32_t nan8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::fill(lo8, lo8 + 8, x[0]);
  std::fill(hi8, hi8 + 8, x[0]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) {
      const float v = x[i + j];
      lo8[j] = std::min(lo8[j], v);
      hi8[j] = std::max(hi8[j], v);
      nan8[j] |= v != v;
    }
  for (; i < n; ++i) {
    lo8[0] = std::min(lo8[0], x[i]);
    hi8[0] = std::max(hi8[0], x[i]);
    nan8[0] |= x[i] != x[i];
  }
  float lo = lo8[0], hi = hi8[0];
  int32_t nan = 0;
  for (int j = 0; j < 8; ++j) lo = std::min(lo, lo8[j]), hi = std::max(hi, hi8[j]), nan |= nan8[j];
  VEDGE_CHECK(!nan && std::isfinite(lo) && std::isfinite(hi), "NaN or infinite value observed");
  const double max_abs = std::max(std::fabs(double(lo)), std::fabs(double(hi)));
  if (max_abs > r_) grow_to(pow2_at_least(max_abs));
  if (count_ == 0) {
    min_ = lo, max_ = hi;
  } else {
    min_ = std::min(min_, lo), max_ = std::max(max_, hi);
  }
  count_ += n;
  const int32_t last = 2 * bins_ - 1;
  if (r_ == 0) {  // all zeros
    hist_[static_cast<size_t>(bins_)] += static_cast<uint64_t>(n);
    zeros_ += n;
    return;
  }
  const double scale = double(bins_) / r_, offset = double(bins_);
  // t = x * (B / R) + B >= 0 since |x| <= R, so truncation is floor.
  auto bin = [&](float v) {  // t <= 2B <= 2^21 fits int32 (a vectorizable conversion)
    const int32_t j = static_cast<int32_t>(double(v) * scale + offset);
    return j > last ? last : j;
  };
  int64_t zeros = 0;
  if (n < kSplitMin) {
    for (int64_t k = 0; k < n; ++k) {
      hist_[static_cast<size_t>(bin(x[k]))] += 1;
      zeros += x[k] == 0;
    }
  } else {
    // Bin indices a block at a time (a vectorizable loop), counted into 4
    // interleaved histograms so that runs of one bin (the zeros of ReLU
    // outputs) do not serialize on one counter; summed into hist_ at the end.
    const size_t nb = hist_.size();
    std::vector<uint32_t> sub(4 * nb, 0);
    int32_t idx[kBlock];
    for (int64_t start = 0; start < n; start += kBlock) {
      const int m = static_cast<int>(std::min<int64_t>(kBlock, n - start));
      const float* xs = x + start;
      for (int k = 0; k < m; ++k) {
        idx[k] = bin(xs[k]);
        zeros += xs[k] == 0;
      }
      int k = 0;
      for (; k + 4 <= m; k += 4) {
        ++sub[static_cast<size_t>(idx[k])];
        ++sub[nb + static_cast<size_t>(idx[k + 1])];
        ++sub[2 * nb + static_cast<size_t>(idx[k + 2])];
        ++sub[3 * nb + static_cast<size_t>(idx[k + 3])];
      }
      for (; k < m; ++k) ++sub[static_cast<size_t>(idx[k])];
      // Flush before a 32-bit counter could overflow.
      if (((start / kBlock) + 1) % kFlushBlocks == 0 || start + kBlock >= n) {
        for (size_t j = 0; j < nb; ++j) {
          hist_[j] += uint64_t(sub[j]) + sub[nb + j] + sub[2 * nb + j] + sub[3 * nb + j];
        }
        std::fill(sub.begin(), sub.end(), 0u);
      }
    }
  }
  zeros_ += zeros;
}

TensorRange RangeObserver::percentile_range(double p) const {
  const double t = double(count_) * p / 100.0, w = bin_width();
  const int64_t nb = static_cast<int64_t>(hist_.size()), b = bins_;
  TensorRange r;
  double cum = 0;
  for (int64_t k = 0; k < nb; ++k) {
    cum += double(hist_[k]);
    if (cum >= t) {
      r.hi = static_cast<float>(double(k - b + 1) * w);
      break;
    }
  }
  cum = 0;
  for (int64_t k = nb - 1; k >= 0; --k) {
    cum += double(hist_[k]);
    if (cum >= t) {
      r.lo = static_cast<float>(double(k - b) * w);
      break;
    }
  }
  return r;
}

double RangeObserver::entropy_threshold() const {
  const int b = bins_;
  std::vector<double> h(static_cast<size_t>(b));
  for (int j = 0; j < b; ++j) h[j] = double(hist_[b + j]) + double(hist_[b - 1 - j]);
  h[0] -= double(zeros_);  // exact zeros are represented exactly
  int m = 0;
  for (int j = 0; j < b; ++j)
    if (h[j] > 0) m = j + 1;
  const double max_abs = std::max(std::fabs(double(min_)), std::fabs(double(max_)));
  const int levels = (min_ >= 0 || max_ <= 0) ? 256 : 128;
  if (m == 0) return 0;
  if (m <= levels) return max_abs;

  // Prefix sums over the bins (j < index): counts, non-empty bins, h ln h.
  // Within a chunk Q is constant on the bins with P > 0, so the KL sum is
  // evaluated per chunk: KL = sum P ln P / N - ln N - sum_k (P_k / N) ln q_k
  // + ln(1 + eps * unrepresented), with P_k the chunk's share of P and q_k
  // its level (normalized, or eps).
  constexpr double kEps = 1e-4;
  std::vector<double> cnt(static_cast<size_t>(m) + 1, 0.0), hlh(static_cast<size_t>(m) + 1, 0.0);
  std::vector<int> nz(static_cast<size_t>(m) + 1, 0);
  for (int j = 0; j < m; ++j) {
    cnt[j + 1] = cnt[j] + h[j];
    nz[j + 1] = nz[j] + (h[j] > 0);
    hlh[j + 1] = hlh[j] + (h[j] > 0 ? h[j] * std::log(h[j]) : 0.0);
  }
  const double n = cnt[m], log_n = std::log(n);
  std::vector<double> kls(static_cast<size_t>(m) + 1, std::numeric_limits<double>::infinity());
  for (int i = levels; i <= m; ++i) {
    const double q_total = cnt[i];  // mass below the threshold
    if (q_total == 0) continue;     // no value below it: nothing represented
    const double outliers = n - cnt[i], p_last = h[i - 1] + outliers;
    const double sum_plp = hlh[i - 1] + (p_last > 0 ? p_last * std::log(p_last) : 0.0);
    double cross = 0;  // sum_k P_k ln q_k
    int unrepresented = 0;
    for (int k = 0; k < levels; ++k) {
      const int start = static_cast<int>(int64_t(k) * i / levels);
      const int stop = static_cast<int>(int64_t(k + 1) * i / levels);
      const double sum = cnt[stop] - cnt[start];
      int nonzero = nz[stop] - nz[start];
      double p_k = sum;
      if (stop == i) {  // the last chunk holds P[i-1] with the folded outliers
        p_k += outliers;
        if (h[i - 1] == 0 && p_last > 0) ++nonzero;
      }
      if (nonzero == 0) continue;
      if (sum == 0) {
        unrepresented += nonzero;
        cross += p_k * std::log(kEps);
      } else {
        cross += p_k * std::log(sum / nonzero / q_total);
      }
    }
    kls[i] = sum_plp / n - log_n - cross / n + std::log(1.0 + kEps * unrepresented);
  }
  // The smallest candidate within kKlTie of the minimum (round-off ties).
  constexpr double kKlTie = 1e-9;
  const double best_kl = *std::min_element(kls.begin(), kls.end());
  int best_i = m;
  for (int i = levels; i <= m; ++i)
    if (kls[i] <= best_kl + kKlTie) {
      best_i = i;
      break;
    }
  return double(best_i) * bin_width();
}

TensorRange RangeObserver::mse_range() const {
  const int64_t b = bins_, nb = 2 * b;
  int64_t jlo = -1, jhi = -1;
  for (int64_t j = 0; j < nb; ++j)
    if (hist_[j]) {
      if (jlo < 0) jlo = j;
      jhi = j;
    }
  if (jlo < 0) return {};
  const int64_t ka_max = std::max<int64_t>(0, b - jlo), kb_max = std::max<int64_t>(0, jhi - b + 1);
  // In units of the bin width: centre of bin j = j - B + 0.5, a = -ka, b = kb.
  // Clipping errors and clipped counts per candidate edge.
  std::vector<double> err_lo(ka_max + 1, 0.0), n_lo(ka_max + 1, 0.0);
  std::vector<double> err_hi(kb_max + 1, 0.0), n_hi(kb_max + 1, 0.0);
  for (int64_t ka = 0; ka <= ka_max; ++ka)
    for (int64_t j = jlo; j < b - ka; ++j) {
      const double n = double(hist_[j]), d = double(-ka) - (double(j - b) + 0.5);
      err_lo[ka] += n * d * d;
      n_lo[ka] += n;
    }
  for (int64_t kb = 0; kb <= kb_max; ++kb)
    for (int64_t j = b + kb; j <= jhi; ++j) {
      const double n = double(hist_[j]), d = (double(j - b) + 0.5) - double(kb);
      err_hi[kb] += n * d * d;
      n_hi[kb] += n;
    }
  const double total = double(count_), zeros = double(zeros_);
  double best = std::numeric_limits<double>::infinity();
  int64_t best_a = 0, best_b = 0;
  for (int64_t ka = 0; ka <= ka_max; ++ka)
    for (int64_t kb = 0; kb <= kb_max; ++kb) {
      const double s = double(ka + kb) / 255.0;
      const double e = (total - n_lo[ka] - n_hi[kb] - zeros) * s * s / 12.0 + err_lo[ka] + err_hi[kb];
      if (e < best) {
        best = e;
        best_a = ka;
        best_b = kb;
      }
    }
  const double w = bin_width();
  return {static_cast<float>(-double(best_a) * w), static_cast<float>(double(best_b) * w)};
}

TensorRange RangeObserver::range(const CalibOptions& opt) const {
  check_calib_options(opt);
  if (count_ == 0 || r_ == 0) return {};
  const float lo0 = std::min(min_, 0.f), hi0 = std::max(max_, 0.f);
  TensorRange r;
  switch (opt.method) {
    case CalibMethod::MinMax: r = {lo0, hi0}; break;
    case CalibMethod::Percentile: r = percentile_range(opt.percentile); break;
    case CalibMethod::Entropy: {
      const float t = static_cast<float>(entropy_threshold());
      r = {-t, t};
      break;
    }
    case CalibMethod::Mse: r = mse_range(); break;
  }
  // + 0.f turns -0 into 0.
  r.lo = std::min(std::max(r.lo, lo0), 0.f) + 0.f;
  r.hi = std::max(std::min(r.hi, hi0), 0.f) + 0.f;
  return r;
}

}  // namespace vedge

// test_quant_observers.cpp: the calibration observers (tools/quantize/observers.h).
// Min-max and percentile against hand-computed ranges; entropy (KL) and MSE
// against tests/quant/observers_numpy.py, an independent NumPy reference
// written from the definitions in observers.h (run with /usr/bin/python3;
// skipped with a message when NumPy is absent), on Gaussian, Laplacian with
// outliers and one-sided ReLU-like data; the growing histogram equal to one
// built with the final range; reproducibility; bad options.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "tools/quantize/observers.h"

namespace vedge {
namespace {

CalibOptions method(CalibMethod m, double percentile = 99.99) {
  CalibOptions o;
  o.method = m;
  o.percentile = percentile;
  return o;
}

void observe(RangeObserver& o, const std::vector<float>& v) {
  o.observe(v.data(), static_cast<int64_t>(v.size()));
}

TEST(RangeObserver, MinMaxIsTheObservedRangeWidenedToZero) {
  RangeObserver o;
  observe(o, {-2.f, 0.5f, 3.f});
  observe(o, {1.f, 7.f});
  TensorRange r = o.range(method(CalibMethod::MinMax));
  EXPECT_EQ(r.lo, -2.f);
  EXPECT_EQ(r.hi, 7.f);
  EXPECT_EQ(o.count(), 5);

  RangeObserver pos;  // one-sided: 0 is included
  observe(pos, {1.f, 2.f});
  r = pos.range(method(CalibMethod::MinMax));
  EXPECT_EQ(r.lo, 0.f);
  EXPECT_EQ(r.hi, 2.f);

  RangeObserver neg;
  observe(neg, {-3.f, -0.25f});
  r = neg.range(method(CalibMethod::MinMax));
  EXPECT_EQ(r.lo, -3.f);
  EXPECT_EQ(r.hi, 0.f);
}

TEST(RangeObserver, ZerosAndNothingGiveAnEmptyRange) {
  for (CalibMethod m :
       {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse}) {
    RangeObserver empty, zeros;
    observe(zeros, std::vector<float>(100, 0.f));
    for (const RangeObserver* o : {&empty, &zeros}) {
      TensorRange r = o->range(method(m));
      EXPECT_EQ(r.lo, 0.f) << calib_method_name(m);
      EXPECT_EQ(r.hi, 0.f) << calib_method_name(m);
    }
  }
}

TEST(RangeObserver, ZerosBeforeTheFirstNonZeroStayAtZero) {
  RangeObserver o(8);
  observe(o, {0.f, 0.f, 0.f});
  observe(o, {-1.5f, 1.5f});  // R = 2, w = 0.25
  EXPECT_EQ(o.hist_range(), 2.0);
  std::vector<uint64_t> want(16, 0);
  want[8] = 3;      // [0, 0.25)
  want[8 - 6] = 1;  // -1.5 -> floor(-6) + 8
  want[8 + 6] = 1;  // 1.5 -> floor(6) + 8
  EXPECT_EQ(o.histogram(), want);
  EXPECT_EQ(o.zeros(), 3);
  EXPECT_EQ(o.count(), 5);
}

// Values 1..1000: R = 1024, w = 0.5, value v in bin [v, v + 0.5).
TEST(RangeObserver, PercentileOfIntegersByHand) {
  std::vector<float> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(static_cast<float>(i));
  RangeObserver o;
  observe(o, v);
  // t = 990: the 990th value is 990, its bin's right edge 990.5; the lower
  // end (11, counted from the top) is widened to 0.
  TensorRange r = o.range(method(CalibMethod::Percentile, 99.0));
  EXPECT_EQ(r.lo, 0.f);
  EXPECT_EQ(r.hi, 990.5f);
  // p = 100: the last bin's edge 1000.5, clipped to the maximum.
  r = o.range(method(CalibMethod::Percentile, 100.0));
  EXPECT_EQ(r.hi, 1000.f);
  // t = 999.9: reached at the last value.
  r = o.range(method(CalibMethod::Percentile, 99.99));
  EXPECT_EQ(r.hi, 1000.f);

  std::vector<float> s;  // -1000..-1, 1..1000: N = 2000
  for (int i = 1; i <= 1000; ++i) s.push_back(static_cast<float>(-i)), s.push_back(static_cast<float>(i));
  RangeObserver so;
  observe(so, s);
  // t = 1980: from the bottom the 1000 negatives and 1..980 -> 980.5; from
  // the top the positives and -1..-980 -> left edge of -980's bin.
  r = so.range(method(CalibMethod::Percentile, 99.0));
  EXPECT_EQ(r.lo, -980.f);
  EXPECT_EQ(r.hi, 980.5f);
  // t = 1900: 900.5 and -900.
  r = so.range(method(CalibMethod::Percentile, 95.0));
  EXPECT_EQ(r.lo, -900.f);
  EXPECT_EQ(r.hi, 900.5f);
}

TEST(RangeObserver, GrowingHistogramEqualsBinningWithTheFinalRange) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> all;
  RangeObserver grown(256), direct(256);
  for (float scale : {0.3f, 5.f, 0.01f, 100.f, 2.f}) {
    std::vector<float> b(5000);
    for (float& x : b) x = g(rng) * scale;
    observe(grown, b);
    all.insert(all.end(), b.begin(), b.end());
  }
  observe(direct, all);
  EXPECT_EQ(grown.hist_range(), direct.hist_range());
  EXPECT_EQ(grown.histogram(), direct.histogram());
  EXPECT_EQ(grown.min(), direct.min());
  EXPECT_EQ(grown.max(), direct.max());
  // R is the smallest power of two >= max |x|.
  const double m = std::max(-double(direct.min()), double(direct.max()));
  EXPECT_GE(direct.hist_range(), m);
  EXPECT_LT(direct.hist_range() / 2, m);
}

// A large tensor (binned in blocks into interleaved counters) and the same
// values in small pieces (binned one by one) give the same statistics.
TEST(RangeObserver, LargeAndSmallBatchesCountTheSame) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.f, 3.f);
  std::vector<float> v(300001);
  for (float& x : v) x = std::max(0.f, g(rng));  // ReLU-like: long runs of bin B
  v[1234] = -0.5f;
  RangeObserver whole, pieces;
  whole.observe(v.data(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); i += 1000)
    pieces.observe(v.data() + i, static_cast<int64_t>(std::min<size_t>(1000, v.size() - i)));
  EXPECT_EQ(whole.histogram(), pieces.histogram());
  EXPECT_EQ(whole.zeros(), pieces.zeros());
  EXPECT_EQ(whole.count(), 300001);
  EXPECT_EQ(whole.min(), -0.5f);
  uint64_t total = 0;
  for (uint64_t c : whole.histogram()) total += c;
  EXPECT_EQ(total, 300001u);
  EXPECT_EQ(whole.zeros(), std::count(v.begin(), v.end(), 0.f));
}

TEST(RangeObserver, SameInputGivesIdenticalRanges) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.5f, 2.f);
  std::vector<std::vector<float>> batches(6, std::vector<float>(3000));
  for (auto& b : batches)
    for (float& x : b) x = g(rng);
  RangeObserver a, b;
  for (const auto& v : batches) observe(a, v);
  for (const auto& v : batches) observe(b, v);
  for (CalibMethod m :
       {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse}) {
    TensorRange ra = a.range(method(m)), rb = b.range(method(m));
    EXPECT_EQ(std::memcmp(&ra, &rb, sizeof ra), 0) << calib_method_name(m);
    EXPECT_LE(ra.lo, 0.f);
    EXPECT_GE(ra.hi, 0.f);
  }
}

TEST(RangeObserver, FewBinsOfDataLeaveEntropyUnclipped) {
  // At most 8 non-empty |x| bins (M <= 128 levels): T = max |x|, then
  // clipped to the observed range.
  RangeObserver few(8);
  observe(few, {-0.9f, 0.2f, 0.7f});
  TensorRange r = few.range(method(CalibMethod::Entropy));
  EXPECT_EQ(r.lo, -0.9f);
  EXPECT_EQ(r.hi, 0.7f);
}

// -- against the NumPy reference -----------------------------------------------

struct Reference {
  double bin_width = 0;
  TensorRange entropy, mse;
};

Reference numpy_reference(const std::vector<float>& v, int bins, const std::string& name) {
  const std::string work = std::string(VEDGE_TEST_WORK_DIR) + "/quant_observers";
  std::filesystem::create_directories(work);
  const std::string in = work + "/" + name + ".f32", out = work + "/" + name + ".json";
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  const std::string cmd = "/usr/bin/python3 " + std::string(VEDGE_SOURCE_DIR) +
                          "/tests/quant/observers_numpy.py " + in + " " + std::to_string(bins) + " > " + out;
  const int rc = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << cmd;
  nlohmann::json j = nlohmann::json::parse(std::ifstream(out));
  Reference r;
  r.bin_width = j["bin_width"].get<double>();
  r.entropy = {j["entropy"][0].get<float>(), j["entropy"][1].get<float>()};
  r.mse = {j["mse"][0].get<float>(), j["mse"][1].get<float>()};
  return r;
}

class AgainstNumpy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "/usr/bin/python3 with NumPy absent";
  }
  // Observes v in 4 batches (so the histogram grows) and compares entropy
  // and MSE with the reference, within one histogram bin.
  void check(const std::vector<float>& v, int bins, const std::string& name) {
    RangeObserver o(bins);
    const size_t q = v.size() / 4;
    for (size_t i = 0; i < v.size(); i += q)
      o.observe(v.data() + i, static_cast<int64_t>(std::min(q, v.size() - i)));
    const Reference ref = numpy_reference(v, bins, name);
    ASSERT_DOUBLE_EQ(o.bin_width(), ref.bin_width) << name;
    const double tol = ref.bin_width * 1.0001;
    const TensorRange e = o.range(method(CalibMethod::Entropy)), m = o.range(method(CalibMethod::Mse));
    EXPECT_NEAR(e.lo, ref.entropy.lo, tol) << name << " entropy";
    EXPECT_NEAR(e.hi, ref.entropy.hi, tol) << name << " entropy";
    EXPECT_NEAR(m.lo, ref.mse.lo, tol) << name << " mse";
    EXPECT_NEAR(m.hi, ref.mse.hi, tol) << name << " mse";
    entropy = e, mse = m;
  }
  TensorRange entropy, mse;
};

TEST_F(AgainstNumpy, Gaussian) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> v(200000);
  for (float& x : v) x = g(rng);
  check(v, 2048, "gaussian");
  float max_abs = 0;
  for (float x : v) max_abs = std::max(max_abs, std::fabs(x));
  // Both methods clip the sparse tail of a Gaussian; the MSE optimum of a
  // uniform 8-bit grid on N(0,1) is about 3.9 sigma (ACIQ).
  EXPECT_LT(entropy.hi, max_abs);
  EXPECT_NEAR(mse.hi, 3.9f, 0.3f);
  EXPECT_NEAR(mse.lo, -3.9f, 0.3f);
}

TEST_F(AgainstNumpy, LaplacianWithOutliers) {
  std::mt19937 rng(12);
  std::exponential_distribution<float> ex(1.f);
  std::uniform_int_distribution<int> sign(0, 1);
  std::vector<float> v(100000);
  for (float& x : v) x = (sign(rng) ? 1.f : -1.f) * ex(rng);
  for (int i = 0; i < 10; ++i) v[static_cast<size_t>(i) * 7919] = (i % 2 ? 1.f : -1.f) * (60.f + float(i));
  check(v, 1024, "laplacian_outliers");
  // The KL threshold drops the far outliers.
  EXPECT_LT(entropy.hi, 40.f);
  EXPECT_GT(entropy.lo, -40.f);
}

TEST_F(AgainstNumpy, OneSidedReluLike) {
  std::mt19937 rng(13);
  std::normal_distribution<float> g(0.f, 1.5f);
  std::vector<float> v(100000);
  for (float& x : v) x = std::max(0.f, g(rng));
  check(v, 2048, "relu");
  EXPECT_EQ(entropy.lo, 0.f);
  EXPECT_EQ(mse.lo, 0.f);
  EXPECT_GT(mse.hi, 0.f);
  // The exact zeros (half the values) are left out of the KL search, so the
  // threshold is a property of the data, not of the bin width (with them,
  // the zero spike pins it just below 2 * 256 bins of whatever width).
  for (int bins : {1024, 4096}) {
    RangeObserver o(bins);
    o.observe(v.data(), static_cast<int64_t>(v.size()));
    EXPECT_NEAR(o.range(method(CalibMethod::Entropy)).hi, entropy.hi, 0.1f * entropy.hi) << bins << " bins";
  }
  EXPECT_GT(entropy.hi, 4.f);
}

TEST_F(AgainstNumpy, OneSidedNegativeUniform) {
  std::mt19937 rng(14);
  std::uniform_real_distribution<float> u(-3.f, 0.f);
  std::vector<float> v(50000);
  for (float& x : v) x = u(rng);
  check(v, 512, "negative_uniform");
  // Uniform data: no clipping is (near) optimal for both.
  EXPECT_NEAR(entropy.lo, -3.f, 0.1f);
  EXPECT_NEAR(mse.lo, -3.f, 0.1f);
  EXPECT_EQ(mse.hi, 0.f);
}

// -- errors ----------------------------------------------------------------------

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RangeObserver, BadOptionsAndValuesAreOneLineErrors) {
  EXPECT_EQ(parse_calib_method("entropy"), CalibMethod::Entropy);
  EXPECT_EQ(parse_calib_method("mse"), CalibMethod::Mse);
  EXPECT_STREQ(calib_method_name(CalibMethod::Percentile), "percentile");
  EXPECT_NE(error_of([] { parse_calib_method("kl"); }).find("unknown calibration method 'kl'"),
            std::string::npos);
  RangeObserver o;
  observe(o, {1.f, 2.f});
  EXPECT_NE(error_of([&] { o.range(method(CalibMethod::Percentile, 0.0)); }).find("percentile"),
            std::string::npos);
  EXPECT_NE(error_of([&] { o.range(method(CalibMethod::Percentile, 100.5)); }).find("percentile"),
            std::string::npos);
  EXPECT_NE(error_of([] { RangeObserver bad(7); }).find("bins"), std::string::npos);
  const float nan[2] = {1.f, std::nanf("")};
  const std::string e = error_of([&] { o.observe(nan, 2); });
  EXPECT_NE(e.find("NaN"), std::string::npos);
  EXPECT_EQ(e.find('\n'), std::string::npos);
  std::vector<float> big(20000, 1.f);  // NaN or infinity anywhere in a long tensor
  big[19999] = std::nanf("");
  EXPECT_NE(error_of([&] { observe(o, big); }).find("NaN"), std::string::npos);
  big[19999] = 1.f, big[9] = -INFINITY;
  EXPECT_NE(error_of([&] { observe(o, big); }).find("infinite"), std::string::npos);
  EXPECT_EQ(o.count(), 2);  // a rejected batch is not counted
}

}  // namespace
}  // namespace vedge

// bench_kernels.cpp: microbenchmarks of the fast kernels (Google Benchmark)
// on the shapes of MobileNetV3-Large SSDLite-320: the stem conv, 1x1
// expansions/projections, depthwise 3x3/5x5, element-wise ops of the
// bottlenecks and SE blocks, and the NCHW<->NHWC relayouts around the trunk;
// and INT8 (QConv, QAdd, QMul) next to F32 on MobileNetV3-Small-320 shapes.
// INT8 1x1 convolutions of the fixture MobileNetV3-Small SSDLite-320 on each
// path (VNNI GEMM forced to AVX-512 VNNI or AVX-VNNI, or XNNPACK's qc8) with
// their fraction of the core's VNNI peak, which BM_VnniPeak* compute from a
// measured clock (dependent-add chain) and measure (independent VPDPBUSDs).
// Convs report a GMAC counter shown per second (GMAC/s). Each benchmark takes the thread count as its
// argument. Kernels are built and fed by tests/kernel_harness.h (KernelRunner), the same path the correctness
// tests use. Depends on runtime/ and the harness.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "runtime/ops/qgemm_vnni.h"
#include "runtime/quant_math.h"
#include "tests/kernel_harness.h"

namespace vedge {
namespace {

using harness::KernelRunner;
using harness::Layout;
using harness::OpCase;
using Ints = std::vector<int64_t>;

void run_case(benchmark::State& st, OpCase c, double macs = 0) {
  c.with_threads(static_cast<int>(st.range(0)));
  KernelRunner k(c, /*fast=*/true);
  if (!k.has_kernel()) {
    st.SkipWithError("no fast kernel for this case");
    return;
  }
  for (auto _ : st) k.run();
  if (macs > 0)
    st.counters["GMAC"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// NHWC conv with a fan-in-scaled random weight and a bias.
void conv(benchmark::State& st, int64_t c, int64_t m, int64_t hw, int64_t k, int64_t stride, int64_t group,
          const char* act) {
  const int64_t pad = k / 2, out = (hw + 2 * pad - k) / stride + 1;
  OpCase oc("Conv");
  oc.attr("strides", Ints{stride, stride}).attr("pads", Ints(4, pad)).attr("group", group);
  if (*act) oc.attr("activation", std::string(act));
  oc.input({1, c, hw, hw}, Layout::nhwc())
      .constant(harness::random_tensor({m, c / group, k, k}, 1, -0.1f, 0.1f))
      .constant(harness::random_tensor({m}, 2))
      .output({1, m, out, out}, Layout::nhwc());
  run_case(st, oc, static_cast<double>(m * out * out * (c / group) * k * k));
}

void BM_ConvStem_3to16_320_s2_hswish(benchmark::State& st) { conv(st, 3, 16, 320, 3, 2, 1, "hardswish"); }
void BM_Conv1x1_16to64_160(benchmark::State& st) { conv(st, 16, 64, 160, 1, 1, 1, "relu"); }
void BM_Conv1x1_72to24_80(benchmark::State& st) { conv(st, 72, 24, 80, 1, 1, 1, ""); }
void BM_Conv1x1_480to112_20(benchmark::State& st) { conv(st, 480, 112, 20, 1, 1, 1, ""); }
void BM_Conv1x1_160to960_10_hswish(benchmark::State& st) { conv(st, 160, 960, 10, 1, 1, 1, "hardswish"); }
void BM_DwConv3x3_64_160_s2(benchmark::State& st) { conv(st, 64, 64, 160, 3, 2, 64, "relu"); }
void BM_DwConv3x3_72_80_s1(benchmark::State& st) { conv(st, 72, 72, 80, 3, 1, 72, "relu"); }
void BM_DwConv5x5_120_40_s1(benchmark::State& st) { conv(st, 120, 120, 40, 5, 1, 120, "relu"); }
void BM_DwConv3x3_672_20_s1_hswish(benchmark::State& st) { conv(st, 672, 672, 20, 3, 1, 672, "hardswish"); }

// INT8 (QConv on XNNPACK qc8, own QAdd/QMul loops) next to F32 on the same
// shapes of MobileNetV3-Small SSDLite-320: per-channel weight scales,
// per-tensor activations with non-zero zero points.
QuantParams bench_qp(float scale, int zp) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {zp};
  return q;
}

void qconv(benchmark::State& st, int64_t c, int64_t m, int64_t hw, int64_t k, int64_t stride, int64_t group,
           const char* act) {
  const int64_t pad = k / 2, out = (hw + 2 * pad - k) / stride + 1;
  OpCase oc("QConv");
  oc.attr("strides", Ints{stride, stride}).attr("pads", Ints(4, pad)).attr("group", group);
  if (*act) oc.attr("activation", std::string(act));
  QuantParams qw, qb;
  qw.axis = qb.axis = 0;
  for (int64_t o = 0; o < m; ++o) {
    qw.scale.push_back(0.002f + 0.00001f * static_cast<float>(o));
    qw.zero_point.push_back(0);
    qb.scale.push_back(0.02f * qw.scale.back());
    qb.zero_point.push_back(0);
  }
  oc.qinput({1, c, hw, hw}, Layout::nhwc(), bench_qp(0.02f, -5))
      .qconstant(harness::random_int_tensor({m, c / group, k, k}, DType::I8, 1, -127, 127), qw)
      .qconstant(harness::random_int_tensor({m}, DType::I32, 2, -20000, 20000), qb)
      .qoutput({1, m, out, out}, Layout::nhwc(), bench_qp(0.05f, 3));
  run_case(st, oc, static_cast<double>(m * out * out * (c / group) * k * k));
}

void BM_Conv1x1_16to72_80(benchmark::State& st) { conv(st, 16, 72, 80, 1, 1, 1, "relu"); }
void BM_QConv1x1_16to72_80(benchmark::State& st) { qconv(st, 16, 72, 80, 1, 1, 1, "relu"); }
void BM_Conv1x1_72to24_40(benchmark::State& st) { conv(st, 72, 24, 40, 1, 1, 1, ""); }
void BM_QConv1x1_72to24_40(benchmark::State& st) { qconv(st, 72, 24, 40, 1, 1, 1, ""); }
void BM_Conv1x1_40to240_20(benchmark::State& st) { conv(st, 40, 240, 20, 1, 1, 1, ""); }
void BM_QConv1x1_40to240_20(benchmark::State& st) { qconv(st, 40, 240, 20, 1, 1, 1, ""); }
void BM_Conv1x1_96to576_10(benchmark::State& st) { conv(st, 96, 576, 10, 1, 1, 1, ""); }
void BM_QConv1x1_96to576_10(benchmark::State& st) { qconv(st, 96, 576, 10, 1, 1, 1, ""); }
void BM_DwConv3x3_16_160_s2(benchmark::State& st) { conv(st, 16, 16, 160, 3, 2, 16, "relu"); }
void BM_QDwConv3x3_16_160_s2(benchmark::State& st) { qconv(st, 16, 16, 160, 3, 2, 16, "relu"); }
void BM_DwConv3x3_72_80_s2(benchmark::State& st) { conv(st, 72, 72, 80, 3, 2, 72, "relu"); }
void BM_QDwConv3x3_72_80_s2(benchmark::State& st) { qconv(st, 72, 72, 80, 3, 2, 72, "relu"); }
void BM_DwConv3x3_88_40_s1(benchmark::State& st) { conv(st, 88, 88, 40, 3, 1, 88, "relu"); }
void BM_QDwConv3x3_88_40_s1(benchmark::State& st) { qconv(st, 88, 88, 40, 3, 1, 88, "relu"); }

// ---- VNNI peak and the INT8 1x1 convolutions on each path

// Core clock in GHz: a chain of dependent 1-cycle integer additions (8 per
// loop trip, the loop's own instructions run beside them); the fastest of 5
// runs of 1e8 additions (the host is shared: slower runs were interrupted).
// 0 on other architectures.
double measured_ghz() {
#if defined(__x86_64__)
  static const double ghz = [] {
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      uint64_t x = 0;
      const int64_t trips = 12500000;
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < trips; ++i)
        asm volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                     "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                     : "+r"(x));
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, static_cast<double>(trips) * 8 / s * 1e-9);
    }
    return best;
  }();
  return ghz;
#else
  return 0;
#endif
}

// Theoretical VNNI peak of one core in GMAC/s: 2 VPDPBUSD per cycle (ports
// 0 and 5 on Sapphire Rapids-class cores, the only Intel cores with both
// AVX-512 VNNI and AVX-VNNI) x 64 MACs (512-bit) or 32 (256-bit) x clock.
double vnni_peak_gmacs(QGemmIsa isa) { return 2.0 * (isa == QGemmIsa::AvxVnni ? 32 : 64) * measured_ghz(); }

#if defined(__x86_64__)
// Measured VPDPBUSD throughput: 12 independent accumulators per loop trip.
__attribute__((target("avx512f,avx512vnni"), noinline)) int32_t dpbusd_loop(int64_t trips) {
  __m512i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi32(0x01020304), b = _mm512_set1_epi32(0x05060708);
  for (int64_t t = 0; t < trips; ++t) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    asm volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]),
                 "+v"(acc[6]), "+v"(acc[7]), "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));
  }
  int32_t out[16];
  __m512i s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_epi32(s, acc[i]);
  _mm512_storeu_si512(out, s);
  return out[0];
}
#endif

// Reports the clock, the computed peak and the measured VPDPBUSD rate
// (GMAC/s of one thread; its ratio to the computed peak shows how many
// VPDPBUSD the core retires per cycle).
void BM_VnniPeak(benchmark::State& st) {
#if defined(__x86_64__)
  if (!qgemm_isa_available(QGemmIsa::Avx512Vnni)) {
    st.SkipWithError("no AVX-512 VNNI");
    return;
  }
  const int64_t trips = 100000;
  int32_t sink = 0;
  for (auto _ : st) sink += dpbusd_loop(trips);
  benchmark::DoNotOptimize(sink);
  st.counters["GHz"] = measured_ghz();
  st.counters["peak_GMACs"] = vnni_peak_gmacs(QGemmIsa::Avx512Vnni);
  st.counters["GMAC"] = benchmark::Counter(static_cast<double>(trips) * 12 * 64 * 1e-9,
                                           benchmark::Counter::kIsIterationInvariantRate);
#else
  st.SkipWithError("x86-64 only");
#endif
}

// A pointwise INT8 conv on one path; "peak" = GMAC/s over the computed
// VNNI peak of as many cores as threads (XNNPACK's against the 512-bit one).
void qconv_pw(benchmark::State& st, QGemmIsa isa, int64_t c, int64_t m, int64_t hw) {
  if (!qgemm_isa_available(isa)) {
    st.SkipWithError("this CPU lacks the ISA");
    return;
  }
  force_qgemm_isa(isa);
  qconv(st, c, m, hw, 1, 1, 1, "relu");
  force_qgemm_isa(QGemmIsa::None, /*automatic=*/true);
  const double peak = vnni_peak_gmacs(isa == QGemmIsa::None ? QGemmIsa::Avx512Vnni : isa) * static_cast<double>(st.range(0));
  if (peak > 0)
    st.counters["peak"] = benchmark::Counter(static_cast<double>(c * m * hw * hw) * 1e-9 / peak,
                                           benchmark::Counter::kIsIterationInvariantRate);
}

#define VEDGE_QPW_BENCH(c, m, hw)                                                                     \
  void BM_QPw_##c##to##m##_##hw##_avx512vnni(benchmark::State& st) {                                  \
    qconv_pw(st, QGemmIsa::Avx512Vnni, c, m, hw);                                                     \
  }                                                                                                   \
  void BM_QPw_##c##to##m##_##hw##_avxvnni(benchmark::State& st) { qconv_pw(st, QGemmIsa::AvxVnni, c, m, hw); } \
  void BM_QPw_##c##to##m##_##hw##_xnnpack(benchmark::State& st) { qconv_pw(st, QGemmIsa::None, c, m, hw); }  \
  BENCHMARK(BM_QPw_##c##to##m##_##hw##_avx512vnni)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMicrosecond); \
  BENCHMARK(BM_QPw_##c##to##m##_##hw##_avxvnni)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMicrosecond);    \
  BENCHMARK(BM_QPw_##c##to##m##_##hw##_xnnpack)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMicrosecond)

// The fixture model's pointwise layers, largest MAC counts first.
VEDGE_QPW_BENCH(288, 486, 20);
VEDGE_QPW_BENCH(576, 486, 10);
VEDGE_QPW_BENCH(96, 576, 10);
VEDGE_QPW_BENCH(576, 96, 10);
VEDGE_QPW_BENCH(16, 72, 80);
VEDGE_QPW_BENCH(40, 240, 20);
VEDGE_QPW_BENCH(240, 40, 20);
VEDGE_QPW_BENCH(48, 288, 20);
VEDGE_QPW_BENCH(24, 96, 40);
VEDGE_QPW_BENCH(88, 24, 40);
VEDGE_QPW_BENCH(16, 16, 80);

void BM_AddResidual_24x40x40(benchmark::State& st) {
  OpCase c("Add");
  c.input({1, 24, 40, 40}, Layout::nhwc()).input({1, 24, 40, 40}, Layout::nhwc());
  c.output({1, 24, 40, 40}, Layout::nhwc());
  run_case(st, c);
}
void BM_QAddResidual_24x40x40(benchmark::State& st) {
  OpCase c("QAdd");
  c.qinput({1, 24, 40, 40}, Layout::nhwc(), bench_qp(0.05f, 3)).qinput({1, 24, 40, 40}, Layout::nhwc(), bench_qp(0.04f, -7));
  c.qoutput({1, 24, 40, 40}, Layout::nhwc(), bench_qp(0.07f, 1));
  run_case(st, c);
}
void BM_QMulSE_96x20x20(benchmark::State& st) {
  OpCase c("QMul");
  c.qinput({1, 96, 20, 20}, Layout::nhwc(), bench_qp(0.05f, 3)).qinput({1, 96, 1, 1}, Layout::nhwc(), bench_qp(0.004f, -128));
  c.qoutput({1, 96, 20, 20}, Layout::nhwc(), bench_qp(0.05f, 1));
  run_case(st, c);
}
void BM_MulSE_96x20x20(benchmark::State& st) {
  OpCase c("Mul");
  c.input({1, 96, 20, 20}, Layout::nhwc()).input({1, 96, 1, 1}, Layout::nhwc());
  c.output({1, 96, 20, 20}, Layout::nhwc());
  run_case(st, c);
}

void BM_QLutHardSwish_240x20x20(benchmark::State& st) {
  const auto t = build_lut([](float v) { return v * std::min(std::max(v / 6.f + 0.5f, 0.f), 1.f); }, 0.05f, 3,
                           0.04f, -20);
  OpCase c("QLut");
  c.attr("table", Ints(t.begin(), t.end()));
  c.qinput({1, 240, 20, 20}, Layout::nhwc(), bench_qp(0.05f, 3)).qoutput({1, 240, 20, 20}, Layout::nhwc(), bench_qp(0.04f, -20));
  c.inplace();
  run_case(st, c);
}
void BM_QuantizeLinear_3x320x320(benchmark::State& st) {
  OpCase c("QuantizeLinear");
  Tensor zp(DType::I8, {});
  zp.data<int8_t>()[0] = -3;
  c.input({1, 3, 320, 320}).constant(Tensor::from_floats({}, {0.02f})).constant(zp);
  c.qoutput({1, 3, 320, 320}, {}, bench_qp(0.02f, -3));
  run_case(st, c);
}
void BM_HardSwish_240x20x20(benchmark::State& st) {
  OpCase c("HardSwish");
  c.input({1, 240, 20, 20}, Layout::nhwc()).output({1, 240, 20, 20}, Layout::nhwc()).inplace();
  run_case(st, c);
}
void BM_AddResidual_40x40x40(benchmark::State& st) {
  OpCase c("Add");
  c.input({1, 40, 40, 40}, Layout::nhwc()).input({1, 40, 40, 40}, Layout::nhwc());
  c.output({1, 40, 40, 40}, Layout::nhwc());
  run_case(st, c);
}
void BM_MulSE_120x40x40(benchmark::State& st) {
  OpCase c("Mul");
  c.input({1, 120, 40, 40}, Layout::nhwc()).input({1, 120, 1, 1}, Layout::nhwc());
  c.output({1, 120, 40, 40}, Layout::nhwc());
  run_case(st, c);
}
void BM_GlobalAvgPool_120x40x40(benchmark::State& st) {
  OpCase c("GlobalAveragePool");
  c.input({1, 120, 40, 40}, Layout::nhwc()).output({1, 120, 1, 1}, Layout::nhwc());
  run_case(st, c);
}
void BM_Relayout_Image_NCHW_to_NHWC_3x320x320(benchmark::State& st) {
  OpCase c("Relayout");
  c.input({1, 3, 320, 320}).output({1, 3, 320, 320}, Layout::nhwc());
  run_case(st, c);
}
void BM_Relayout_NHWC_to_NCHW_112x20x20(benchmark::State& st) {
  OpCase c("Relayout");
  c.input({1, 112, 20, 20}, Layout::nhwc()).output({1, 112, 20, 20});
  run_case(st, c);
}
void BM_ConcatChannels_NHWC_2x64x40x40(benchmark::State& st) {
  OpCase c("Concat");
  c.attr("axis", int64_t{1}).input({1, 64, 40, 40}, Layout::nhwc()).input({1, 64, 40, 40}, Layout::nhwc());
  c.output({1, 128, 40, 40}, Layout::nhwc());
  run_case(st, c);
}
void BM_Softmax_3234x91(benchmark::State& st) {
  OpCase c("Softmax");
  c.attr("axis", int64_t{2}).input({1, 3234, 91}).output({1, 3234, 91});
  run_case(st, c);
}

#define VEDGE_KERNEL_BENCH(fn) \
  BENCHMARK(fn)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMicrosecond)
VEDGE_KERNEL_BENCH(BM_ConvStem_3to16_320_s2_hswish);
VEDGE_KERNEL_BENCH(BM_Conv1x1_16to64_160);
VEDGE_KERNEL_BENCH(BM_Conv1x1_72to24_80);
VEDGE_KERNEL_BENCH(BM_Conv1x1_480to112_20);
VEDGE_KERNEL_BENCH(BM_Conv1x1_160to960_10_hswish);
VEDGE_KERNEL_BENCH(BM_DwConv3x3_64_160_s2);
VEDGE_KERNEL_BENCH(BM_DwConv3x3_72_80_s1);
VEDGE_KERNEL_BENCH(BM_DwConv5x5_120_40_s1);
VEDGE_KERNEL_BENCH(BM_DwConv3x3_672_20_s1_hswish);
VEDGE_KERNEL_BENCH(BM_HardSwish_240x20x20);
VEDGE_KERNEL_BENCH(BM_AddResidual_40x40x40);
VEDGE_KERNEL_BENCH(BM_MulSE_120x40x40);
VEDGE_KERNEL_BENCH(BM_GlobalAvgPool_120x40x40);
VEDGE_KERNEL_BENCH(BM_Relayout_Image_NCHW_to_NHWC_3x320x320);
VEDGE_KERNEL_BENCH(BM_Relayout_NHWC_to_NCHW_112x20x20);
VEDGE_KERNEL_BENCH(BM_ConcatChannels_NHWC_2x64x40x40);
VEDGE_KERNEL_BENCH(BM_Softmax_3234x91);
VEDGE_KERNEL_BENCH(BM_Conv1x1_16to72_80);
VEDGE_KERNEL_BENCH(BM_QConv1x1_16to72_80);
VEDGE_KERNEL_BENCH(BM_Conv1x1_72to24_40);
VEDGE_KERNEL_BENCH(BM_QConv1x1_72to24_40);
VEDGE_KERNEL_BENCH(BM_Conv1x1_40to240_20);
VEDGE_KERNEL_BENCH(BM_QConv1x1_40to240_20);
VEDGE_KERNEL_BENCH(BM_Conv1x1_96to576_10);
VEDGE_KERNEL_BENCH(BM_QConv1x1_96to576_10);
VEDGE_KERNEL_BENCH(BM_DwConv3x3_16_160_s2);
VEDGE_KERNEL_BENCH(BM_QDwConv3x3_16_160_s2);
VEDGE_KERNEL_BENCH(BM_DwConv3x3_72_80_s2);
VEDGE_KERNEL_BENCH(BM_QDwConv3x3_72_80_s2);
VEDGE_KERNEL_BENCH(BM_DwConv3x3_88_40_s1);
VEDGE_KERNEL_BENCH(BM_QDwConv3x3_88_40_s1);
VEDGE_KERNEL_BENCH(BM_AddResidual_24x40x40);
VEDGE_KERNEL_BENCH(BM_QAddResidual_24x40x40);
VEDGE_KERNEL_BENCH(BM_MulSE_96x20x20);
VEDGE_KERNEL_BENCH(BM_QMulSE_96x20x20);
VEDGE_KERNEL_BENCH(BM_QLutHardSwish_240x20x20);
VEDGE_KERNEL_BENCH(BM_QuantizeLinear_3x320x320);
BENCHMARK(BM_VnniPeak)->Arg(1)->ArgName("threads");

}  // namespace
}  // namespace vedge

BENCHMARK_MAIN();

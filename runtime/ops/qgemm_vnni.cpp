// qgemm_vnni.cpp: the ISA choice and the creation-time packing of the VNNI
// int8 pointwise convolution (ops/qgemm_vnni.h), and its run(): pixels are
// split into cache-sized chunks handed to the threads of the pool; the tile
// loops live in ops/qgemm_avx512vnni.cpp and ops/qgemm_avxvnni.cpp.
// The environment variable VEDGE_QGEMM (off | avxvnni | avx512vnni | auto)
// pins the path for a whole process.
// Depends on runtime/cpu_features.h, runtime/error.h and ops/xnn_util.h
// (parallel_for).
#include "runtime/ops/qgemm_vnni.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "runtime/cpu_features.h"
#include "runtime/error.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

constexpr int kAuto = -1;
std::atomic<int> g_forced{kAuto};
std::atomic<int64_t> g_created[3];

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
bool has_isa(const char* name) {
  const std::vector<std::string>& isa = cpu_features().isa;
  return std::find(isa.begin(), isa.end(), name) != isa.end();
}
#endif

struct IsaShape {
  int64_t align, lanes, max_nb;
};
IsaShape isa_shape(QGemmIsa isa) {
  if (isa == QGemmIsa::Avx512Vnni) return {kQGemmRowAlign512, kQGemmLanes512, kQGemmMaxNb512};
  return {kQGemmRowAlign256, kQGemmLanes256, kQGemmMaxNb256};
}

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Packed activations per chunk: about 16 KiB, so a chunk and one block of
// weights stay in L1/L2 while every block runs over it.
constexpr int64_t kChunkBytes = 16 * 1024;

}  // namespace

const char* qgemm_isa_name(QGemmIsa isa) {
  switch (isa) {
    case QGemmIsa::Avx512Vnni:
      return "avx512vnni";
    case QGemmIsa::AvxVnni:
      return "avxvnni";
    default:
      return "none";
  }
}

bool qgemm_isa_available(QGemmIsa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  switch (isa) {
    case QGemmIsa::Avx512Vnni: {
      static const bool yes =
          has_isa("avx512f") && has_isa("avx512bw") && has_isa("avx512vl") && has_isa("avx512vnni");
      return yes;
    }
    case QGemmIsa::AvxVnni: {
      static const bool yes = has_isa("avx2") && has_isa("avxvnni");
      return yes;
    }
    default:
      return true;
  }
#else
  return isa == QGemmIsa::None;
#endif
}

// VEDGE_QGEMM=off|avxvnni|avx512vnni in the environment pins the path (for
// before/after measurements of whole models); unset or "auto": widest.
int env_isa() {
  static const int isa = [] {
    const char* e = std::getenv("VEDGE_QGEMM");
    const std::string v = e ? e : "auto";
    if (v == "auto" || v.empty()) return kAuto;
    for (QGemmIsa i : {QGemmIsa::None, QGemmIsa::AvxVnni, QGemmIsa::Avx512Vnni})
      if (v == qgemm_isa_name(i) || (v == "off" && i == QGemmIsa::None)) {
        VEDGE_CHECK(qgemm_isa_available(i), "VEDGE_QGEMM=", v, ": this CPU or build has no such path");
        return static_cast<int>(i);
      }
    fail("VEDGE_QGEMM=", v, " is not one of auto, off, avxvnni, avx512vnni");
  }();
  return isa;
}

QGemmIsa best_qgemm_isa() {
  int f = g_forced.load();
  if (f == kAuto) f = env_isa();
  if (f != kAuto) return static_cast<QGemmIsa>(f);
  if (qgemm_isa_available(QGemmIsa::Avx512Vnni)) return QGemmIsa::Avx512Vnni;
  if (qgemm_isa_available(QGemmIsa::AvxVnni)) return QGemmIsa::AvxVnni;
  return QGemmIsa::None;
}

void force_qgemm_isa(QGemmIsa isa, bool automatic) {
  VEDGE_CHECK(automatic || qgemm_isa_available(isa), "force_qgemm_isa: ", qgemm_isa_name(isa),
              " is not available on this CPU or build");
  g_forced.store(automatic ? kAuto : static_cast<int>(isa));
}

int64_t qgemm_kernels_created(QGemmIsa isa) { return g_created[static_cast<int>(isa)].load(); }

QGemmConv1x1::QGemmConv1x1(const QGemmParams& p, QGemmIsa isa, int64_t pixels)
    : isa_(isa), pixels_(pixels), channels_(p.channels), zy_(p.zy), qmin_(p.qmin), qmax_(p.qmax) {
  VEDGE_CHECK(isa != QGemmIsa::None && qgemm_isa_available(isa), "QGemmConv1x1: ISA ", qgemm_isa_name(isa),
              " is not available");
  const int64_t C = p.channels, M = p.outputs;
  VEDGE_CHECK(C > 0 && M > 0 && pixels >= 0 && p.weight, "QGemmConv1x1: empty problem (C ", C, ", M ", M, ")");
  VEDGE_CHECK(static_cast<int64_t>(p.multiplier.size()) == M, "QGemmConv1x1: ", p.multiplier.size(),
              " multipliers for ", M, " output channels");
  const IsaShape s = isa_shape(isa);
  depth4_ = round_up(C, 4);
  chunk_ = std::max(s.align, kChunkBytes / depth4_ / s.align * s.align);

  // Output-channel blocks of up to max_nb vectors.
  const int64_t vectors = (M + s.lanes - 1) / s.lanes;
  int64_t woff = 0, coff = 0;
  for (int64_t v = 0; v < vectors;) {
    Block b;
    b.nb = static_cast<int>(std::min(s.max_nb, vectors - v));
    b.m0 = v * s.lanes;
    b.lanes = std::min<int64_t>(b.nb * s.lanes, M - b.m0);
    b.woff = woff;
    b.coff = coff;
    woff += depth4_ * b.nb * s.lanes;
    coff += b.nb * s.lanes;
    v += b.nb;
    blocks_.push_back(b);
  }
  packed_w_.assign(static_cast<size_t>(woff), 0);
  bias_.assign(static_cast<size_t>(coff), 0);
  mult_.assign(static_cast<size_t>(coff), 0.f);
  // Weights: per block, per group of 4 input channels, per vector, lane by
  // lane 4 consecutive input channels (VPDPBUSD's byte quadruples). The
  // bias absorbs -(128 + zx) * sum_c w[m][c], in wrapping int32 arithmetic.
  for (const Block& b : blocks_)
    for (int64_t l = 0; l < b.lanes; ++l) {
      const int64_t m = b.m0 + l, vec = l / s.lanes, lane = l % s.lanes;
      const int8_t* wm = p.weight + m * C;
      uint32_t wsum = 0;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t at = b.woff + ((c / 4 * b.nb + vec) * s.lanes + lane) * 4 + c % 4;
        packed_w_[static_cast<size_t>(at)] = wm[c];
        wsum += static_cast<uint32_t>(static_cast<int32_t>(wm[c]));
      }
      const uint32_t bias = p.bias ? static_cast<uint32_t>(p.bias[m]) : 0u;
      const uint32_t shift = static_cast<uint32_t>(128 + p.zx);
      bias_[static_cast<size_t>(b.coff + l)] = static_cast<int32_t>(bias - shift * wsum);
      mult_[static_cast<size_t>(b.coff + l)] = p.multiplier[static_cast<size_t>(m)];
    }
  // Rows past the last pixel stay zero: partial tiles read them.
  scratch_.assign(static_cast<size_t>(round_up(std::max<int64_t>(pixels, 1), s.align) * depth4_), 0);
  ++g_created[static_cast<int>(isa)];
}

void QGemmConv1x1::run(const int8_t* x, int64_t x_stride, int8_t* y, int64_t y_stride, pthreadpool_t pool) {
  if (pixels_ == 0) return;
  const int64_t align = isa_shape(isa_).align;
  // With several threads, at least two chunks per thread when the layer is
  // small (the chunk stays a multiple of the row alignment).
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  int64_t chunk = chunk_;
  if (threads > 1) chunk = std::max(align, std::min(chunk, round_up((pixels_ + 2 * threads - 1) / (2 * threads), align)));
  Job j;
  j.x = x, j.x_stride = x_stride, j.y = y, j.y_stride = y_stride;
  j.pixels = pixels_, j.channels = channels_, j.depth4 = depth4_, j.chunk = chunk;
  j.scratch = scratch_.data();
  j.w = packed_w_.data(), j.bias = bias_.data(), j.mult = mult_.data();
  j.blocks = blocks_.data(), j.num_blocks = static_cast<int64_t>(blocks_.size());
  j.zy = zy_, j.qmin = qmin_, j.qmax = qmax_;
  const int64_t chunks = (pixels_ + chunk - 1) / chunk;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  void (*fn)(const Job&, int64_t, int64_t) =
      isa_ == QGemmIsa::Avx512Vnni ? qgemm_run_avx512vnni : qgemm_run_avxvnni;
  parallel_for(pool, chunks, 1, [&](int64_t b, int64_t e) { fn(j, b * chunk, std::min(e * chunk, pixels_)); });
#else
  (void)j, (void)chunks;  // not reached: the constructor accepts no ISA on other targets
#endif
}

}  // namespace vedge

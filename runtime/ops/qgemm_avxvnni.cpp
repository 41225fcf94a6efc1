// qgemm_avxvnni.cpp: the AVX-VNNI path (256-bit, VEX-encoded VPDPBUSD, for
// CPUs with AVX-VNNI but without AVX-512) of the int8 pointwise convolution
// (ops/qgemm_vnni.h): 8 output channels per ymm register, tiles of 6 pixels
// x 2 vectors (12 accumulators of 16 registers) or 6 x 1, requantization
// in ymm registers. Compiled for x86-64 only, every function of this file
// inside an AVX2 + AVX-VNNI target region (no AVX-512 instruction can be
// emitted); the caller checks the CPU first.
// Depends on ops/qgemm_tile.h and ops/qgemm_vnni.h.
#include "runtime/ops/qgemm_vnni.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,avxvnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,avxvnni")
#endif

#include "runtime/ops/qgemm_tile.h"

namespace vedge {
namespace {

struct AvxVnni {
  using V = __m256i;
  static constexpr int64_t kLanes = kQGemmLanes256;
  struct Req {
    __m256 lo, hi, magic;
    __m256i offset;  // bits of the magic number minus the output zero point
  };
  static Req requant_consts(int zy, int qmin, int qmax) {
    constexpr float kMagic = 12582912.0f;  // quant_math.h round_half_even_small
    int32_t magic_bits;
    std::memcpy(&magic_bits, &kMagic, 4);
    return {_mm256_set1_ps(static_cast<float>(qmin - zy)), _mm256_set1_ps(static_cast<float>(qmax - zy)),
            _mm256_set1_ps(kMagic), _mm256_set1_epi32(magic_bits - zy)};
  }
  static V load_bias(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static V load_w(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static V broadcast4(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  static V dot(V acc, V a, V w) { return _mm256_dpbusd_avx_epi32(acc, a, w); }
  // qconv_output lane by lane, as in qgemm_avx512vnni.cpp: (float)acc * m,
  // max then min with the bounds, magic-number rounding, + zy; then the 8
  // int32 (all in [-128, 127]) narrowed with saturating packs.
  static void requantize_store(V acc, const float* mult, const Req& r, int8_t* y, int64_t lanes) {
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(mult));
    v = _mm256_max_ps(v, r.lo);
    v = _mm256_min_ps(v, r.hi);
    const __m256i q = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(v, r.magic)), r.offset);
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const __m128i b = _mm_packs_epi16(w16, w16);
    if (lanes == kLanes) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(y), b);
    } else {
      alignas(16) int8_t tmp[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
      std::memcpy(y, tmp, static_cast<size_t>(lanes));
    }
  }
  static void dispatch(const QGemmConv1x1::Job& j, const QGemmConv1x1::Block& b, const Req& r, int64_t p0,
                       int64_t p1) {
    if (b.nb == 2) return qgemm_tile::block_rows<AvxVnni, 6, 2>(j, b, r, p0, p1);
    qgemm_tile::block_rows<AvxVnni, 6, 1>(j, b, r, p0, p1);
  }
};
static_assert(kQGemmRowAlign256 % 6 == 0, "tile height must divide the row alignment");

}  // namespace

void qgemm_run_avxvnni(const QGemmConv1x1::Job& job, int64_t p_begin, int64_t p_end) {
  qgemm_tile::run<AvxVnni>(job, p_begin, p_end);
}

}  // namespace vedge

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // x86-64

// qgemm_avx512vnni.cpp: the AVX-512 VNNI path of the int8 pointwise
// convolution (ops/qgemm_vnni.h): 16 output channels per zmm register,
// VPDPBUSD accumulation, requantization in zmm registers, masked byte
// stores for channel tails. Tiles: 6 pixels x 4 vectors (24 accumulators),
// 8 x 3, 12 x 2, 12 x 1. Compiled for x86-64 only, every function of this
// file inside an AVX-512 target region (the caller checks the CPU first).
// Depends on ops/qgemm_tile.h and ops/qgemm_vnni.h.
#include "runtime/ops/qgemm_vnni.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if !defined(__clang__)
// GCC 12's avx512fintrin.h builds its "undefined" pass-through operands as
// `__m512 __Y = __Y;`, which -Wmaybe-uninitialized reports (at the header's
// lines) wherever they are inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni")
#endif

#include "runtime/ops/qgemm_tile.h"

namespace vedge {
namespace {

struct Avx512Vnni {
  using V = __m512i;
  static constexpr int64_t kLanes = kQGemmLanes512;
  struct Req {
    __m512 lo, hi, magic;
    __m512i offset;  // bits of the magic number minus the output zero point
  };
  static Req requant_consts(int zy, int qmin, int qmax) {
    constexpr float kMagic = 12582912.0f;  // quant_math.h round_half_even_small
    int32_t magic_bits;
    std::memcpy(&magic_bits, &kMagic, 4);
    return {_mm512_set1_ps(static_cast<float>(qmin - zy)), _mm512_set1_ps(static_cast<float>(qmax - zy)),
            _mm512_set1_ps(kMagic), _mm512_set1_epi32(magic_bits - zy)};
  }
  static V load_bias(const int32_t* p) { return _mm512_loadu_si512(p); }
  static V load_w(const int8_t* p) { return _mm512_loadu_si512(p); }
  static V broadcast4(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static V dot(V acc, V a, V w) { return _mm512_dpbusd_epi32(acc, a, w); }
  // qconv_output lane by lane: (float)acc * m, clamp to [qmin - zy, qmax -
  // zy] (max first: NaN -> lower bound, as maxps returns its second
  // operand), round half to even by the magic-number addition, + zy. The
  // rounded float's low mantissa bits are the integer, so subtracting the
  // magic number's bits (and adding zy) in the integer domain is exact.
  static void requantize_store(V acc, const float* mult, const Req& r, int8_t* y, int64_t lanes) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(mult));
    v = _mm512_max_ps(v, r.lo);
    v = _mm512_min_ps(v, r.hi);
    const __m512i q = _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(v, r.magic)), r.offset);
    const __m128i b = _mm512_cvtepi32_epi8(q);
    if (lanes == kLanes)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y), b);
    else
      _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << lanes) - 1u), b);
  }
  static void dispatch(const QGemmConv1x1::Job& j, const QGemmConv1x1::Block& b, const Req& r, int64_t p0,
                       int64_t p1) {
    switch (b.nb) {
      case 4:
        return qgemm_tile::block_rows<Avx512Vnni, 6, 4>(j, b, r, p0, p1);
      case 3:
        return qgemm_tile::block_rows<Avx512Vnni, 8, 3>(j, b, r, p0, p1);
      case 2:
        return qgemm_tile::block_rows<Avx512Vnni, 12, 2>(j, b, r, p0, p1);
      default:
        return qgemm_tile::block_rows<Avx512Vnni, 12, 1>(j, b, r, p0, p1);
    }
  }
};
static_assert(kQGemmRowAlign512 % 6 == 0 && kQGemmRowAlign512 % 8 == 0 && kQGemmRowAlign512 % 12 == 0,
              "tile heights must divide the row alignment");

}  // namespace

void qgemm_run_avx512vnni(const QGemmConv1x1::Job& job, int64_t p_begin, int64_t p_end) {
  qgemm_tile::run<Avx512Vnni>(job, p_begin, p_end);
}

}  // namespace vedge

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

#endif  // x86-64

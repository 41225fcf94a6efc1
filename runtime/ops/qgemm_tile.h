// qgemm_tile.h: the tile loop of the VNNI pointwise convolution
// (ops/qgemm_vnni.h), written once over an ISA traits class I and compiled
// by each ISA file (ops/qgemm_avx512vnni.cpp, ops/qgemm_avxvnni.cpp) inside
// its own target region. Everything here is a template on I, so the two
// instantiations are distinct symbols and no code built for one ISA can be
// picked by the linker for the other. Include it only after all system
// headers and after the target pragma.
//
// I provides: V (int32 accumulator vector of I::kLanes lanes), load_bias,
// broadcast4 (4 activation bytes to every lane), load_w, dot (VPDPBUSD:
// acc + sum of 4 unsigned x signed byte products per lane), and
// requantize_store (quant_math.h's qconv_output on every lane, the first
// `lanes` stored).
// Depends on ops/qgemm_vnni.h only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "runtime/ops/qgemm_vnni.h"

namespace vedge {
namespace qgemm_tile {

// Activations of pixels [p0, p1) made unsigned (x + 128 = x ^ 0x80) into
// scratch rows of depth4 bytes, the padding channels zero.
template <class I>
void pack_rows(const QGemmConv1x1::Job& j, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t* src = reinterpret_cast<const uint8_t*>(j.x + p * j.x_stride);
    uint8_t* dst = j.scratch + p * j.depth4;
    for (int64_t c = 0; c < j.channels; ++c) dst[c] = static_cast<uint8_t>(src[c] ^ 0x80u);
    for (int64_t c = j.channels; c < j.depth4; ++c) dst[c] = 0;
  }
}

// MR pixels x NB vectors of output channels; `rows` (<= MR) pixels stored.
// Every loop over r and n has a constant trip count and is unrolled, so the
// accumulators live in registers (a run-time index would put them in memory).
template <class I, int MR, int NB>
void tile(const QGemmConv1x1::Job& j, const QGemmConv1x1::Block& b, const typename I::Req& rq, int64_t p,
          int rows) {
  using V = typename I::V;
  constexpr int64_t L = I::kLanes;
  V acc[MR][NB];
#pragma GCC unroll 8
  for (int n = 0; n < NB; ++n) {
    const V b0 = I::load_bias(j.bias + b.coff + n * L);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc[r][n] = b0;
  }
  const uint8_t* a = j.scratch + p * j.depth4;
  const int64_t as = j.depth4;
  const int8_t* w = j.w + b.woff;
  for (int64_t k = 0; k < j.depth4; k += 4, w += NB * L * 4) {
    V wv[NB];
#pragma GCC unroll 8
    for (int n = 0; n < NB; ++n) wv[n] = I::load_w(w + n * L * 4);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V av = I::broadcast4(a + r * as + k);
#pragma GCC unroll 8
      for (int n = 0; n < NB; ++n) acc[r][n] = I::dot(acc[r][n], av, wv[n]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
    int8_t* y = j.y + (p + r) * j.y_stride + b.m0;
#pragma GCC unroll 8
    for (int n = 0; n < NB; ++n) {
      const int64_t lanes = std::min<int64_t>(L, b.lanes - n * L);
      if (lanes > 0) I::requantize_store(acc[r][n], j.mult + b.coff + n * L, rq, y + n * L, lanes);
    }
  }
}

// Tiles of MR pixels over [p0, p1) for one block of NB vectors.
template <class I, int MR, int NB>
void block_rows(const QGemmConv1x1::Job& j, const QGemmConv1x1::Block& b, const typename I::Req& rq, int64_t p0,
                int64_t p1) {
  for (int64_t p = p0; p < p1; p += MR) tile<I, MR, NB>(j, b, rq, p, static_cast<int>(std::min<int64_t>(MR, p1 - p)));
}

// Pixels [p_begin, p_end): chunk by chunk, pack then every block. I::rows(nb)
// is the tile height for a block of nb vectors (it divides job.chunk).
template <class I>
void run(const QGemmConv1x1::Job& j, int64_t p_begin, int64_t p_end) {
  const typename I::Req rq = I::requant_consts(j.zy, j.qmin, j.qmax);
  for (int64_t c0 = p_begin; c0 < p_end; c0 += j.chunk) {
    const int64_t c1 = std::min(c0 + j.chunk, p_end);
    pack_rows<I>(j, c0, c1);
    for (int64_t bi = 0; bi < j.num_blocks; ++bi) {
      const QGemmConv1x1::Block& b = j.blocks[bi];
      I::dispatch(j, b, rq, c0, c1);
    }
  }
}

}  // namespace qgemm_tile
}  // namespace vedge

// fast_math.h: exp(x) for x <= 0 without libm, written so that loops over
// it vectorize without -ffast-math: one set of constants and one polynomial
// for a scalar form (NMS score softmax, nms.cpp) and an 8-lane form (fast
// Softmax, ops/fast_softmax.cpp). Method: clamp at -87 (the float range),
// x = n*ln2 + r with n rounded by the 1.5*2^23 trick and ln2 split in two
// (Cody-Waite), degree-6 Taylor polynomial on r, 2^n built in the float's
// exponent bits; about 1 ulp (<= 2.6e-7 relative). Everything is inline so
// it takes the caller's target (e.g. an AVX2 target_clones function).
// Depends on the standard library and GCC/Clang vector extensions only.
#pragma once

#include <cstdint>
#include <cstring>

namespace vedge {
namespace fast_exp {

constexpr float kMin = -87.f;              // smaller inputs give exp(-87)
constexpr uint32_t kMinBits = 0xC2AE0000u;  // bits of kMin
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kRound = 12582912.f;  // 1.5 * 2^23: x + kRound - kRound rounds x to an integer
// Two Cody-Waite splits of ln2 (hi exact in few bits, lo the remainder).
// Each form keeps the split it was written with, so their results stay
// bit-identical to before the two were merged: the splits agree on all but
// ~0.01% of inputs in [-87, 0], and there by 1 ulp with equal accuracy.
constexpr float kLn2HiScalar = 0.693359375f;   // > ln2: r = (x - n*hi) + n*lo
constexpr float kLn2LoScalar = 2.12194440e-4f;
constexpr float kLn2HiVector = 0.693145751953125f;  // < ln2: r = x - n*hi - n*lo
constexpr float kLn2LoVector = 1.42860682030941723e-6f;

// p = exp(r) for |r| <= ln2/2 (degree-6 Taylor, Horner). T is float or a
// GCC vector of floats; by reference, so no vector-ABI dependence.
template <class T>
inline void poly(T& p, const T& r) {
  p = T{} + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
}

// exp(x) for x <= 0. The clamp compares the bits (for x <= 0 a larger
// magnitude has larger bits; a float compare would keep GCC from
// if-converting the loops that call this).
inline float exp_nonpositive(float x) {
  uint32_t xb;
  std::memcpy(&xb, &x, 4);
  xb = xb < kMinBits ? xb : kMinBits;
  std::memcpy(&x, &xb, 4);
  const float n = (x * kLog2e + kRound) - kRound;
  const float r = (x - n * kLn2HiScalar) + n * kLn2LoScalar;
  float p;
  poly(p, r);
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// Eight lanes (NEON/SSE pairs, native AVX2 in an AVX2-targeted caller).
typedef float F8 __attribute__((vector_size(32)));
typedef int32_t I8 __attribute__((vector_size(32)));

// x = exp(x) lane-wise for x <= 0.
inline void exp8(F8& x) {
  x = x < kMin ? F8{} + kMin : x;
  const F8 magic = F8{} + kRound;
  const F8 n = (x * kLog2e + magic) - magic;
  const F8 r = x - n * kLn2HiVector - n * kLn2LoVector;
  F8 p;
  poly(p, r);
  const I8 bits = (__builtin_convertvector(n, I8) + 127) << 23;
  F8 scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  x = p * scale;
}

}  // namespace fast_exp
}  // namespace vedge

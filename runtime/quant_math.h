// quant_math.h: the scalar numerics of Vision-Edge's integer (QDQ) ops, one
// inline definition of each, shared by the reference kernels
// (runtime/ops/ref_quant.cpp) and the fast kernels (runtime/ops/fast_quant*.cpp),
// so that both families agree bit for bit. The fast QConv runs on XNNPACK's
// qc8 convolution; the definitions below reproduce what that operator
// computes (Debian's 2022 XNNPACK snapshot; tests/test_quant_kernels.cpp
// checks it on x86 AVX-512 and, under qemu, aarch64 NEON with and without
// the dot-product extension).
//
// Conventions (docs/quantization.md has the prose):
//   real = (q - zero_point) * scale. Integer activations are int8
//   (per-tensor); uint8 activations are lowered as int8 with zp - 128.
//   Every requantization is done in float: v = (float)acc * m, then
//   requantize(v, zy, qmin, qmax). [qmin, qmax] is [-128, 127] narrowed by a
//   fused activation (quant_activation_range).
//
// Floating-point discipline: every expression below is written in the exact
// evaluation order the reference and the fast kernels must use; no fused
// multiply-add may be formed (the project compiles C++ in ISO mode, where
// GCC does not contract, and the aarch64 toolchain passes -ffp-contract=off).
//
// Depends on the C++ standard library only.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace vedge {

constexpr int kQMinI8 = -128;
constexpr int kQMaxI8 = 127;

// Round half to even of a float with |v| <= 2^22 (all callers clamp first):
// adding and subtracting 1.5 * 2^23 leaves the nearest integer, ties to even
// (IEEE round-to-nearest, the default mode). Bit-identical to
// std::nearbyint(v) for such v, but vectorizes with plain SSE2/NEON.
inline float round_half_even_small(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  return (v + kMagic) - kMagic;
}

// The one requantization step: clamp v (already in units of the output
// scale) to [qmin - zp, qmax - zp] in float, round half to even, add zp.
// NaN maps to qmin. Equal to XNNPACK's fp32 requantization (clamp,
// magic-bias / cvtps2dq / vcvtnq rounding, add zero point, clamp), since the
// bounds are integers and rounding is monotonic.
inline int32_t requantize_int(float v, int zp, int qmin, int qmax) {
  const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
  v = v > lo ? v : lo;  // NaN -> lo (maxps semantics)
  v = v < hi ? v : hi;
  return static_cast<int32_t>(round_half_even_small(v)) + zp;
}
inline int8_t requantize(float v, int zp, int qmin, int qmax) {
  return static_cast<int8_t>(requantize_int(v, zp, qmin, qmax));
}

// ONNX QuantizeLinear, per tensor: saturate(round_half_even(x / scale) + zp)
// to int8 ([-128, 127]); NaN -> -128, +-inf saturate. The division (not a
// multiplication by 1/scale) is ONNX's and ONNX Runtime's formula.
inline int8_t quantize(float x, float scale, int zp) {
  return requantize(x / scale, zp, kQMinI8, kQMaxI8);
}
// The same into any integer range (uint8: [0, 255]).
inline int32_t quantize_to(float x, float scale, int zp, int qmin, int qmax) {
  return requantize_int(x / scale, zp, qmin, qmax);
}

// ONNX DequantizeLinear: (q - zp) * scale, the difference exact in float.
inline float dequantize(int32_t q, float scale, int zp) {
  return static_cast<float>(q - zp) * scale;
}

// Output range [*qmin, *qmax] (within [-128, 127]) of an int8 output with
// (scale, zp) when a fused activation clamps the real value to [lo, hi]
// (relu: [0, +inf], relu6: [0, 6], clip: [act_min, act_max], none:
// [-inf, +inf]): qmin = max(-128, quantize(lo)), qmax = min(127,
// quantize(hi)). The range may come out empty or a single value
// (qmin >= qmax); XNNPACK rejects that and the reference kernel runs.
inline void quant_activation_range(float lo, float hi, float scale, int zp, int* qmin, int* qmax) {
  *qmin = quantize(lo, scale, zp);
  *qmax = quantize(hi, scale, zp);
}

// QConv: the requantization multiplier of output channel c, computed exactly
// as XNNPACK's xnn_create_convolution2d_nhwc_qc8 computes it (float
// arithmetic, left to right): (input_scale * kernel_scale[c]) / output_scale.
// XNNPACK refuses multipliers >= 256 (xnn_status_unsupported_parameter); the
// fast kernel then returns nullptr and the reference kernel runs.
// The accumulator is int32: acc = bias[c] + sum (x - zx) * w over the taps
// inside the input (padding contributes nothing, i.e. pads hold zx); the
// output is requantize((float)acc * m[c], zy, qmin, qmax).
inline float qconv_multiplier(float input_scale, float kernel_scale, float output_scale) {
  return input_scale * kernel_scale / output_scale;
}
inline int8_t qconv_output(int32_t acc, float m, int zy, int qmin, int qmax) {
  return requantize(static_cast<float>(acc) * m, zy, qmin, qmax);
}

// QAdd: multipliers ma = sa / sy, mb = sb / sy; output
// requantize((float)(a - za) * ma + (float)(b - zb) * mb, zy, qmin, qmax)
// (the two products rounded to float, then added).
struct QAddParams {
  int za = 0, zb = 0, zy = 0, qmin = kQMinI8, qmax = kQMaxI8;
  float ma = 1.f, mb = 1.f;
};
inline QAddParams qadd_params(float sa, int za, float sb, int zb, float sy, int zy, int qmin, int qmax) {
  QAddParams p;
  p.za = za, p.zb = zb, p.zy = zy, p.qmin = qmin, p.qmax = qmax;
  p.ma = sa / sy;
  p.mb = sb / sy;
  return p;
}
inline int8_t qadd(int a, int b, const QAddParams& p) {
  const float va = static_cast<float>(a - p.za) * p.ma;
  const float vb = static_cast<float>(b - p.zb) * p.mb;
  return requantize(va + vb, p.zy, p.qmin, p.qmax);
}

// QMul: multiplier m = (sa * sb) / sy; the integer product of the centred
// inputs is exact in int32; output requantize((float)((a - za) * (b - zb)) * m).
struct QMulParams {
  int za = 0, zb = 0, zy = 0, qmin = kQMinI8, qmax = kQMaxI8;
  float m = 1.f;
};
inline QMulParams qmul_params(float sa, int za, float sb, int zb, float sy, int zy, int qmin, int qmax) {
  QMulParams p;
  p.za = za, p.zb = zb, p.zy = zy, p.qmin = qmin, p.qmax = qmax;
  p.m = sa * sb / sy;
  return p;
}
inline int8_t qmul(int a, int b, const QMulParams& p) {
  return requantize(static_cast<float>((a - p.za) * (b - p.zb)) * p.m, p.zy, p.qmin, p.qmax);
}

// QGlobalAveragePool over `count` = H*W pixels: m = sx / (sy * (float)count);
// output requantize((float)sum * m, zy, -128, 127) where sum is the int32
// sum of (x - zx) over the pixels of one channel.
inline float qgap_multiplier(float sx, float sy, int64_t count) {
  return sx / (sy * static_cast<float>(count));
}

// QConcat: input i with (si, zi) goes to the output's (sy, zy) as
// requantize((float)(x - zi) * (si / sy), zy, -128, 127). With si == sy and
// zi == zy this is the identity (a copy).
inline float qconcat_multiplier(float si, float sy) { return si / sy; }
inline int8_t qrescale(int x, int zi, float m, int zy) {
  return requantize(static_cast<float>(x - zi) * m, zy, kQMinI8, kQMaxI8);
}

// QLut: the 256-entry table of an element-wise float op f for int8 input
// (sx, zx) and int8 output (sy, zy): table[x + 128] = quantize(f(dequantize(x,
// sx, zx)), sy, zy), i.e. Q(f(DQ(x))) exactly as the QDQ model computes it.
template <class F>
std::array<int8_t, 256> build_lut(F&& f, float sx, int zx, float sy, int zy) {
  std::array<int8_t, 256> t{};
  for (int x = kQMinI8; x <= kQMaxI8; ++x) t[static_cast<size_t>(x + 128)] = quantize(f(dequantize(x, sx, zx)), sy, zy);
  return t;
}

}  // namespace vedge

// tflite_hardswish.cpp: TFLite's int8 HARD_SWISH as a lookup table (the
// arithmetic is described in tflite_hardswish.h).
// Depends on nothing but the standard library and error.h.
#include "runtime/tflite_hardswish.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"

namespace vedge {

namespace {

constexpr int32_t kI16Min = std::numeric_limits<int16_t>::min();
constexpr int32_t kI16Max = std::numeric_limits<int16_t>::max();

// A positive real multiplier as (Q15 mantissa, power of two exponent): first
// a Q31 mantissa in [2^30, 2^31) from frexp, rounded half away from zero,
// then rounded to 16 bits.
struct Multiplier16 {
  int16_t mantissa = 0;
  int exponent = 0;
};

Multiplier16 multiplier16(double m) {
  Multiplier16 r;
  int e = 0;
  const double frac = std::frexp(m, &e);
  int64_t q31 = static_cast<int64_t>(std::round(frac * 2147483648.0));
  if (q31 == (int64_t{1} << 31)) {
    q31 /= 2;
    ++e;
  }
  if (e < -31) return r;  // too small to represent: zero
  r.exponent = e;
  if (q31 >= int64_t{std::numeric_limits<int32_t>::max()} - (1 << 15))
    r.mantissa = std::numeric_limits<int16_t>::max();
  else
    r.mantissa = static_cast<int16_t>((q31 + (1 << 15)) >> 16);
  return r;
}

// round(a * b / 2^15), ties away from zero; -32768 * -32768 saturates.
int16_t rounding_doubling_high_mul(int16_t a, int16_t b) {
  if (a == kI16Min && b == kI16Min) return kI16Max;
  const int32_t ab = int32_t{a} * int32_t{b};
  const int32_t nudge = ab >= 0 ? (1 << 14) : 1 - (1 << 14);
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}

// a * b / 2^15 truncated toward zero; -32768 * -32768 saturates.
int16_t doubling_high_mul(int16_t a, int16_t b) {
  if (a == kI16Min && b == kI16Min) return kI16Max;
  return static_cast<int16_t>((int32_t{a} * int32_t{b}) / (1 << 15));
}

// x / 2^shift rounded to nearest, ties away from zero (shift in [0, 31]).
int32_t rounding_divide_by_pot(int32_t x, int shift) {
  const int64_t mask = (int64_t{1} << shift) - 1;
  const int64_t remainder = int64_t{x} & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int32_t>((int64_t{x} >> shift) + (remainder > threshold ? 1 : 0));
}

// v * 2^shift, saturated to int16 (a shift of 31 or more already saturates
// every nonzero v).
int16_t saturating_shift_left(int16_t v, int shift) {
  const int64_t shifted = int64_t{v} * (int64_t{1} << std::min(shift, 31));
  return static_cast<int16_t>(std::clamp<int64_t>(shifted, kI16Min, kI16Max));
}

}  // namespace

std::vector<int8_t> tflite_hardswish_table(float in_scale, int in_zp, float out_scale,
                                           int out_zp) {
  if (!(std::isfinite(in_scale) && in_scale > 0) || !(std::isfinite(out_scale) && out_scale > 0))
    fail("TFLite HARD_SWISH: scales must be finite and positive (input ", in_scale, ", output ",
         out_scale, ")");
  if (in_zp < -128 || in_zp > 127 || out_zp < -128 || out_zp > 127)
    fail("TFLite HARD_SWISH: int8 zero points must be in [-128, 127] (input ", in_zp, ", output ",
         out_zp, ")");
  // TFLite derives the multipliers in float, then converts to double.
  const float hires_scale = (1.0f / 128.0f) * in_scale;
  const float out_mult = hires_scale / out_scale, relu_mult = hires_scale / (3.0f / 32768.0f);
  if (!std::isfinite(relu_mult))
    fail("TFLite HARD_SWISH: input scale ", in_scale, " is too large");
  const Multiplier16 out_m = multiplier16(std::isfinite(out_mult) ? out_mult : 1.0);
  const Multiplier16 relu_m = multiplier16(static_cast<double>(relu_mult));
  if (out_m.exponent > 0)
    fail("TFLite HARD_SWISH: output scale ", out_scale, " is too small for input scale ", in_scale,
         " (TFLite requires out_scale >= in_scale / 128)");

  std::vector<int8_t> table(256);
  for (int q = -128; q <= 127; ++q) {
    const int16_t hires = static_cast<int16_t>((q - in_zp) * 128);  // |q - zp| <= 255
    const int16_t on_out_scale = rounding_doubling_high_mul(hires, out_m.mantissa);
    int16_t relu = hires;
    if (relu_m.exponent > 0) relu = saturating_shift_left(relu, relu_m.exponent - 1);
    relu = rounding_doubling_high_mul(relu, relu_m.mantissa);
    if (relu_m.exponent > 0) relu = saturating_shift_left(relu, 1);
    if (relu_m.exponent < 0)
      relu = static_cast<int16_t>(rounding_divide_by_pot(relu, -relu_m.exponent));
    relu = static_cast<int16_t>((int32_t{relu} + (1 << 15)) >> 1);  // [-1, 1] -> [0, 1]
    const int16_t pre = doubling_high_mul(relu, on_out_scale);
    const int32_t y = rounding_divide_by_pot(pre, -out_m.exponent) + out_zp;
    table[static_cast<size_t>(q + 128)] = static_cast<int8_t>(std::clamp(y, -128, 127));
  }
  return table;
}

}  // namespace vedge

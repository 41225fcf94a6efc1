// tflite_hardswish.h: the 256-entry int8 lookup table of TFLite's integer
// HARD_SWISH, so an imported .tflite file computes what TFLite computes
// (the exact-float table of lower_qdq differs by one step on a few entries).
//
// TFLite evaluates y = x * relu6(x + 3) / 6 on x = (q - in_zp) * in_scale in
// 16-bit fixed point, with multipliers prepared from float scales:
//   * "hires input": v = (q - in_zp) * 2^7, i.e. the input on scale
//     in_scale / 128;
//   * output multiplier m_o = (in_scale / 128) / out_scale, and reluish
//     multiplier m_r = (in_scale / 128) / (3 / 32768) (the scale on which
//     +3.0 is 32768); each is written as an int32 Q31 mantissa times 2^e
//     (frexp, mantissa rounded half away from zero) and then rounded to a
//     Q15 int16 mantissa ((m32 + 2^15) >> 16, saturating at 32767);
//   * a = RoundingDoublingHighMul16(v, m_o): x on the output scale, not yet
//     shifted by e_o (e_o <= 0);
//   * r = v rescaled by m_r to [-1, 1] in Q15: for e_r > 0 saturating left
//     shift by e_r - 1, RoundingDoublingHighMul16 by the mantissa, then
//     saturating left shift by 1; for e_r < 0 the mantissa product is
//     rounding-divided by 2^-e_r; then r = (r + 32768) >> 1 maps it to
//     relu6(x + 3) / 6 in [0, 1] Q15;
//   * y = RoundingDivideByPOT(DoublingHighMul16(r, a), -e_o) + out_zp,
//     clamped to int8. DoublingHighMul16 truncates toward zero (no rounding,
//     on purpose in TFLite, to cancel the bias of the rounding multiply);
//     RoundingDivideByPOT rounds half away from zero.
// Checked against LiteRT.js on 60 random quantizations (tests/
// test_tflite_import.cpp has hand-checked entries; tests/test_tflite_litert.cpp
// compares whole files with the real runtime).
// Depends on nothing but the standard library and error.h.
#pragma once

#include <cstdint>
#include <vector>

namespace vedge {

// table[q + 128] = TFLite's int8 HARD_SWISH of q, for q = -128..127. Throws
// vedge::Error when a scale is not finite and positive, a zero point is
// outside [-128, 127], or out_scale is smaller than in_scale / 128 (TFLite
// rejects such a model at prepare time).
std::vector<int8_t> tflite_hardswish_table(float in_scale, int in_zp, float out_scale,
                                           int out_zp);

}  // namespace vedge

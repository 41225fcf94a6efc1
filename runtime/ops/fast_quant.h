// fast_quant.h: what the fast integer kernels (ops/fast_quant*.cpp) share:
// reading per-tensor quantization parameters of a node's operands from the
// graph (Value::quant), the output range of a fused activation, and the
// prepared requantization step of the element-wise loops. The numerics
// themselves are runtime/quant_math.h (shared with the reference kernels).
// Depends on runtime/quant_math.h, ops/ref.h (activation attribute
// conventions) and kernel.h; nothing of the executor.
#pragma once

#include <cmath>
#include <cstdint>

#include "runtime/kernel.h"
#include "runtime/ops/ref.h"
#include "runtime/quant_math.h"

namespace vedge {
namespace fq {

// One per-tensor quantization: real = (q - zp) * scale.
struct TensorQuant {
  float scale = 1.f;
  int zp = 0;
};

// Value::quant of input i (output = false) or output i, or nullptr when the
// node has no graph or the operand is absent.
inline const QuantParams* operand_quant(const KernelArgs& a, bool output, size_t i) {
  if (!a.graph || !a.node) return nullptr;
  const std::vector<int>& ids = output ? a.node->outputs : a.node->inputs;
  if (i >= ids.size() || ids[i] < 0 || static_cast<size_t>(ids[i]) >= a.graph->values.size()) return nullptr;
  return &a.graph->values[static_cast<size_t>(ids[i])].quant;
}

// Per-tensor parameters with a positive finite scale; false when absent,
// per-channel or unusable (the fast kernel then defers to the reference).
inline bool per_tensor(const KernelArgs& a, bool output, size_t i, TensorQuant* q) {
  const QuantParams* p = operand_quant(a, output, i);
  if (!p || p->scale.size() != 1 || p->zero_point.size() > 1) return false;
  q->scale = p->scale[0];
  q->zp = p->zero_point.empty() ? 0 : p->zero_point[0];
  return std::isfinite(q->scale) && q->scale > 0.f;
}

// Output range of an int8 output y under the node's fused activation
// (relu | relu6 | clip; none = [-128, 127]); false for an activation the
// integer ops do not fuse (hardswish / sigmoid run as a QLut).
inline bool activation_range(const Attrs& attrs, TensorQuant y, int* qmin, int* qmax) {
  const ref::Activation act = ref::parse_activation(attrs);
  if (act.kind == ref::Activation::Kind::HardSwish || act.kind == ref::Activation::Kind::Sigmoid) return false;
  float lo = -INFINITY, hi = INFINITY;
  if (act.kind == ref::Activation::Kind::Relu) lo = 0.f;
  if (act.kind == ref::Activation::Kind::Clip) lo = act.lo, hi = act.hi;
  quant_activation_range(lo, hi, y.scale, y.zp, qmin, qmax);
  return true;
}

// x86-64 builds compile the hot element-wise loops twice: for the baseline
// (SSE2) and, in functions marked VEDGE_AVX2, for AVX2 (without FMA, so
// that no multiply-add is fused and the results stay bit-identical to the
// reference); use_avx2() picks the clone at kernel creation.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VEDGE_HAVE_AVX2_CLONES 1
#define VEDGE_AVX2 __attribute__((target("avx2")))
inline bool use_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#else
#define VEDGE_HAVE_AVX2_CLONES 0
inline bool use_avx2() { return false; }
#endif

}  // namespace fq
}  // namespace vedge

// ref.h: what the reference kernels (ops/ref_*.cpp) share: the scalar
// formulas of the activations (also usable by the fast kernels, so both
// families agree on one definition), argument checks, numpy broadcasting
// helpers, and the per-op factories that ref_registry.cpp dispatches to.
//
// Conventions of every reference kernel:
//   - all tensors are plain (row-major, logical NCHW); single thread;
//   - every check happens in the constructor, run() is only loops;
//   - checks throw vedge::Error with the problem only ("weight shape ..."):
//     make_ref_kernel() prefixes "<source>: node '<name>' (<op>): ";
//   - a factory returns nullptr for a dtype it has no kernel for;
//   - sums are accumulated in float, in the loop order written in the code
//     (deterministic; the same order on every run and thread count).
// Depends on runtime/kernel.h, graph.h, tensor.h, error.h only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/kernel.h"

namespace vedge {
namespace ref {

// ---- scalar activations (ONNX definitions) ----
inline float relu(float x) { return x < 0.f ? 0.f : x; }
// min(max(x, lo), hi): NaN stays NaN; lo > hi gives hi, as numpy.clip.
inline float clip(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }
inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
inline float hard_sigmoid(float x, float alpha, float beta) {
  return clip(alpha * x + beta, 0.f, 1.f);
}
// ONNX HardSwish: x * HardSigmoid(x) with alpha = 1/6, beta = 0.5.
inline float hardswish(float x) { return x * hard_sigmoid(x, 1.f / 6.f, 0.5f); }

// The fused "activation" attribute of Conv (set by fusion passes):
// relu | relu6 | clip (with "act_min"/"act_max", default -inf/+inf) |
// hardswish | sigmoid; absent or "" = none.
struct Activation {
  enum class Kind { None, Relu, Clip, HardSwish, Sigmoid };
  Kind kind = Kind::None;
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();

  float operator()(float x) const {
    switch (kind) {
      case Kind::None: return x;
      case Kind::Relu: return relu(x);
      case Kind::Clip: return clip(x, lo, hi);
      case Kind::HardSwish: return hardswish(x);
      case Kind::Sigmoid: return sigmoid(x);
    }
    return x;
  }
};
// Parses node.attrs; throws vedge::Error for an unknown activation name.
// relu6 becomes Clip(0, 6).
Activation parse_activation(const Attrs& attrs);

// ---- argument checks (throw vedge::Error with the problem only) ----
// Input count in [min_in, max_in], exactly n_out outputs; inputs
// [0, min_in) and all outputs present; every present tensor plain.
void check_arity(const KernelArgs& a, size_t min_in, size_t max_in, size_t n_out);
// True when every present input and every output has dtype t.
bool all_dtype(const KernelArgs& a, DType t);
void check_shape(const char* what, const Shape& got, const Shape& want);
// attrs.get_ints(key, def), checked to hold exactly n values.
std::vector<int64_t> attr_ints(const Attrs& attrs, const char* key, size_t n,
                               const std::vector<int64_t>& def);

// The checked geometry of a Conv or QConv node (defined in ref_conv.cpp):
// x [N,C,H,W], w [M,C/group,KH,KW], y [N,M,OH,OW]; strides and dilations
// positive, pads [top,left,bottom,right] non-negative, group dividing C and
// M, auto_pad resolved, a kernel_shape attribute matching the weights, the
// dilated kernel inside the padded input, and y of the shape that follows.
struct ConvGeometry {
  int64_t N = 0, C = 0, H = 0, W = 0, M = 0, KH = 0, KW = 0, OH = 0, OW = 0, group = 1;
  std::vector<int64_t> strides, pads, dilations;
};
ConvGeometry conv_geometry(const Attrs& at, const Shape& xs, const Shape& ws, const Shape& ys);

// ---- numpy broadcasting ----
// Multidirectional broadcast of two shapes; throws if incompatible.
Shape broadcast_shape(const Shape& a, const Shape& b);
// Strides (elements) for reading a plain tensor of shape `in` while
// iterating over `out` (in right-aligned to out, 0 where in is broadcast).
// Requires in to be broadcastable to out.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Odometer over a shape: advance the multi-index by one in row-major order
// and keep any number of strided offsets in step. Returns false after the
// last element. Usage: do { ... } while (it.next());
class Odometer {
 public:
  Odometer(Shape shape, std::vector<std::vector<int64_t>> strides)
      : shape_(std::move(shape)), idx_(shape_.size(), 0), strides_(std::move(strides)),
        off_(strides_.size(), 0) {}
  int64_t offset(size_t k) const { return off_[k]; }
  bool next() {
    for (size_t d = shape_.size(); d-- > 0;) {
      if (++idx_[d] < shape_[d]) {
        for (size_t k = 0; k < off_.size(); ++k) off_[k] += strides_[k][d];
        return true;
      }
      idx_[d] = 0;
      for (size_t k = 0; k < off_.size(); ++k) off_[k] -= strides_[k][d] * (shape_[d] - 1);
    }
    return false;
  }

 private:
  Shape shape_;
  std::vector<int64_t> idx_;
  std::vector<std::vector<int64_t>> strides_;
  std::vector<int64_t> off_;
};

// ---- factories, one per op family (see ref_registry.cpp) ----
std::unique_ptr<Kernel> make_conv(const KernelArgs& a);
std::unique_ptr<Kernel> make_unary(const KernelArgs& a);   // Relu Clip Sigmoid HardSwish HardSigmoid
std::unique_ptr<Kernel> make_binary(const KernelArgs& a);  // Add Sub Mul Div
std::unique_ptr<Kernel> make_global_avg_pool(const KernelArgs& a);
std::unique_ptr<Kernel> make_pool(const KernelArgs& a);    // AveragePool MaxPool
std::unique_ptr<Kernel> make_gemm(const KernelArgs& a);
std::unique_ptr<Kernel> make_matmul(const KernelArgs& a);
std::unique_ptr<Kernel> make_copy(const KernelArgs& a);    // Reshape Identity Relayout
std::unique_ptr<Kernel> make_transpose(const KernelArgs& a);
std::unique_ptr<Kernel> make_concat(const KernelArgs& a);
std::unique_ptr<Kernel> make_softmax(const KernelArgs& a);
std::unique_ptr<Kernel> make_resize(const KernelArgs& a);
// ref_quant.cpp: QuantizeLinear, DequantizeLinear and the integer ops.
std::unique_ptr<Kernel> make_quantize_linear(const KernelArgs& a);
std::unique_ptr<Kernel> make_dequantize_linear(const KernelArgs& a);
std::unique_ptr<Kernel> make_qconv(const KernelArgs& a);
std::unique_ptr<Kernel> make_qbinary(const KernelArgs& a);  // QAdd QMul
std::unique_ptr<Kernel> make_qglobal_avg_pool(const KernelArgs& a);
std::unique_ptr<Kernel> make_qlut(const KernelArgs& a);
std::unique_ptr<Kernel> make_qconcat(const KernelArgs& a);

}  // namespace ref
}  // namespace vedge

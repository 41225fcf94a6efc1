// fast_softmax.cpp: fast Softmax (F32, plain tensors) along any axis, seen
// as [outer, len, inner]: y = exp(x - max) / sum(exp(x - max)), with exp as
// a Cody-Waite + degree-6 polynomial (about 1 ulp) on 8-lane vectors, along
// the row when inner == 1 and across `inner` otherwise. Written by hand
// because XNNPACK's softmax_nc (2022) is slower here, most of all on the
// short rows of detector scores ([N, anchors, 2]).
// Depends on runtime/ops/xnn_util.h (parallel_for), ops/ref.h and
// runtime/fast_math.h (exp8).
#include <cstdint>
#include <cstring>

#include "runtime/error.h"
#include "runtime/fast_math.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

using fast_exp::exp8;
using fast_exp::F8;

// y = exp(y) for y <= 0 (inputs are x - max), about 1 ulp; values below -87
// (the float range) give exp(-87). Eight lanes at a time (fast_math.h), in
// native AVX2 in the x86 clone.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEDGE_X86_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VEDGE_X86_CLONES
#endif

VEDGE_X86_CLONES void exp_inplace(float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    F8 x;
    std::memcpy(&x, y + i, sizeof(x));
    exp8(x);
    std::memcpy(y + i, &x, sizeof(x));
  }
  if (i < n) {
    float tail[8] = {};
    for (int64_t j = i; j < n; ++j) tail[j - i] = y[j];
    F8 x;
    std::memcpy(&x, tail, sizeof(x));
    exp8(x);
    std::memcpy(tail, &x, sizeof(x));
    for (int64_t j = i; j < n; ++j) y[j] = tail[j - i];
  }
}

// Max and sum of a row with 8 interleaved partials, so they vectorize (the
// sum order differs from the reference's by float rounding only).
float row_max(const float* x, int64_t n) {
  const int64_t n8 = n & ~int64_t{7};
  float m[8];
  for (int j = 0; j < 8; ++j) m[j] = x[0];
  for (int64_t k = 0; k < n8; k += 8)
    for (int j = 0; j < 8; ++j) m[j] = std::max(m[j], x[k + j]);
  float r = x[0];
  for (int j = 0; j < 8; ++j) r = std::max(r, m[j]);
  for (int64_t k = n8; k < n; ++k) r = std::max(r, x[k]);
  return r;
}

float row_sum(const float* x, int64_t n) {
  const int64_t n8 = n & ~int64_t{7};
  float s[8] = {};
  for (int64_t k = 0; k < n8; k += 8)
    for (int j = 0; j < 8; ++j) s[j] += x[k + j];
  float r = 0.f;
  for (int j = 0; j < 8; ++j) r += s[j];
  for (int64_t k = n8; k < n; ++k) r += x[k];
  return r;
}

class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(const float* x, float* y, int64_t outer, int64_t len, int64_t inner)
      : x_(x), y_(y), outer_(outer), len_(len), inner_(inner) {}

  void run(ExecContext& ctx) override {
    if (inner_ == 1) {
      parallel_for(ctx.threadpool, outer_, (1 << 13) / len_ + 1,
                   [this](int64_t b, int64_t e) { rows(b, e); });
      return;
    }
    const int64_t blocks = (inner_ + kBlock - 1) / kBlock;
    parallel_for(ctx.threadpool, outer_ * blocks, (1 << 13) / (len_ * kBlock) + 1,
                 [this, blocks](int64_t b, int64_t e) {
                   for (int64_t t = b; t < e; ++t) {
                     const int64_t o = t / blocks, i0 = (t % blocks) * kBlock;
                     column_block(o * len_ * inner_ + i0, std::min(kBlock, inner_ - i0));
                   }
                 });
  }

 private:
  static constexpr int64_t kBlock = 64;

  // Rows [b, e) of a contiguous [outer, len] tensor, in three passes so the
  // exp runs over the whole range at once however short the rows
  // ([anchors, 2] scores): x - row max, exp, scale by 1 / row sum.
  void rows(int64_t b, int64_t e) const {
    for (int64_t o = b; o < e; ++o) {
      const float* x = x_ + o * len_;
      float* y = y_ + o * len_;
      const float mx = row_max(x, len_);
      for (int64_t k = 0; k < len_; ++k) y[k] = x[k] - mx;
    }
    exp_inplace(y_ + b * len_, (e - b) * len_);
    for (int64_t o = b; o < e; ++o) {
      float* y = y_ + o * len_;
      const float inv = 1.f / row_sum(y, len_);
      for (int64_t k = 0; k < len_; ++k) y[k] *= inv;
    }
  }

  // Columns [base, base + n) of one outer slice, n <= kBlock.
  void column_block(int64_t base, int64_t n) const {
    float mx[kBlock], sum[kBlock];
    const float* x = x_ + base;
    float* y = y_ + base;
    for (int64_t i = 0; i < n; ++i) mx[i] = x[i], sum[i] = 0.f;
    for (int64_t k = 1; k < len_; ++k)
      for (int64_t i = 0; i < n; ++i) mx[i] = std::max(mx[i], x[k * inner_ + i]);
    for (int64_t k = 0; k < len_; ++k) {
      float* yk = y + k * inner_;
      for (int64_t i = 0; i < n; ++i) yk[i] = x[k * inner_ + i] - mx[i];
      exp_inplace(yk, n);
      for (int64_t i = 0; i < n; ++i) sum[i] += yk[i];
    }
    for (int64_t i = 0; i < n; ++i) sum[i] = 1.f / sum[i];
    for (int64_t k = 0; k < len_; ++k)
      for (int64_t i = 0; i < n; ++i) y[k * inner_ + i] *= sum[i];
  }

  const float* x_;
  float* y_;
  int64_t outer_, len_, inner_;
};

}  // namespace

std::unique_ptr<Kernel> make_fast_softmax(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &x = a.in[0], &y = a.out[0];
  if (x.dtype != DType::F32 || y.dtype != DType::F32 || !is_plain_layout(x) || !is_plain_layout(y))
    return nullptr;
  ref::check_shape("output", y.shape, x.shape);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = a.node->attrs.get_i("axis", -1);
  VEDGE_CHECK(axis >= 0 && axis < rank, "axis ", axis, " is not in [0, ", rank, ")");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis];
  VEDGE_CHECK(len > 0, "empty softmax axis in ", shape_str(x.shape));
  return std::make_unique<SoftmaxKernel>(x.ptr<const float>(), y.ptr<float>(), outer, len, inner);
}

}  // namespace vedge

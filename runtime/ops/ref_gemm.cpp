// ref_gemm.cpp: reference matrix products (F32).
//   Gemm: Y[M,N] = alpha * A' B' + beta * C, A' = transA ? A^T : A ([M,K]),
//   B' = transB ? B^T : B ([K,N]); optional C broadcast to [M,N] (rank 0-2).
//   MatMul: numpy matmul: 1-D A is [1,K] and 1-D B is [K,1] with that dim
//   dropped from the result; batch dims broadcast.
// Each output sums a[m,k] * b[k,n] over k = 0..K-1 in float, then scales.
// Depends on ops/ref.h only.
#include "runtime/ops/ref.h"

namespace vedge {
namespace ref {
namespace {

class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(const KernelArgs& a)
      : a_(a.in[0].ptr<const float>()), b_(a.in[1].ptr<const float>()),
        y_(a.out[0].ptr<float>()) {
    const Attrs& at = a.node->attrs;
    const Shape& as = a.in[0].shape;
    const Shape& bs = a.in[1].shape;
    VEDGE_CHECK(as.size() == 2 && bs.size() == 2, "A and B must be 2-D, are ", shape_str(as),
                " and ", shape_str(bs));
    const bool ta = at.get_i("transA", 0) != 0, tb = at.get_i("transB", 0) != 0;
    M_ = ta ? as[1] : as[0];
    K_ = ta ? as[0] : as[1];
    N_ = tb ? bs[0] : bs[1];
    const int64_t kb = tb ? bs[1] : bs[0];
    VEDGE_CHECK(kb == K_, "inner dimensions differ: A ", shape_str(as), " B ", shape_str(bs),
                " (transA ", ta, ", transB ", tb, ")");
    check_shape("output", a.out[0].shape, {M_, N_});
    // Element (i, j) of A' is a_[i * ra_ + j * ca_]; the same for B'.
    ra_ = ta ? 1 : K_, ca_ = ta ? M_ : 1;
    rb_ = tb ? 1 : N_, cb_ = tb ? K_ : 1;
    alpha_ = at.get_f("alpha", 1.f);
    beta_ = at.get_f("beta", 1.f);
    if (a.in.size() > 2 && a.in[2].present()) {
      const Shape& cs = a.in[2].shape;
      VEDGE_CHECK(cs.size() <= 2, "C must have rank 0 to 2, is ", shape_str(cs));
      const auto st = broadcast_strides(cs, {M_, N_});
      c_ = a.in[2].ptr<const float>();
      rc_ = st[0], cc_ = st[1];
    }
  }
  void run(ExecContext&) override {
    for (int64_t m = 0; m < M_; ++m)
      for (int64_t n = 0; n < N_; ++n) {
        float acc = 0.f;
        for (int64_t k = 0; k < K_; ++k) acc += a_[m * ra_ + k * ca_] * b_[k * rb_ + n * cb_];
        float y = alpha_ * acc;
        if (c_) y += beta_ * c_[m * rc_ + n * cc_];
        y_[m * N_ + n] = y;
      }
  }

 private:
  const float* a_;
  const float* b_;
  const float* c_ = nullptr;
  float* y_;
  int64_t M_, K_, N_, ra_, ca_, rb_, cb_, rc_ = 0, cc_ = 0;
  float alpha_, beta_;
};

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(const KernelArgs& a)
      : a_(a.in[0].ptr<const float>()), b_(a.in[1].ptr<const float>()),
        y_(a.out[0].ptr<float>()) {
    Shape as = a.in[0].shape, bs = a.in[1].shape;
    VEDGE_CHECK(!as.empty() && !bs.empty(), "MatMul inputs must have rank >= 1");
    const bool a1 = as.size() == 1, b1 = bs.size() == 1;
    if (a1) as.insert(as.begin(), 1);
    if (b1) bs.push_back(1);
    M_ = as[as.size() - 2], K_ = as.back(), N_ = bs.back();
    VEDGE_CHECK(bs[bs.size() - 2] == K_, "inner dimensions differ: ", shape_str(a.in[0].shape),
                " x ", shape_str(a.in[1].shape));
    const Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    batch_ = broadcast_shape(ba, bb);
    Shape want = batch_;
    if (!a1) want.push_back(M_);
    if (!b1) want.push_back(N_);
    check_shape("output", a.out[0].shape, want);
    // Batch strides in units of whole matrices.
    sa_ = broadcast_strides(ba, batch_);
    sb_ = broadcast_strides(bb, batch_);
    for (auto& s : sa_) s *= M_ * K_;
    for (auto& s : sb_) s *= K_ * N_;
  }
  void run(ExecContext&) override {
    if (numel(batch_) == 0) return;
    Odometer it(batch_, {sa_, sb_});
    float* y = y_;
    do {
      const float* a = a_ + it.offset(0);
      const float* b = b_ + it.offset(1);
      for (int64_t m = 0; m < M_; ++m)
        for (int64_t n = 0; n < N_; ++n) {
          float acc = 0.f;
          for (int64_t k = 0; k < K_; ++k) acc += a[m * K_ + k] * b[k * N_ + n];
          *y++ = acc;
        }
    } while (it.next());
  }

 private:
  const float* a_;
  const float* b_;
  float* y_;
  int64_t M_, K_, N_;
  Shape batch_;
  std::vector<int64_t> sa_, sb_;
};

}  // namespace

std::unique_ptr<Kernel> make_gemm(const KernelArgs& a) {
  check_arity(a, 2, 3, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<GemmKernel>(a);
}

std::unique_ptr<Kernel> make_matmul(const KernelArgs& a) {
  check_arity(a, 2, 2, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<MatMulKernel>(a);
}

}  // namespace ref
}  // namespace vedge

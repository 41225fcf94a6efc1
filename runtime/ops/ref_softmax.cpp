// ref_softmax.cpp: reference Softmax (F32) along one axis (attr axis,
// non-negative; the importer rewrites opset < 13 "coerce to 2-D" forms).
// Numerically stable: y = exp(x - max) / sum(exp(x - max)), the sum taken in
// float in index order along the axis.
// Depends on ops/ref.h only.
#include "runtime/ops/ref.h"

namespace vedge {
namespace ref {
namespace {

class SoftmaxKernel : public Kernel {
 public:
  explicit SoftmaxKernel(const KernelArgs& a)
      : x_(a.in[0].ptr<const float>()), y_(a.out[0].ptr<float>()) {
    const Shape& xs = a.in[0].shape;
    check_shape("output", a.out[0].shape, xs);
    const int64_t axis = a.node->attrs.get_i("axis", -1);
    VEDGE_CHECK(axis >= 0 && axis < static_cast<int64_t>(xs.size()), "axis ", axis,
                " is not in [0, ", xs.size(), ")");
    outer_ = inner_ = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= xs[d];
    for (size_t d = axis + 1; d < xs.size(); ++d) inner_ *= xs[d];
    len_ = xs[axis];
  }
  void run(ExecContext&) override {
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t i = 0; i < inner_; ++i) {
        const float* x = x_ + o * len_ * inner_ + i;
        float* y = y_ + o * len_ * inner_ + i;
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t k = 0; k < len_; ++k) mx = std::max(mx, x[k * inner_]);
        float sum = 0.f;
        for (int64_t k = 0; k < len_; ++k) {
          y[k * inner_] = std::exp(x[k * inner_] - mx);
          sum += y[k * inner_];
        }
        for (int64_t k = 0; k < len_; ++k) y[k * inner_] /= sum;
      }
  }

 private:
  const float* x_;
  float* y_;
  int64_t outer_ = 0, inner_ = 0, len_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_softmax(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<SoftmaxKernel>(a);
}

}  // namespace ref
}  // namespace vedge

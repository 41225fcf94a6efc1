// fast_quant_concat.cpp: fast QConcat (int8 inputs, each with its own
// per-tensor parameters, into an int8 output along any axis, any strides).
// An input whose scale and zero point equal the output's is a plain strided
// byte copy (StridedCopy); any other is requantized element by element with
// qrescale() (runtime/quant_math.h, shared with the reference kernel) over a
// simplified loop nest, split across the pthreadpool (with an AVX2 clone of
// the loop on x86-64). Allocation-free run().
// Depends on runtime/ops/xnn_util.h and ops/fast_quant.h.
#include <vector>

#include "runtime/error.h"
#include "runtime/ops/fast_quant.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

constexpr int64_t kGrain = 1 << 14;

// One row: by-value arguments so that the int8 stores (which may alias
// anything) do not force reloads and the contiguous case vectorizes.
// Inlined into a baseline and an AVX2 clone (fast_quant.h).
__attribute__((always_inline)) inline void rescale_body(int8_t* y, const int8_t* x, int64_t len, int64_t sd,
                                                        int64_t ss, int zi, float m, int zy) {
  if (sd == 1 && ss == 1) {
    for (int64_t i = 0; i < len; ++i) y[i] = qrescale(x[i], zi, m, zy);
  } else {
    for (int64_t i = 0; i < len; ++i) y[i * sd] = qrescale(x[i * ss], zi, m, zy);
  }
}
void rescale_row(int8_t* y, const int8_t* x, int64_t len, int64_t sd, int64_t ss, int zi, float m, int zy) {
  rescale_body(y, x, len, sd, ss, zi, m, zy);
}
#if VEDGE_HAVE_AVX2_CLONES
VEDGE_AVX2 void rescale_row_avx2(int8_t* y, const int8_t* x, int64_t len, int64_t sd, int64_t ss, int zi, float m,
                                 int zy) {
  rescale_body(y, x, len, sd, ss, zi, m, zy);
}
#endif

// dst = qrescale(src) over a loop nest (operand 0 = dst, 1 = src).
struct Rescale {
  LoopNest nest;
  const int8_t* src = nullptr;
  int8_t* dst = nullptr;
  int zi = 0, zy = 0;
  float m = 1.f;
  bool avx2 = false;

  void run(pthreadpool_t pool) const {
    const int inner = nest.rank() - 1;
    const int64_t len = nest.size[inner];
    int64_t rows = 1;
    for (int d = 0; d < inner; ++d) rows *= nest.size[d];
    const int64_t sd = nest.stride[0][inner], ss = nest.stride[1][inner];
    parallel_for(pool, rows, kGrain / len + 1, [&](int64_t b, int64_t e) {
      NestCursor c(nest, inner, b);
      for (int64_t r = b; r < e; ++r, c.next()) {
#if VEDGE_HAVE_AVX2_CLONES
        if (avx2) {
          rescale_row_avx2(dst + c.off[0], src + c.off[1], len, sd, ss, zi, m, zy);
          continue;
        }
#endif
        rescale_row(dst + c.off[0], src + c.off[1], len, sd, ss, zi, m, zy);
      }
    });
  }
};

class QConcatKernel : public Kernel {
 public:
  QConcatKernel(std::vector<StridedCopy> copies, std::vector<Rescale> rescales)
      : copies_(std::move(copies)), rescales_(std::move(rescales)) {}
  void run(ExecContext& ctx) override {
    for (const StridedCopy& c : copies_) c.run(ctx.threadpool);
    for (const Rescale& r : rescales_) r.run(ctx.threadpool);
  }

 private:
  std::vector<StridedCopy> copies_;
  std::vector<Rescale> rescales_;
};

}  // namespace

// Input i lands at offset sum(shape_j[axis], j < i) along `axis`.
std::unique_ptr<Kernel> make_fast_qconcat(const KernelArgs& a) {
  VEDGE_CHECK(!a.in.empty() && a.out.size() == 1, "expects inputs and 1 output");
  const TensorRef& out = a.out[0];
  if (out.dtype != DType::I8) return nullptr;
  for (const TensorRef& in : a.in)
    if (in.dtype != DType::I8) return nullptr;
  const int64_t rank = static_cast<int64_t>(out.shape.size());
  const int64_t axis = a.node->attrs.get_i("axis", 0);
  VEDGE_CHECK(axis >= 0 && axis < rank, "axis ", axis, " out of range for rank ", rank);
  VEDGE_CHECK(out.strides.size() == out.shape.size(), "strides do not match the rank");
  fq::TensorQuant qy;
  if (!fq::per_tensor(a, true, 0, &qy)) return nullptr;
  std::vector<StridedCopy> copies;
  std::vector<Rescale> rescales;
  int64_t offset = 0;
  for (size_t i = 0; i < a.in.size(); ++i) {
    const TensorRef& in = a.in[i];
    VEDGE_CHECK(static_cast<int64_t>(in.shape.size()) == rank && in.strides.size() == in.shape.size(),
                "input rank differs from the output's");
    for (int64_t d = 0; d < rank; ++d)
      VEDGE_CHECK(d == axis || in.shape[d] == out.shape[d], "input ", shape_str(in.shape), " does not fit output ",
                  shape_str(out.shape));
    fq::TensorQuant qi;
    if (!fq::per_tensor(a, false, i, &qi)) return nullptr;
    if (in.shape[axis] == 0) continue;
    int8_t* dst = out.ptr<int8_t>() + offset * out.strides[axis];
    if (qi.scale == qy.scale && qi.zp == qy.zp) {
      copies.emplace_back(in.shape, 1, in.data, in.strides, dst, out.strides);
    } else {
      Rescale r;
      r.nest = make_loop_nest(in.shape, {out.strides, in.strides});
      r.src = in.ptr<const int8_t>();
      r.dst = dst;
      r.zi = qi.zp;
      r.zy = qy.zp;
      r.m = qconcat_multiplier(qi.scale, qy.scale);
      r.avx2 = fq::use_avx2();
      rescales.push_back(std::move(r));
    }
    offset += in.shape[axis];
  }
  VEDGE_CHECK(offset == out.shape[axis], "inputs add up to ", offset, " along axis ", axis,
              " but the output has ", out.shape[axis]);
  return std::make_unique<QConcatKernel>(std::move(copies), std::move(rescales));
}

}  // namespace vedge

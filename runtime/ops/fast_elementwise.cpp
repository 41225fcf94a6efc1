// fast_elementwise.cpp: fast element-wise kernels (F32).
//   Unary: Relu, Clip (XNNPACK clamp), Sigmoid, HardSwish (XNNPACK),
//   HardSigmoid (own loop). The tensor is dense and the output has the
//   input's strides, so both are one flat array; in place is allowed.
//   Binary: Add, Sub, Mul, Div with numpy broadcasting. When both inputs are
//   laid out in the output's physical dim order (e.g. NHWC [N,H,W,C] times an
//   SE vector [N,1,1,C]) XNNPACK's N-D operator runs on the physical shapes;
//   otherwise a strided loop over a simplified loop nest.
// Depends on runtime/ops/xnn_util.h, ops/ref.h (scalar formulas, attribute
// conventions) and runtime/layout.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"
#include "runtime/layout.h"
#include "runtime/ops/binary_row.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kGrain = 1 << 14;  // elements per thread task at least

void check_flat_unary(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &in = a.in[0], &out = a.out[0];
  VEDGE_CHECK(in.shape == out.shape, "output shape ", shape_str(out.shape), " differs from input ",
              shape_str(in.shape));
  bool same = in.strides.size() == in.shape.size() && out.strides.size() == in.shape.size();
  for (size_t d = 0; same && d < in.shape.size(); ++d)
    same = in.shape[d] == 1 || in.strides[d] == out.strides[d];
  VEDGE_CHECK(same && is_dense(in.shape, in.strides), "input and output must share one dense layout");
}

// Element-wise y = f(x) on a flat array, own loop (HardSigmoid, and Clip
// bounds XNNPACK rejects).
template <class F>
class FlatUnaryKernel : public Kernel {
 public:
  FlatUnaryKernel(const float* x, float* y, int64_t n, F f) : x_(x), y_(y), n_(n), f_(f) {}
  void run(ExecContext& ctx) override {
    parallel_for(ctx.threadpool, n_, kGrain, [this](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y_[i] = f_(x_[i]);
    });
  }

 private:
  const float* x_;
  float* y_;
  int64_t n_;
  F f_;
};

template <class F>
std::unique_ptr<Kernel> make_flat(const float* x, float* y, int64_t n, F f) {
  return std::make_unique<FlatUnaryKernel<F>>(x, y, n, f);
}

}  // namespace

std::unique_ptr<Kernel> make_fast_unary(const KernelArgs& a) {
  check_flat_unary(a);
  const TensorRef &in = a.in[0], &out = a.out[0];
  if (in.dtype != DType::F32 || out.dtype != DType::F32) return nullptr;
  const Node& node = *a.node;
  const float* x = in.ptr<const float>();
  float* y = out.ptr<float>();
  const int64_t n = in.numel();
  if (node.op == "HardSigmoid") {
    const float alpha = node.attrs.get_f("alpha", 0.2f), beta = node.attrs.get_f("beta", 0.5f);
    return make_flat(x, y, n, [alpha, beta](float v) { return ref::hard_sigmoid(v, alpha, beta); });
  }
  float lo = -kInf, hi = kInf;
  if (node.op == "Relu") lo = 0.f;
  if (node.op == "Clip") {
    lo = node.attrs.get_f("min", -kInf);
    hi = node.attrs.get_f("max", kInf);
    if (!(lo < hi))  // XNNPACK wants lo < hi; ONNX gives max when min >= max
      return make_flat(x, y, n, [lo, hi](float v) { return ref::clip(v, lo, hi); });
  }
  ensure_xnnpack();
  XnnOp op;
  pthreadpool_t pool = a.ctx ? a.ctx->threadpool : nullptr;
  // One "row" of n channels: XNNPACK treats it as one contiguous vector.
  const size_t c = static_cast<size_t>(std::max<int64_t>(n, 1));
  if (node.op == "Relu" || node.op == "Clip") {
    xnn_check(xnn_create_clamp_nc_f32(c, c, c, lo, hi, 0, op.out()), "create clamp");
    xnn_check(xnn_setup_clamp_nc_f32(op.get(), n > 0 ? 1 : 0, x, y, pool), "setup clamp");
  } else if (node.op == "Sigmoid") {
    xnn_check(xnn_create_sigmoid_nc_f32(c, c, c, 0, op.out()), "create sigmoid");
    xnn_check(xnn_setup_sigmoid_nc_f32(op.get(), n > 0 ? 1 : 0, x, y, pool), "setup sigmoid");
  } else if (node.op == "HardSwish") {
    xnn_check(xnn_create_hardswish_nc_f32(c, c, c, 0, op.out()), "create hardswish");
    xnn_check(xnn_setup_hardswish_nc_f32(op.get(), n > 0 ? 1 : 0, x, y, pool), "setup hardswish");
  } else {
    fail("op ", node.op, " is not a unary element-wise op");
  }
  return std::make_unique<XnnKernel>(node_label(a), std::move(op));
}

// ---------------------------------------------------------------- binary

namespace {

enum class BinOp { Add, Sub, Mul, Div };

struct AddF {
  float operator()(float p, float q) const { return p + q; }
};
struct SubF {
  float operator()(float p, float q) const { return p - q; }
};
struct MulF {
  float operator()(float p, float q) const { return p * q; }
};
struct DivF {
  float operator()(float p, float q) const { return p / q; }
};

// XNNPACK N-D binary operator on the physical shapes.
// Strided loop: operand 0 = output, 1 = A, 2 = B (broadcast strides).
template <class F>
class StridedBinaryKernel : public Kernel {
 public:
  StridedBinaryKernel(LoopNest nest, const float* pa, const float* pb, float* y)
      : n_(std::move(nest)), a_(pa), b_(pb), y_(y) {}

  void run(ExecContext& ctx) override {
    const int inner = n_.rank() - 1;
    const int64_t len = n_.size[inner];
    int64_t rows = 1;
    for (int d = 0; d < inner; ++d) rows *= n_.size[d];
    const int64_t sy = n_.stride[0][inner], sa = n_.stride[1][inner], sb = n_.stride[2][inner];
    parallel_for(ctx.threadpool, rows, kGrain / len + 1, [&](int64_t b, int64_t e) {
      NestCursor c(n_, inner, b);
      for (int64_t r = b; r < e; ++r, c.next()) {
        float* y = y_ + c.off[0];
        const float* pa = a_ + c.off[1];
        const float* pb = b_ + c.off[2];
        binary_row_body(y, pa, pb, len, sy, sa, sb, f_);
      }
    });
  }

 private:
  LoopNest n_;
  const float* a_;
  const float* b_;
  float* y_;
  F f_;
};

// If `in` (broadcast to the output's rank) is a dense row-major tensor when
// its dims are read in the output's physical order `perm`, returns its shape
// in that order; otherwise an empty vector.
std::vector<size_t> physical_shape(const TensorRef& in, const Shape& out_shape,
                                   const std::vector<int>& perm) {
  const std::vector<int64_t> st = broadcast_strides(in, out_shape);
  const size_t off = out_shape.size() - in.shape.size();
  std::vector<size_t> phys(perm.size());
  int64_t expect = 1;
  for (size_t k = perm.size(); k-- > 0;) {
    const size_t d = static_cast<size_t>(perm[k]);
    const int64_t size = d >= off ? in.shape[d - off] : 1;
    phys[k] = static_cast<size_t>(size);
    if (size == 1) continue;
    if (st[d] != expect) return {};
    expect *= size;
  }
  return phys;
}

}  // namespace

std::unique_ptr<Kernel> make_fast_binary(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 2 && a.out.size() == 1, "expects 2 inputs and 1 output");
  const TensorRef &ta = a.in[0], &tb = a.in[1], &out = a.out[0];
  if (ta.dtype != DType::F32 || tb.dtype != DType::F32 || out.dtype != DType::F32) return nullptr;
  const Node& node = *a.node;
  BinOp op;
  if (node.op == "Add")
    op = BinOp::Add;
  else if (node.op == "Sub")
    op = BinOp::Sub;
  else if (node.op == "Mul")
    op = BinOp::Mul;
  else if (node.op == "Div")
    op = BinOp::Div;
  else
    fail("op ", node.op, " is not a binary element-wise op");
  const Shape& ys = out.shape;
  VEDGE_CHECK(ref::broadcast_shape(ta.shape, tb.shape) == ys, "inputs ", shape_str(ta.shape), " and ",
              shape_str(tb.shape), " do not broadcast to the output ", shape_str(ys));
  VEDGE_CHECK(ta.strides.size() == ta.shape.size() && tb.strides.size() == tb.shape.size() &&
                  out.strides.size() == ys.size(),
              "strides do not match the rank");
  VEDGE_CHECK(is_dense(ys, out.strides), "output must be dense (plain or NHWC)");

  // The output's physical dim order, outermost first; size-1 dims keep
  // their logical place (their stride says nothing).
  std::vector<int> perm(ys.size()), big;
  for (size_t d = 0; d < ys.size(); ++d)
    if (ys[d] != 1) big.push_back(static_cast<int>(d));
  std::stable_sort(big.begin(), big.end(), [&](int p, int q) { return out.strides[p] > out.strides[q]; });
  for (size_t d = 0, k = 0; d < ys.size(); ++d) perm[d] = ys[d] == 1 ? static_cast<int>(d) : big[k++];
  std::vector<size_t> pa = physical_shape(ta, ys, perm), pb = physical_shape(tb, ys, perm);
  // XNNPACK takes at most XNN_MAX_TENSOR_DIMS dims: drop dims that are 1 everywhere.
  if (!pa.empty() && !pb.empty()) {
    std::vector<size_t> ra, rb;
    for (size_t k = 0; k < pa.size(); ++k)
      if (pa[k] != 1 || pb[k] != 1) {
        ra.push_back(pa[k]);
        rb.push_back(pb[k]);
      }
    if (ra.empty()) ra = rb = {1};
    pa = std::move(ra);
    pb = std::move(rb);
  }
  if (!pa.empty() && !pb.empty() && pa.size() <= XNN_MAX_TENSOR_DIMS && out.numel() > 0) {
    ensure_xnnpack();
    pthreadpool_t pool = a.ctx ? a.ctx->threadpool : nullptr;
    XnnOp xop;
    const float* x0 = ta.ptr<const float>();
    const float* x1 = tb.ptr<const float>();
    float* y = out.ptr<float>();
    const size_t r = pa.size();
    switch (op) {
      case BinOp::Add:
        xnn_check(xnn_create_add_nd_f32(-kInf, kInf, 0, xop.out()), "create add");
        xnn_check(xnn_setup_add_nd_f32(xop.get(), r, pa.data(), r, pb.data(), x0, x1, y, pool), "setup add");
        break;
      case BinOp::Sub:
        xnn_check(xnn_create_subtract_nd_f32(-kInf, kInf, 0, xop.out()), "create subtract");
        xnn_check(xnn_setup_subtract_nd_f32(xop.get(), r, pa.data(), r, pb.data(), x0, x1, y, pool),
                  "setup subtract");
        break;
      case BinOp::Mul:
        xnn_check(xnn_create_multiply_nd_f32(-kInf, kInf, 0, xop.out()), "create multiply");
        xnn_check(xnn_setup_multiply_nd_f32(xop.get(), r, pa.data(), r, pb.data(), x0, x1, y, pool),
                  "setup multiply");
        break;
      case BinOp::Div:
        xnn_check(xnn_create_divide_nd_f32(-kInf, kInf, 0, xop.out()), "create divide");
        xnn_check(xnn_setup_divide_nd_f32(xop.get(), r, pa.data(), r, pb.data(), x0, x1, y, pool),
                  "setup divide");
        break;
    }
    return std::make_unique<XnnKernel>(node_label(a), std::move(xop));
  }

  LoopNest nest = make_loop_nest(ys, {out.strides, broadcast_strides(ta, ys), broadcast_strides(tb, ys)});
  const float* x0 = ta.ptr<const float>();
  const float* x1 = tb.ptr<const float>();
  float* y = out.ptr<float>();
  switch (op) {
    case BinOp::Add:
      return std::make_unique<StridedBinaryKernel<AddF>>(std::move(nest), x0, x1, y);
    case BinOp::Sub:
      return std::make_unique<StridedBinaryKernel<SubF>>(std::move(nest), x0, x1, y);
    case BinOp::Mul:
      return std::make_unique<StridedBinaryKernel<MulF>>(std::move(nest), x0, x1, y);
    case BinOp::Div:
      return std::make_unique<StridedBinaryKernel<DivF>>(std::move(nest), x0, x1, y);
  }
  return nullptr;
}

}  // namespace vedge

// fast_quant_elementwise.cpp: fast element-wise integer kernels, own loops
// that the compiler vectorizes, split across the pthreadpool for large
// tensors, allocation-free in run():
//   QuantizeLinear   F32 -> I8/U8, per-tensor (ONNX: x / scale, round half
//                    to even, saturate);
//   DequantizeLinear I8/U8 -> F32, per-tensor;
//   QLut             I8 -> I8 through the node's 256-entry table;
//   QAdd, QMul       I8 x I8 -> I8 with numpy broadcasting over any strides
//                    (e.g. the SE block's NHWC [N,C,H,W] * [N,C,1,1]).
// On x86-64 the loops also have an AVX2 clone (fast_quant.h), chosen at
// kernel creation when the CPU has AVX2, and QLut an AVX-512 VBMI version
// (64 table lookups per VPERMI2B pair) when the CPU has it.
// Unary kernels need input and output in one dense layout (the executor
// gives the output the input's layout). Per-axis Q/DQ, a missing zero point
// and integer dtypes other than these return nullptr (the reference kernel
// runs).
// Numerics: runtime/quant_math.h, shared with the reference kernels.
// Depends on runtime/ops/xnn_util.h (loop nest, parallel_for), fast_quant.h,
// ops/ref.h and runtime/layout.h.
#include <array>
#include <cmath>
#include <cstring>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "runtime/error.h"
#include "runtime/layout.h"
#include "runtime/ops/binary_row.h"
#include "runtime/ops/fast_quant.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per thread task at least

void check_flat_unary(const TensorRef& in, const TensorRef& out) {
  VEDGE_CHECK(in.shape == out.shape, "output shape ", shape_str(out.shape), " differs from input ",
              shape_str(in.shape));
  bool same = in.strides.size() == in.shape.size() && out.strides.size() == in.shape.size();
  for (size_t d = 0; same && d < in.shape.size(); ++d) same = in.shape[d] == 1 || in.strides[d] == out.strides[d];
  VEDGE_CHECK(same && is_dense(in.shape, in.strides), "input and output must share one dense layout");
}

// y[i] = f(x[i]) for i in [b, e); by-value arguments so that the 8-bit
// stores (which may alias anything) force no reloads. Inlined into a
// baseline and an AVX2 clone.
template <class In, class Out, class F>
__attribute__((always_inline)) inline void flat_body(const In* x, Out* y, int64_t b, int64_t e, const F f) {
  for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
}
template <class In, class Out, class F>
void flat_loop(const In* x, Out* y, int64_t b, int64_t e, const F f) {
  flat_body(x, y, b, e, f);
}
#if VEDGE_HAVE_AVX2_CLONES
template <class In, class Out, class F>
VEDGE_AVX2 void flat_loop_avx2(const In* x, Out* y, int64_t b, int64_t e, const F f) {
  flat_body(x, y, b, e, f);
}
#endif

// y[i] = f(x[i]) over a flat array.
template <class In, class Out, class F>
class FlatKernel : public Kernel {
 public:
  FlatKernel(const In* x, Out* y, int64_t n, F f) : x_(x), y_(y), n_(n), f_(f), avx2_(fq::use_avx2()) {}
  void run(ExecContext& ctx) override {
    parallel_for(ctx.threadpool, n_, kGrain, [this](int64_t b, int64_t e) {
#if VEDGE_HAVE_AVX2_CLONES
      if (avx2_) return flat_loop_avx2(x_, y_, b, e, f_);
#endif
      flat_loop(x_, y_, b, e, f_);
    });
  }

 private:
  const In* x_;
  Out* y_;
  int64_t n_;
  F f_;
  bool avx2_;
};

template <class In, class Out, class F>
std::unique_ptr<Kernel> make_flat(const TensorRef& in, const TensorRef& out, F f) {
  return std::make_unique<FlatKernel<In, Out, F>>(in.ptr<const In>(), out.ptr<Out>(), in.numel(), f);
}

// Scale and zero point of a per-tensor Q/DQ of integer type `t` from its
// constant inputs 1 and 2; false when per-axis, not constant, the zero point
// is absent or of another type, or the scale is not positive and finite
// (the reference kernel then runs, or reports the problem).
bool qdq_params(const KernelArgs& a, DType t, float* scale, int* zp) {
  if (a.in.size() != 3 || !a.in[1].present() || !input_is_constant(a, 1) || a.in[1].dtype != DType::F32 ||
      a.in[1].numel() != 1 || a.node->attrs.has("axis"))
    return false;
  *scale = *a.in[1].ptr<const float>();
  const TensorRef& z = a.in[2];
  if (!z.present() || !input_is_constant(a, 2) || z.numel() != 1 || z.dtype != t) return false;
  *zp = t == DType::I8 ? *z.ptr<const int8_t>() : *z.ptr<const uint8_t>();
  return std::isfinite(*scale) && *scale > 0.f;
}

}  // namespace

std::unique_ptr<Kernel> make_fast_quantize(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() >= 2 && a.in.size() <= 3 && a.out.size() == 1, "expects X, scale, [zero_point] and 1 output");
  const TensorRef &in = a.in[0], &out = a.out[0];
  float scale = 1.f;
  int zp = 0;
  if (in.dtype != DType::F32 || (out.dtype != DType::I8 && out.dtype != DType::U8) ||
      !qdq_params(a, out.dtype, &scale, &zp))
    return nullptr;
  check_flat_unary(in, out);
  if (out.dtype == DType::I8)
    return make_flat<float, int8_t>(in, out, [scale, zp](float v) { return quantize(v, scale, zp); });
  return make_flat<float, uint8_t>(
      in, out, [scale, zp](float v) { return static_cast<uint8_t>(quantize_to(v, scale, zp, 0, 255)); });
}

std::unique_ptr<Kernel> make_fast_dequantize(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() >= 2 && a.in.size() <= 3 && a.out.size() == 1, "expects X, scale, [zero_point] and 1 output");
  const TensorRef &in = a.in[0], &out = a.out[0];
  float scale = 1.f;
  int zp = 0;
  if ((in.dtype != DType::I8 && in.dtype != DType::U8) || out.dtype != DType::F32 ||
      !qdq_params(a, in.dtype, &scale, &zp))
    return nullptr;
  check_flat_unary(in, out);
  auto f = [scale, zp](int v) { return dequantize(v, scale, zp); };
  if (in.dtype == DType::I8) return make_flat<int8_t, float>(in, out, f);
  return make_flat<uint8_t, float>(in, out, f);
}

namespace {

#if VEDGE_HAVE_AVX2_CLONES
// y = table[x + 128] for 64 elements per step: two VPERMI2B lookups (table
// entries 0-127 and 128-255, indexed by the low 7 bits of x + 128) and a
// blend on the index's top bit. The tail uses masked loads and stores.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lut_avx512vbmi(const int8_t* x, int8_t* y, int64_t b,
                                                                            int64_t e, const int8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t i = b; i < e; i += 64) {
    const __mmask64 k = e - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (e - i)) - 1;
    const __m512i idx = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, x + i), flip);
    const __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, idx, t3);
    _mm512_mask_storeu_epi8(y + i, k, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
  }
}
bool use_avx512vbmi() {
  static const bool yes = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  return yes;
}
#endif

class LutKernel : public Kernel {
 public:
  LutKernel(const int8_t* x, int8_t* y, int64_t n, const std::array<int8_t, 256>& table)
      : x_(x), y_(y), n_(n), table_(table) {
#if VEDGE_HAVE_AVX2_CLONES
    vbmi_ = use_avx512vbmi();
#endif
  }
  void run(ExecContext& ctx) override {
    parallel_for(ctx.threadpool, n_, kGrain, [this](int64_t b, int64_t e) {
#if VEDGE_HAVE_AVX2_CLONES
      if (vbmi_) return lut_avx512vbmi(x_, y_, b, e, table_.data());
#endif
      const int8_t* x = x_;
      int8_t* y = y_;
      const int8_t* t = table_.data();
      for (int64_t i = b; i < e; ++i) y[i] = t[static_cast<uint8_t>(x[i]) ^ 0x80u];
    });
  }

 private:
  const int8_t* x_;
  int8_t* y_;
  int64_t n_;
  alignas(64) std::array<int8_t, 256> table_;
  bool vbmi_ = false;
};

}  // namespace

std::unique_ptr<Kernel> make_fast_qlut(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &in = a.in[0], &out = a.out[0];
  if (in.dtype != DType::I8 || out.dtype != DType::I8) return nullptr;
  check_flat_unary(in, out);
  const std::vector<int64_t> t = a.node->attrs.get_ints("table");
  VEDGE_CHECK(t.size() == 256, "attribute 'table' has ", t.size(), " entries, expected 256");
  std::array<int8_t, 256> table{};
  for (size_t i = 0; i < 256; ++i) {
    VEDGE_CHECK(t[i] >= kQMinI8 && t[i] <= kQMaxI8, "table entry ", i, " (", t[i], ") is outside [-128, 127]");
    table[i] = static_cast<int8_t>(t[i]);
  }
  return std::make_unique<LutKernel>(in.ptr<const int8_t>(), out.ptr<int8_t>(), in.numel(), table);
}

// ------------------------------------------------------------ QAdd, QMul

namespace {

struct AddOp {
  QAddParams p;
  int8_t operator()(int8_t x, int8_t y) const { return qadd(x, y, p); }
};
struct MulOp {
  QMulParams p;
  int8_t operator()(int8_t x, int8_t y) const { return qmul(x, y, p); }
};

template <class F>
void binary_row(int8_t* y, const int8_t* pa, const int8_t* pb, int64_t len, int64_t sy, int64_t sa, int64_t sb,
                const F f) {
  binary_row_body(y, pa, pb, len, sy, sa, sb, f);
}
#if VEDGE_HAVE_AVX2_CLONES
template <class F>
VEDGE_AVX2 void binary_row_avx2(int8_t* y, const int8_t* pa, const int8_t* pb, int64_t len, int64_t sy, int64_t sa,
                                int64_t sb, const F f) {
  binary_row_body(y, pa, pb, len, sy, sa, sb, f);
}
#endif

// Strided loop: operand 0 = output, 1 = A, 2 = B (broadcast strides).
template <class F>
class QBinaryKernel : public Kernel {
 public:
  QBinaryKernel(LoopNest nest, const int8_t* pa, const int8_t* pb, int8_t* y, F f)
      : n_(std::move(nest)), a_(pa), b_(pb), y_(y), f_(f), avx2_(fq::use_avx2()) {}

  void run(ExecContext& ctx) override {
    const int inner = n_.rank() - 1;
    const int64_t len = n_.size[inner];
    int64_t rows = 1;
    for (int d = 0; d < inner; ++d) rows *= n_.size[d];
    const int64_t sy = n_.stride[0][inner], sa = n_.stride[1][inner], sb = n_.stride[2][inner];
    parallel_for(ctx.threadpool, rows, kGrain / len + 1, [&](int64_t b, int64_t e) {
      NestCursor c(n_, inner, b);
      for (int64_t r = b; r < e; ++r, c.next()) {
#if VEDGE_HAVE_AVX2_CLONES
        if (avx2_) {
          binary_row_avx2(y_ + c.off[0], a_ + c.off[1], b_ + c.off[2], len, sy, sa, sb, f_);
          continue;
        }
#endif
        binary_row(y_ + c.off[0], a_ + c.off[1], b_ + c.off[2], len, sy, sa, sb, f_);
      }
    });
  }

 private:
  LoopNest n_;
  const int8_t* a_;
  const int8_t* b_;
  int8_t* y_;
  F f_;
  bool avx2_;
};

}  // namespace

std::unique_ptr<Kernel> make_fast_qbinary(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 2 && a.out.size() == 1, "expects 2 inputs and 1 output");
  const TensorRef &ta = a.in[0], &tb = a.in[1], &out = a.out[0];
  if (ta.dtype != DType::I8 || tb.dtype != DType::I8 || out.dtype != DType::I8) return nullptr;
  const Node& node = *a.node;
  VEDGE_CHECK(node.op == "QAdd" || node.op == "QMul", "op ", node.op, " is not QAdd or QMul");
  const Shape& ys = out.shape;
  VEDGE_CHECK(ref::broadcast_shape(ta.shape, tb.shape) == ys, "inputs ", shape_str(ta.shape), " and ",
              shape_str(tb.shape), " do not broadcast to the output ", shape_str(ys));
  VEDGE_CHECK(ta.strides.size() == ta.shape.size() && tb.strides.size() == tb.shape.size() &&
                  out.strides.size() == ys.size(),
              "strides do not match the rank");
  VEDGE_CHECK(is_dense(ys, out.strides), "output must be dense (plain or NHWC)");
  fq::TensorQuant qa, qb, qy;
  if (!fq::per_tensor(a, false, 0, &qa) || !fq::per_tensor(a, false, 1, &qb) || !fq::per_tensor(a, true, 0, &qy))
    return nullptr;
  int qmin = 0, qmax = 0;
  if (!fq::activation_range(node.attrs, qy, &qmin, &qmax)) return nullptr;
  LoopNest nest = make_loop_nest(ys, {out.strides, broadcast_strides(ta, ys), broadcast_strides(tb, ys)});
  const int8_t* x0 = ta.ptr<const int8_t>();
  const int8_t* x1 = tb.ptr<const int8_t>();
  int8_t* y = out.ptr<int8_t>();
  if (node.op == "QAdd") {
    AddOp f{qadd_params(qa.scale, qa.zp, qb.scale, qb.zp, qy.scale, qy.zp, qmin, qmax)};
    return std::make_unique<QBinaryKernel<AddOp>>(std::move(nest), x0, x1, y, f);
  }
  MulOp f{qmul_params(qa.scale, qa.zp, qb.scale, qb.zp, qy.scale, qy.zp, qmin, qmax)};
  return std::make_unique<QBinaryKernel<MulOp>>(std::move(nest), x0, x1, y, f);
}

}  // namespace vedge

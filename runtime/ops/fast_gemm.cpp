// fast_gemm.cpp: fast matrix products (F32, plain tensors) on XNNPACK's
// fully-connected operator, for the forms a detector's classifier or a
// flattened head uses:
//   Gemm:   A [M,K] (transA = 0), constant B (either transB), optional
//           constant C that broadcasts along rows ([N], [1,N], scalar);
//           alpha is folded into the weights and beta into the bias.
//   MatMul: A [..., K] times a constant 2-D B [K,N].
// Other forms return nullptr and the executor uses the reference kernel.
// Depends on runtime/ops/xnn_util.h and ops/ref.h.
#include <limits>
#include <vector>

#include "runtime/error.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

// y[batch, N] = x[batch, K] * w^T + bias, w given as [N, K].
std::unique_ptr<Kernel> make_fc(const KernelArgs& a, int64_t batch, int64_t K, int64_t N,
                                const std::vector<float>& w_nk, const std::vector<float>* bias) {
  ensure_xnnpack();
  const float inf = std::numeric_limits<float>::infinity();
  XnnOp op;
  const size_t k = static_cast<size_t>(K), n = static_cast<size_t>(N);
  xnn_check(xnn_create_fully_connected_nc_f32(k, n, k, n, w_nk.data(), bias ? bias->data() : nullptr, -inf,
                                              inf, 0, op.out()),
            "create fully connected");
  xnn_check(xnn_setup_fully_connected_nc_f32(op.get(), static_cast<size_t>(batch), a.in[0].ptr<const float>(),
                                             a.out[0].ptr<float>(), a.ctx ? a.ctx->threadpool : nullptr),
            "setup fully connected");
  return std::make_unique<XnnKernel>(node_label(a), std::move(op));
}

bool all_plain_f32(const KernelArgs& a) {
  for (const TensorRef& t : a.in)
    if (t.present() && (t.dtype != DType::F32 || !is_plain_layout(t))) return false;
  for (const TensorRef& t : a.out)
    if (t.dtype != DType::F32 || !is_plain_layout(t)) return false;
  return true;
}

}  // namespace

std::unique_ptr<Kernel> make_fast_gemm(const KernelArgs& a) {
  VEDGE_CHECK((a.in.size() == 2 || a.in.size() == 3) && a.out.size() == 1, "expects A, B, [C] and 1 output");
  if (!all_plain_f32(a)) return nullptr;
  const Attrs& at = a.node->attrs;
  const TensorRef &A = a.in[0], &B = a.in[1];
  const TensorRef* C = a.in.size() == 3 && a.in[2].present() ? &a.in[2] : nullptr;
  if (at.get_i("transA", 0) != 0 || !input_is_constant(a, 1) || (C && !input_is_constant(a, 2)))
    return nullptr;
  VEDGE_CHECK(A.shape.size() == 2 && B.shape.size() == 2, "A and B must be 2-D, are ", shape_str(A.shape),
              " and ", shape_str(B.shape));
  const bool tb = at.get_i("transB", 0) != 0;
  const int64_t M = A.shape[0], K = A.shape[1], N = tb ? B.shape[0] : B.shape[1];
  VEDGE_CHECK((tb ? B.shape[1] : B.shape[0]) == K, "inner dimensions differ: A ", shape_str(A.shape), " B ",
              shape_str(B.shape), " (transB ", tb, ")");
  ref::check_shape("output", a.out[0].shape, {M, N});
  const float alpha = at.get_f("alpha", 1.f), beta = at.get_f("beta", 1.f);
  std::vector<float> bias;
  if (C) {
    const Shape& cs = C->shape;
    const int64_t cn = C->numel();
    const bool row = cs.size() <= 2 && (cn == 1 || (cs.back() == N && cn == N));
    if (!row) return nullptr;  // a per-row or full C: the reference handles it
    bias.resize(static_cast<size_t>(N));
    for (int64_t j = 0; j < N; ++j) bias[j] = beta * C->ptr<const float>()[cn == 1 ? 0 : j];
  }
  std::vector<float> w(static_cast<size_t>(N * K));
  const float* b = B.ptr<const float>();
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) w[j * K + k] = alpha * (tb ? b[j * K + k] : b[k * N + j]);
  return make_fc(a, M, K, N, w, C ? &bias : nullptr);
}

std::unique_ptr<Kernel> make_fast_matmul(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 2 && a.out.size() == 1, "expects A, B and 1 output");
  if (!all_plain_f32(a)) return nullptr;
  const TensorRef &A = a.in[0], &B = a.in[1];
  if (B.shape.size() != 2 || A.shape.empty() || !input_is_constant(a, 1)) return nullptr;
  const int64_t K = B.shape[0], N = B.shape[1];
  VEDGE_CHECK(A.shape.back() == K, "inner dimensions differ: ", shape_str(A.shape), " x ",
              shape_str(B.shape));
  Shape want(A.shape.begin(), A.shape.end() - 1);
  want.push_back(N);
  ref::check_shape("output", a.out[0].shape, want);
  std::vector<float> w(static_cast<size_t>(N * K));
  const float* b = B.ptr<const float>();
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) w[j * K + k] = b[k * N + j];
  return make_fc(a, K ? A.numel() / K : 0, K, N, w, nullptr);
}

}  // namespace vedge

// fast_softmax.cpp: fast Softmax (F32, plain tensors) along the last axis
// on XNNPACK's softmax_nc (rows of the last dim). Other axes return nullptr
// and the executor uses the reference kernel.
// Depends on runtime/ops/xnn_util.h and ops/ref.h.
#include "runtime/error.h"
#include "runtime/ops/ref.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

class XnnSoftmaxKernel : public Kernel {
 public:
  XnnSoftmaxKernel(XnnOp op, std::string label) : op_(std::move(op)), label_(std::move(label)) {}
  void run(ExecContext& ctx) override { op_.run(ctx.threadpool, label_); }

 private:
  XnnOp op_;
  std::string label_;
};

}  // namespace

std::unique_ptr<Kernel> make_fast_softmax(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &x = a.in[0], &y = a.out[0];
  if (x.dtype != DType::F32 || y.dtype != DType::F32 || !x.is_plain() || !y.is_plain()) return nullptr;
  ref::check_shape("output", y.shape, x.shape);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = a.node->attrs.get_i("axis", -1);
  VEDGE_CHECK(axis >= 0 && axis < rank, "axis ", axis, " is not in [0, ", rank, ")");
  if (axis != rank - 1 || x.numel() == 0) return nullptr;
  const size_t len = static_cast<size_t>(x.shape.back());
  ensure_xnnpack();
  XnnOp op;
  xnn_check(xnn_create_softmax_nc_f32(len, len, len, 0, op.out()), "create softmax");
  xnn_check(xnn_setup_softmax_nc_f32(op.get(), static_cast<size_t>(x.numel()) / len, x.ptr<const float>(),
                                     y.ptr<float>(), a.ctx ? a.ctx->threadpool : nullptr),
            "setup softmax");
  return std::make_unique<XnnSoftmaxKernel>(std::move(op), node_label(a));
}

}  // namespace vedge

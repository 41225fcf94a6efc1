// xnn_util.h: helpers shared by the fast kernels (ops/fast_*.cpp):
// XNNPACK initialization, an owning handle for XNNPACK operators with status
// checks that name the node, the generic XNNPACK kernel, layout predicates
// for TensorRef, a loop-nest simplifier for strided loops, a pthreadpool
// parallel-for, and the prepared strided copy (defined in fast_copy.cpp).
// Used only by the fast kernels; must not depend on the executor, the
// reference kernels or anything above runtime/.
#pragma once

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/graph.h"
#include "runtime/kernel.h"

namespace vedge {

// Calls xnn_initialize once per process (thread-safe); throws vedge::Error
// if XNNPACK cannot run on this CPU.
void ensure_xnnpack();

const char* xnn_status_name(xnn_status s);

// Throws "XNNPACK <what> failed: <status>" unless s is success (at kernel
// construction; make_fast_kernel prefixes the file and node).
void xnn_check(xnn_status s, const char* what);

// "<source>: node '<name>' (<op>)": how a kernel names its node in errors
// thrown from run(), where make_fast_kernel's prefix is not added.
std::string node_label(const KernelArgs& a);

// Owns one xnn_operator_t; deletes it on destruction.
class XnnOp {
 public:
  XnnOp() = default;
  ~XnnOp();
  XnnOp(XnnOp&& o) noexcept : op_(o.op_) { o.op_ = nullptr; }
  XnnOp& operator=(XnnOp&& o) noexcept;
  XnnOp(const XnnOp&) = delete;
  XnnOp& operator=(const XnnOp&) = delete;

  xnn_operator_t* out() { return &op_; }  // for xnn_create_*(..., out())
  xnn_operator_t get() const { return op_; }
  explicit operator bool() const { return op_ != nullptr; }
  // xnn_run_operator; throws naming the node (node_label) on failure.
  void run(pthreadpool_t pool, const std::string& label) const;

 private:
  xnn_operator_t op_ = nullptr;
};

// The kernel of most fast ops: runs a prepared XNNPACK operator and an
// optional second one (e.g. a fused activation in place on the output).
class XnnKernel : public Kernel {
 public:
  XnnKernel(std::string label, XnnOp op, XnnOp post = {})
      : label_(std::move(label)), op_(std::move(op)), post_(std::move(post)) {}
  void run(ExecContext& ctx) override {
    op_.run(ctx.threadpool, label_);
    if (post_) post_.run(ctx.threadpool, label_);
  }

 private:
  std::string label_;
  XnnOp op_, post_;
};

// True when input i of the node is a constant Value of the graph (or when
// no graph is given, as in kernel tests that pass constants directly).
bool input_is_constant(const KernelArgs& a, size_t i);

// TensorRef::is_plain() except that strides of size-1 dims are ignored (a
// view of a [1,C,1,1] tensor is plain whatever those strides say).
bool is_plain_layout(const TensorRef& t);

// For a 4-D logical NCHW tensor stored channel-last with a pixel stride P >= C
// (strides [H*W*P, 1, W*P, P]; P == C is TensorRef::is_nhwc()): returns P,
// else 0. Strides of size-1 dims are ignored ([N,C,1,1] plain is NHWC too).
// P > C lets a kernel read or write a channel slice of a wider NHWC buffer
// (e.g. one input of a channel concat).
int64_t nhwc_pixel_stride(const TensorRef& t);

// A loop nest over one logical shape shared by up to 3 operands with their
// own strides (operand 0 leads: dims are ordered by its strides, outermost
// first). Size-1 dims are dropped and adjacent dims merged wherever every
// operand allows it, so an NHWC<->NHWC copy becomes one flat loop and an
// NCHW->NHWC copy a batch of 2-D transposes. Always at least one dim.
struct LoopNest {
  int num_operands = 0;
  std::vector<int64_t> size;                 // per dim, outermost first
  std::vector<std::vector<int64_t>> stride;  // [operand][dim]
  int rank() const { return static_cast<int>(size.size()); }
};
LoopNest make_loop_nest(const Shape& shape, const std::vector<std::vector<int64_t>>& strides);

// Strides of a (lower-rank) operand broadcast against `shape` numpy-style:
// right-aligned, stride 0 on broadcast dims.
std::vector<int64_t> broadcast_strides(const TensorRef& t, const Shape& shape);

// Walks the first `rank` dims of a LoopNest in row-major order, keeping each
// operand's element offset. Used inside run(): no allocation.
constexpr int kMaxNestRank = 8;
struct NestCursor {
  const LoopNest* n = nullptr;
  int rank = 0;
  int64_t idx[kMaxNestRank] = {};
  int64_t off[3] = {};

  NestCursor(const LoopNest& nest, int r, int64_t start) : n(&nest), rank(r) {
    for (int d = rank - 1; d >= 0; --d) {
      idx[d] = start % n->size[d];
      start /= n->size[d];
      for (int k = 0; k < n->num_operands; ++k) off[k] += idx[d] * n->stride[k][d];
    }
  }
  void next() {
    for (int d = rank - 1; d >= 0; --d) {
      for (int k = 0; k < n->num_operands; ++k) off[k] += n->stride[k][d];
      if (++idx[d] < n->size[d]) return;
      for (int k = 0; k < n->num_operands; ++k) off[k] -= n->size[d] * n->stride[k][d];
      idx[d] = 0;
    }
  }
};

// Runs f(begin, end) over [0, n) split into chunks of at least `grain`
// items, on the pool (nullptr or small n: on the calling thread).
template <class F>
void parallel_for(pthreadpool_t pool, int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  if (grain < 1) grain = 1;
  int64_t chunks = std::min<int64_t>(threads * 4, (n + grain - 1) / grain);
  if (threads <= 1 || chunks <= 1) {
    f(int64_t{0}, n);
    return;
  }
  struct Ctx {
    std::remove_reference_t<F>* f;
    int64_t n, chunks;
  } ctx{&f, n, chunks};
  pthreadpool_parallelize_1d(
      pool,
      [](void* p, size_t c) {
        auto* x = static_cast<Ctx*>(p);
        int64_t b = x->n * static_cast<int64_t>(c) / x->chunks;
        int64_t e = x->n * (static_cast<int64_t>(c) + 1) / x->chunks;
        (*x->f)(b, e);
      },
      &ctx, static_cast<size_t>(chunks), 0);
}

// A copy between two strided views of one logical shape, any 1/2/4/8-byte
// element type (ops/fast_copy.cpp). Prepared once (loop nest, fast path:
// contiguous rows, 2-D transpose tiles, or a gather), then run() is
// multi-threaded and allocation-free.
class StridedCopy {
 public:
  StridedCopy() = default;
  StridedCopy(const Shape& shape, size_t elem_size, const void* src, const std::vector<int64_t>& src_strides,
              void* dst, const std::vector<int64_t>& dst_strides);
  void run(pthreadpool_t pool) const;

 private:
  template <class T>
  void run_typed(pthreadpool_t pool) const;
  LoopNest nest_;  // operand 0 = dst, 1 = src
  size_t elem_ = 4;
  const void* src_ = nullptr;
  void* dst_ = nullptr;
  int tdim_ = -1;   // >= 0: a 2-D transpose; the dim that is contiguous in src
  LoopNest outer_;  // transpose: the dims other than tdim_ and the innermost
  int64_t count_ = 0;
};

}  // namespace vedge

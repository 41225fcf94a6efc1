// kernel.h: the contract between the executor and the operator kernels.
//
// The executor (executor.h) decides each value's memory layout, plans one
// arena, and only then creates kernels, so a kernel receives final pointers
// at construction and does all checking, packing and backend set-up there
// (the "Prepare" step). run() does no allocation and no checking.
//
// Layout: a TensorRef carries the logical (ONNX) shape and the strides, in
// elements, of how it sits in memory. "Plain" = row-major contiguous in the
// logical order. "NHWC" = a logical NCHW tensor stored channel-last
// (strides [H*W*C, 1, W*C, C]). Reference kernels only ever see plain
// tensors; fast kernels see what the layout table in executor.cpp says.
//
// Two kernel families, one registry each (ops/registry.cpp):
//   ref  - portable plain loops over plain NCHW tensors, single thread.
//          They are the oracle in tests (tests/kernel_harness.h).
//   fast - XNNPACK-backed and strided kernels, multi-threaded.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/graph.h"
#include "runtime/tensor.h"

typedef struct pthreadpool* pthreadpool_t;

namespace vedge {

std::vector<int64_t> plain_strides(const Shape& s);
// For a 4-D logical NCHW shape: channel-last strides.
std::vector<int64_t> nhwc_strides(const Shape& s);
// Equal layouts: strides agree on every dim of size > 1 (the stride of a
// size-1 dim never matters).
bool same_strides(const Shape& s, const std::vector<int64_t>& a, const std::vector<int64_t>& b);

struct TensorRef {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<int64_t> strides;  // elements; same rank as shape
  void* data = nullptr;          // nullptr for an absent optional input

  bool present() const { return data != nullptr; }
  int64_t numel() const { return vedge::numel(shape); }
  bool is_plain() const { return same_strides(shape, strides, plain_strides(shape)); }
  bool is_nhwc() const {
    return shape.size() == 4 && same_strides(shape, strides, nhwc_strides(shape));
  }
  template <class T> T* ptr() const { return static_cast<T*>(data); }
};

TensorRef make_ref(Tensor& t);  // plain view of an owning tensor

struct ExecContext {
  pthreadpool_t threadpool = nullptr;  // nullptr: run on the calling thread
  int num_threads = 1;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(ExecContext& ctx) = 0;
};

struct KernelArgs {
  const Graph* graph = nullptr;
  const Node* node = nullptr;
  std::vector<TensorRef> in;   // constants point at the Value's bytes
  std::vector<TensorRef> out;
  ExecContext* ctx = nullptr;  // the pool the kernel will run with
};

using KernelFactory = std::unique_ptr<Kernel> (*)(const KernelArgs&);

// Returns nullptr when the family has no kernel for this op and config.
// Throws vedge::Error (naming the node) for an invalid config.
std::unique_ptr<Kernel> make_ref_kernel(const KernelArgs& a);
std::unique_ptr<Kernel> make_fast_kernel(const KernelArgs& a);

}  // namespace vedge

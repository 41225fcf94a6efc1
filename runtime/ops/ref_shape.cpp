// ref_shape.cpp: reference data-movement kernels, for any dtype (they move
// bytes, so the importer may also fold integer shape tensors with them).
//   Reshape (attr shape, if present, must equal the output shape; an
//   optional second "shape" input is ignored), Identity and Relayout (both
//   plain here): copy. Transpose: attr perm (default: reversed dims).
//   Concat: attr axis (non-negative), inputs equal except along axis.
// Depends on ops/ref.h only.
#include <cstring>

#include "runtime/ops/ref.h"

namespace vedge {
namespace ref {
namespace {

bool same_dtype(const KernelArgs& a) {
  for (const TensorRef& r : a.in)
    if (r.present() && r.dtype != a.out[0].dtype) return false;
  return true;
}

class CopyKernel : public Kernel {
 public:
  explicit CopyKernel(const KernelArgs& a)
      : x_(a.in[0].data), y_(a.out[0].data), bytes_(a.out[0].numel() * dtype_size(a.out[0].dtype)) {
    const Shape& xs = a.in[0].shape;
    const Shape& ys = a.out[0].shape;
    if (a.node->op == "Reshape") {
      VEDGE_CHECK(numel(xs) == numel(ys), "cannot reshape ", shape_str(xs), " to ",
                  shape_str(ys));
      if (a.node->attrs.has("shape")) check_shape("output", ys, a.node->attrs.get_ints("shape"));
    } else {
      check_shape("output", ys, xs);
    }
  }
  void run(ExecContext&) override {
    if (bytes_ && x_ != y_) std::memcpy(y_, x_, bytes_);
  }

 private:
  const void* x_;
  void* y_;
  size_t bytes_;
};

template <class T>  // an unsigned integer type of the element's size
class TransposeKernel : public Kernel {
 public:
  TransposeKernel(const KernelArgs& a, Shape out_shape, std::vector<int64_t> in_strides)
      : x_(a.in[0].ptr<const T>()), y_(a.out[0].ptr<T>()), shape_(std::move(out_shape)),
        strides_(std::move(in_strides)) {}
  void run(ExecContext&) override {
    if (numel(shape_) == 0) return;
    Odometer it(shape_, {strides_});
    T* y = y_;
    do {
      *y++ = x_[it.offset(0)];
    } while (it.next());
  }

 private:
  const T* x_;
  T* y_;
  Shape shape_;
  std::vector<int64_t> strides_;
};

class ConcatKernel : public Kernel {
 public:
  explicit ConcatKernel(const KernelArgs& a) : y_(static_cast<uint8_t*>(a.out[0].data)) {
    const Shape& ys = a.out[0].shape;
    const int64_t axis = a.node->attrs.get_i("axis", -1);
    VEDGE_CHECK(axis >= 0 && axis < static_cast<int64_t>(ys.size()), "axis ", axis,
                " is not in [0, ", ys.size(), ")");
    const size_t es = dtype_size(a.out[0].dtype);
    outer_ = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= ys[d];
    int64_t total = 0;
    for (size_t i = 0; i < a.in.size(); ++i) {
      Shape want = ys;
      want[axis] = a.in[i].shape.size() == ys.size() ? a.in[i].shape[axis] : -1;
      VEDGE_CHECK(a.in[i].shape == want, "input ", i, " shape ", shape_str(a.in[i].shape),
                  " does not concatenate into ", shape_str(ys), " along axis ", axis);
      total += want[axis];
      // Bytes of input i per outer index: its slab along axis and the inner dims.
      const size_t chunk = outer_ ? a.in[i].numel() / outer_ * es : 0;
      parts_.push_back({static_cast<const uint8_t*>(a.in[i].data), chunk});
    }
    VEDGE_CHECK(total == ys[axis], "inputs sum to ", total, " along axis ", axis, ", output has ",
                ys[axis]);
  }
  void run(ExecContext&) override {
    uint8_t* y = y_;
    for (int64_t o = 0; o < outer_; ++o)
      for (const Part& p : parts_) {
        if (p.bytes) std::memcpy(y, p.data + o * p.bytes, p.bytes);
        y += p.bytes;
      }
  }

 private:
  struct Part {
    const uint8_t* data;
    size_t bytes;
  };
  uint8_t* y_;
  int64_t outer_ = 0;
  std::vector<Part> parts_;
};

}  // namespace

std::unique_ptr<Kernel> make_copy(const KernelArgs& a) {
  check_arity(a, 1, a.node->op == "Reshape" ? 2 : 1, 1);
  if (a.in[0].dtype != a.out[0].dtype) fail("input and output dtypes differ");
  return std::make_unique<CopyKernel>(a);
}

std::unique_ptr<Kernel> make_transpose(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  if (!same_dtype(a)) fail("input and output dtypes differ");
  const Shape& xs = a.in[0].shape;
  const size_t rank = xs.size();
  std::vector<int64_t> perm(rank);
  for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
  perm = a.node->attrs.get_ints("perm", perm);
  VEDGE_CHECK(perm.size() == rank, "perm has ", perm.size(), " entries for rank ", rank);
  std::vector<bool> seen(rank, false);
  const std::vector<int64_t> xst = plain_strides(xs);
  Shape ys(rank);
  std::vector<int64_t> st(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t p = perm[i];
    VEDGE_CHECK(p >= 0 && p < static_cast<int64_t>(rank) && !seen[p], "perm is not a permutation of 0..",
                rank - 1);
    seen[p] = true;
    ys[i] = xs[p];
    st[i] = xst[p];
  }
  check_shape("output", a.out[0].shape, ys);
  switch (dtype_size(a.out[0].dtype)) {
    case 1: return std::make_unique<TransposeKernel<uint8_t>>(a, ys, st);
    case 2: return std::make_unique<TransposeKernel<uint16_t>>(a, ys, st);
    case 4: return std::make_unique<TransposeKernel<uint32_t>>(a, ys, st);
    case 8: return std::make_unique<TransposeKernel<uint64_t>>(a, ys, st);
  }
  return nullptr;
}

std::unique_ptr<Kernel> make_concat(const KernelArgs& a) {
  check_arity(a, 1, a.in.size() > 0 ? a.in.size() : 1, 1);
  if (!same_dtype(a)) fail("input and output dtypes differ");
  return std::make_unique<ConcatKernel>(a);
}

}  // namespace ref
}  // namespace vedge

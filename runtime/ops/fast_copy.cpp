// fast_copy.cpp: the data-movement kernels of the fast backend, all built on
// one prepared strided copy (StridedCopy, declared in xnn_util.h):
//   Relayout  - same logical shape, any strides in and out (NCHW<->NHWC);
//   Concat    - each input copied into its slice of the output;
//   Reshape   - strided input gathered into a plain output;
//   Transpose - strided input materialized into a plain output.
// Depends on runtime/ops/xnn_util.h only; no XNNPACK operator is used.
#include <algorithm>
#include <cstring>

#include "runtime/error.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {

StridedCopy::StridedCopy(const Shape& shape, size_t elem_size, const void* src,
                         const std::vector<int64_t>& src_strides, void* dst,
                         const std::vector<int64_t>& dst_strides)
    : nest_(make_loop_nest(shape, {dst_strides, src_strides})),
      elem_(elem_size),
      src_(src),
      dst_(dst),
      count_(numel(shape)) {
  VEDGE_CHECK(elem_ == 1 || elem_ == 2 || elem_ == 4 || elem_ == 8, "strided copy: element size ", elem_,
              " is not supported");
  const int inner = nest_.rank() - 1;
  if (inner >= 1 && nest_.stride[0][inner] == 1 && nest_.stride[1][inner] != 1) {
    for (int d = 0; d < inner; ++d)
      if (nest_.stride[1][d] == 1) tdim_ = d;
  }
  if (tdim_ < 0) return;
  // A 2-D transpose: the dims other than tdim_ and the innermost one are
  // walked by a cursor over a second nest.
  outer_.num_operands = 2;
  outer_.stride.assign(2, {});
  for (int d = 0; d < inner; ++d) {
    if (d == tdim_) continue;
    outer_.size.push_back(nest_.size[d]);
    for (int k = 0; k < 2; ++k) outer_.stride[k].push_back(nest_.stride[k][d]);
  }
}

void StridedCopy::run(pthreadpool_t pool) const {
  if (count_ == 0) return;
  switch (elem_) {
    case 1:
      run_typed<uint8_t>(pool);
      break;
    case 2:
      run_typed<uint16_t>(pool);
      break;
    case 4:
      run_typed<uint32_t>(pool);
      break;
    default:
      run_typed<uint64_t>(pool);
      break;
  }
}

namespace {

// d[i * dA + j] = s[j * sB + i] for i in [a0, a1), j in [b0, b1): 8x8 blocks
// through a small local tile, so both the reads and the writes of a block
// stay within 8 cache lines; scalar edges.
template <class T>
void transpose_block(const T* s, int64_t sB, T* d, int64_t dA, int64_t a0, int64_t a1, int64_t b0,
                     int64_t b1) {
  int64_t j = b0;
  for (; j + 8 <= b1; j += 8) {
    int64_t i = a0;
    for (; i + 8 <= a1; i += 8) {
      T blk[8][8];
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) blk[x][y] = s[(j + y) * sB + i + x];
      for (int x = 0; x < 8; ++x)
        for (int y = 0; y < 8; ++y) d[(i + x) * dA + j + y] = blk[x][y];
    }
    for (; i < a1; ++i)
      for (int y = 0; y < 8; ++y) d[i * dA + j + y] = s[(j + y) * sB + i];
  }
  for (; j < b1; ++j)
    for (int64_t i = a0; i < a1; ++i) d[i * dA + j] = s[j * sB + i];
}

// d[i * B + j] = s[j * sB + i] for i in [a0, a1), j < B (B planes interleaved).
template <class T, int B>
void interleave(const T* s, int64_t sB, T* d, int64_t a0, int64_t a1) {
  for (int64_t i = a0; i < a1; ++i)
    for (int j = 0; j < B; ++j) d[i * B + j] = s[j * sB + i];
}

}  // namespace

template <class T>
void StridedCopy::run_typed(pthreadpool_t pool) const {
  const T* src = static_cast<const T*>(src_);
  T* dst = static_cast<T*>(dst_);
  const LoopNest& n = nest_;
  const int inner = n.rank() - 1;
  const int64_t len = n.size[inner];
  const int64_t ds = n.stride[0][inner], ss = n.stride[1][inner];
  constexpr int64_t kGrainElems = 1 << 15;  // below this a thread hand-off costs more than it saves

  if (tdim_ < 0) {  // rows along the innermost dim
    int64_t rows = count_ / len;
    parallel_for(pool, rows, kGrainElems / len + 1, [&](int64_t b, int64_t e) {
      NestCursor c(n, inner, b);
      for (int64_t r = b; r < e; ++r, c.next()) {
        T* d = dst + c.off[0];
        const T* s = src + c.off[1];
        if (ds == 1 && ss == 1) {
          std::memcpy(d, s, static_cast<size_t>(len) * sizeof(T));
        } else {
          for (int64_t i = 0; i < len; ++i) d[i * ds] = s[i * ss];
        }
      }
    });
    return;
  }

  // 2-D transpose: dim `a` (tdim_) is contiguous in src, dim `b` (inner) in
  // dst; outer_ walks the other dims.
  const int a = tdim_;
  const int64_t A = n.size[a], B = len;
  const int64_t dA = n.stride[0][a], sB = ss;
  const int orank = outer_.rank();
  int64_t outer_count = 1;
  for (int64_t s : outer_.size) outer_count *= s;
  constexpr int64_t kTile = 64;
  const int64_t a_tiles = (A + kTile - 1) / kTile;
  parallel_for(pool, outer_count * a_tiles, kGrainElems / (kTile * B) + 1, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / a_tiles, a0 = (item % a_tiles) * kTile;
      const int64_t a1 = std::min(A, a0 + kTile);
      int64_t od = 0, os = 0;
      if (orank > 0) {
        NestCursor c(outer_, orank, o);
        od = c.off[0];
        os = c.off[1];
      }
      T* d = dst + od;
      const T* s = src + os;
      if (dA == B && B <= 4) {  // few channels, e.g. an RGB image to NHWC
        switch (B) {
          case 2:
            interleave<T, 2>(s, sB, d, a0, a1);
            break;
          case 3:
            interleave<T, 3>(s, sB, d, a0, a1);
            break;
          case 4:
            interleave<T, 4>(s, sB, d, a0, a1);
            break;
          default:
            transpose_block(s, sB, d, dA, a0, a1, 0, B);
            break;
        }
        continue;
      }
      for (int64_t b0 = 0; b0 < B; b0 += kTile)
        transpose_block(s, sB, d, dA, a0, a1, b0, std::min(B, b0 + kTile));
    }
  });
}

namespace {

void check_same_shape(const TensorRef& in, const TensorRef& out) {
  VEDGE_CHECK(in.dtype == out.dtype, "input is ", dtype_name(in.dtype), " but output is ",
              dtype_name(out.dtype));
  VEDGE_CHECK(numel(in.shape) == numel(out.shape), "input ", shape_str(in.shape), " and output ",
              shape_str(out.shape), " differ in size");
  VEDGE_CHECK(in.strides.size() == in.shape.size() && out.strides.size() == out.shape.size(),
              "strides do not match the rank");
}

// One or more prepared copies run in sequence.
class CopyKernel : public Kernel {
 public:
  explicit CopyKernel(std::vector<StridedCopy> copies) : copies_(std::move(copies)) {}
  void run(ExecContext& ctx) override {
    for (const StridedCopy& c : copies_) c.run(ctx.threadpool);
  }

 private:
  std::vector<StridedCopy> copies_;
};

}  // namespace

// Relayout: same logical shape, any strides on both sides.
std::unique_ptr<Kernel> make_fast_relayout(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &in = a.in[0], &out = a.out[0];
  check_same_shape(in, out);
  VEDGE_CHECK(in.shape == out.shape, "Relayout changes the shape ", shape_str(in.shape), " -> ",
              shape_str(out.shape));
  std::vector<StridedCopy> c;
  c.emplace_back(in.shape, dtype_size(in.dtype), in.data, in.strides, out.data, out.strides);
  return std::make_unique<CopyKernel>(std::move(c));
}

// Reshape / Transpose materialized into a plain output. For Reshape the
// input is walked in its logical row-major order (the element order a
// reshape preserves); for Transpose the output dim d reads input dim perm[d].
std::unique_ptr<Kernel> make_fast_reshape(const KernelArgs& a) {
  VEDGE_CHECK(!a.in.empty() && a.out.size() == 1, "expects an input and 1 output");
  const TensorRef &in = a.in[0], &out = a.out[0];
  check_same_shape(in, out);
  VEDGE_CHECK(is_plain_layout(out), "the fast Reshape writes a plain output only");
  if (a.node->attrs.has("shape"))
    VEDGE_CHECK(a.node->attrs.get_ints("shape") == out.shape, "output shape ", shape_str(out.shape),
                " differs from attribute shape ", shape_str(a.node->attrs.get_ints("shape")));
  // Element i of the output is element i of the input in logical order, so
  // copy over the input's shape with the output's strides recomputed for it.
  std::vector<StridedCopy> c;
  c.emplace_back(in.shape, dtype_size(in.dtype), in.data, in.strides, out.data, plain_strides(in.shape));
  return std::make_unique<CopyKernel>(std::move(c));
}

std::unique_ptr<Kernel> make_fast_transpose(const KernelArgs& a) {
  const Node& node = *a.node;
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &in = a.in[0], &out = a.out[0];
  check_same_shape(in, out);
  VEDGE_CHECK(is_plain_layout(out), "the fast Transpose writes a plain output only");
  const size_t r = in.shape.size();
  std::vector<int64_t> perm = node.attrs.get_ints("perm");
  if (perm.empty())  // ONNX default: reverse the dims
    for (size_t d = 0; d < r; ++d) perm.push_back(static_cast<int64_t>(r - 1 - d));
  VEDGE_CHECK(perm.size() == r, "perm has ", perm.size(), " entries for rank ", r);
  std::vector<bool> seen(r, false);
  std::vector<int64_t> src_strides(r);
  for (size_t d = 0; d < r; ++d) {
    const int64_t p = perm[d];
    VEDGE_CHECK(p >= 0 && p < static_cast<int64_t>(r) && !seen[p], "perm is not a permutation");
    seen[p] = true;
    VEDGE_CHECK(out.shape[d] == in.shape[p], "output shape ", shape_str(out.shape),
                " does not match perm of ", shape_str(in.shape));
    src_strides[d] = in.strides[p];
  }
  std::vector<StridedCopy> c;
  c.emplace_back(out.shape, dtype_size(in.dtype), in.data, src_strides, out.data, out.strides);
  return std::make_unique<CopyKernel>(std::move(c));
}

// Concat: input i lands at offset sum(shape_j[axis], j < i) along `axis`.
std::unique_ptr<Kernel> make_fast_concat(const KernelArgs& a) {
  const Node& node = *a.node;
  VEDGE_CHECK(!a.in.empty() && a.out.size() == 1, "expects inputs and 1 output");
  const TensorRef& out = a.out[0];
  const int64_t rank = static_cast<int64_t>(out.shape.size());
  const int64_t axis = node.attrs.get_i("axis", 0);
  VEDGE_CHECK(axis >= 0 && axis < rank, "axis ", axis, " out of range for rank ", rank);
  VEDGE_CHECK(out.strides.size() == out.shape.size(), "strides do not match the rank");
  std::vector<StridedCopy> copies;
  int64_t offset = 0;
  for (const TensorRef& in : a.in) {
    VEDGE_CHECK(in.dtype == out.dtype, "inputs and output differ in dtype");
    VEDGE_CHECK(static_cast<int64_t>(in.shape.size()) == rank && in.strides.size() == in.shape.size(),
                "input rank differs from the output's");
    for (int64_t d = 0; d < rank; ++d)
      VEDGE_CHECK(d == axis || in.shape[d] == out.shape[d], "input ", shape_str(in.shape),
                  " does not fit output ", shape_str(out.shape));
    if (in.shape[axis] == 0) continue;
    char* dst = static_cast<char*>(out.data) +
                offset * out.strides[axis] * static_cast<int64_t>(dtype_size(out.dtype));
    copies.emplace_back(in.shape, dtype_size(in.dtype), in.data, in.strides, dst, out.strides);
    offset += in.shape[axis];
  }
  VEDGE_CHECK(offset == out.shape[axis], "inputs add up to ", offset, " along axis ", axis,
              " but the output has ", out.shape[axis]);
  return std::make_unique<CopyKernel>(std::move(copies));
}

}  // namespace vedge

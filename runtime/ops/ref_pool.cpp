// ref_pool.cpp: reference pooling kernels (F32).
//   GlobalAveragePool: X [N,C,d1..dk] -> [N,C,1..1], mean over d1..dk.
//   AveragePool / MaxPool: X [N,C,H,W]; attrs kernel_shape[2], strides[2]
//   (default 1), pads[4] top,left,bottom,right (default 0), dilations[2]
//   (default 1), count_include_pad (AveragePool, default 0).
// The output shape is the one of the output tensor: OH must be the floor or
// the ceil form of (H + top + bottom - dilated_kernel) / stride + 1, and every
// window must cover at least one input cell (ceil_mode may therefore be
// resolved either into the output shape alone, keeping the ONNX pads, or
// into larger bottom/right pads). Windows are clipped to the input; MaxPool
// ignores padding; AveragePool divides by the taps inside the input, or with
// count_include_pad by the taps inside [-top, H + bottom) x [-left, W + right)
// (so with ONNX pads and ceil_mode the divisor matches ONNX Runtime/PyTorch).
// Depends on ops/ref.h only.
#include "runtime/ops/ref.h"

namespace vedge {
namespace ref {
namespace {

class GlobalAvgPoolKernel : public Kernel {
 public:
  explicit GlobalAvgPoolKernel(const KernelArgs& a)
      : x_(a.in[0].ptr<const float>()), y_(a.out[0].ptr<float>()) {
    const Shape& xs = a.in[0].shape;
    VEDGE_CHECK(xs.size() >= 3, "input must be [N,C,spatial...], is ", shape_str(xs));
    Shape want(xs.size(), 1);
    want[0] = xs[0];
    want[1] = xs[1];
    check_shape("output", a.out[0].shape, want);
    planes_ = xs[0] * xs[1];
    size_ = a.in[0].numel() / std::max<int64_t>(planes_, 1);
    VEDGE_CHECK(size_ > 0 || planes_ == 0, "empty spatial extent in ", shape_str(xs));
  }
  void run(ExecContext&) override {
    for (int64_t p = 0; p < planes_; ++p) {
      const float* x = x_ + p * size_;
      float acc = 0.f;
      for (int64_t i = 0; i < size_; ++i) acc += x[i];
      y_[p] = acc / static_cast<float>(size_);
    }
  }

 private:
  const float* x_;
  float* y_;
  int64_t planes_ = 0, size_ = 0;
};

// One spatial axis of a pooling window.
struct Axis {
  int64_t in = 0, out = 0, k = 0, stride = 1, pad_begin = 0, pad_end = 0, dil = 1;
};

Axis make_axis(int64_t in, int64_t out, int64_t k, int64_t s, int64_t pb, int64_t pe,
               int64_t d, const char* name) {
  VEDGE_CHECK(k > 0 && s > 0 && d > 0, "kernel_shape, strides and dilations must be positive");
  VEDGE_CHECK(pb >= 0 && pe >= 0, "pads must be non-negative");
  const int64_t span = in + pb + pe - (d * (k - 1) + 1);
  VEDGE_CHECK(span >= 0, "window larger than the padded input along ", name);
  const int64_t lo = span / s + 1, hi = (span + s - 1) / s + 1;
  VEDGE_CHECK(out == lo || out == hi, "output ", name, " is ", out, ", expected ", lo,
              lo == hi ? "" : " or " + std::to_string(hi));
  for (int64_t o = 0; o < out; ++o) {
    bool covered = false;
    for (int64_t t = 0; t < k; ++t) {
      const int64_t i = o * s - pb + t * d;
      covered |= i >= 0 && i < in;
    }
    VEDGE_CHECK(covered, "output ", name, " ", o, " pools only padding");
  }
  return {in, out, k, s, pb, pe, d};
}

class PoolKernel : public Kernel {
 public:
  explicit PoolKernel(const KernelArgs& a)
      : x_(a.in[0].ptr<const float>()), y_(a.out[0].ptr<float>()) {
    const Attrs& at = a.node->attrs;
    const Shape& xs = a.in[0].shape;
    const Shape& ys = a.out[0].shape;
    max_ = a.node->op == "MaxPool";
    VEDGE_CHECK(xs.size() == 4, "input must be 4-D NCHW, is ", shape_str(xs));
    VEDGE_CHECK(ys.size() == 4 && ys[0] == xs[0] && ys[1] == xs[1], "output shape ",
                shape_str(ys), " does not match input ", shape_str(xs));
    VEDGE_CHECK(at.get_s("auto_pad", "NOTSET") == "NOTSET",
                "auto_pad must be resolved into pads by the importer");
    VEDGE_CHECK(at.has("kernel_shape"), "attribute 'kernel_shape' is missing");
    const auto k = attr_ints(at, "kernel_shape", 2, {});
    const auto s = attr_ints(at, "strides", 2, {1, 1});
    const auto p = attr_ints(at, "pads", 4, {0, 0, 0, 0});
    const auto d = attr_ints(at, "dilations", 2, {1, 1});
    include_pad_ = !max_ && at.get_i("count_include_pad", 0) != 0;
    planes_ = xs[0] * xs[1];
    h_ = make_axis(xs[2], ys[2], k[0], s[0], p[0], p[2], d[0], "height");
    w_ = make_axis(xs[3], ys[3], k[1], s[1], p[1], p[3], d[1], "width");
  }

  void run(ExecContext&) override {
    float* y = y_;
    for (int64_t pl = 0; pl < planes_; ++pl) {
      const float* x = x_ + pl * h_.in * w_.in;
      for (int64_t oh = 0; oh < h_.out; ++oh)
        for (int64_t ow = 0; ow < w_.out; ++ow) {
          float acc = max_ ? -std::numeric_limits<float>::infinity() : 0.f;
          int64_t inside = 0, padded = 0;
          for (int64_t kh = 0; kh < h_.k; ++kh) {
            const int64_t ih = oh * h_.stride - h_.pad_begin + kh * h_.dil;
            if (ih < -h_.pad_begin || ih >= h_.in + h_.pad_end) continue;
            for (int64_t kw = 0; kw < w_.k; ++kw) {
              const int64_t iw = ow * w_.stride - w_.pad_begin + kw * w_.dil;
              if (iw < -w_.pad_begin || iw >= w_.in + w_.pad_end) continue;
              ++padded;
              if (ih < 0 || ih >= h_.in || iw < 0 || iw >= w_.in) continue;
              ++inside;
              const float v = x[ih * w_.in + iw];
              acc = max_ ? std::max(acc, v) : acc + v;
            }
          }
          *y++ = max_ ? acc : acc / static_cast<float>(include_pad_ ? padded : inside);
        }
    }
  }

 private:
  const float* x_;
  float* y_;
  bool max_ = false, include_pad_ = false;
  int64_t planes_ = 0;
  Axis h_, w_;
};

}  // namespace

std::unique_ptr<Kernel> make_global_avg_pool(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<GlobalAvgPoolKernel>(a);
}

std::unique_ptr<Kernel> make_pool(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<PoolKernel>(a);
}

}  // namespace ref
}  // namespace vedge

// fast_quant_pool.cpp: fast QGlobalAveragePool (int8 NHWC input with any
// pixel stride -> int8 [N,C,1,1]). Per (image, block of channels) task the
// int32 channel sums are accumulated pixel by pixel in a stack array (a
// vectorized loop over contiguous channels), then requantized once with
// qgap_multiplier() (runtime/quant_math.h, shared with the reference
// kernel). Allocation-free run(), split across the pthreadpool.
// Depends on runtime/ops/xnn_util.h (parallel_for, layout predicates) and
// ops/fast_quant.h.
#include "runtime/error.h"
#include "runtime/ops/fast_quant.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {
namespace {

constexpr int64_t kBlock = 64;  // channels per task (int32 sums on the stack)

class QGlobalAvgPoolKernel : public Kernel {
 public:
  QGlobalAvgPoolKernel(const int8_t* x, int8_t* y, int64_t n, int64_t c, int64_t hw, int64_t px,
                       int64_t y_n_stride, int64_t y_c_stride, int zx, int zy, float m)
      : x_(x), y_(y), n_(n), c_(c), hw_(hw), px_(px), ysn_(y_n_stride), ysc_(y_c_stride), zx_(zx), zy_(zy), m_(m) {}

  void run(ExecContext& ctx) override {
    const int64_t blocks = (c_ + kBlock - 1) / kBlock;
    const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, hw_ * kBlock));
    parallel_for(ctx.threadpool, n_ * blocks, grain, [&](int64_t b, int64_t e) {
      int32_t acc[kBlock];
      for (int64_t t = b; t < e; ++t) {
        const int64_t n = t / blocks, c0 = (t % blocks) * kBlock;
        const int64_t len = std::min(kBlock, c_ - c0);
        for (int64_t i = 0; i < len; ++i) acc[i] = 0;
        const int8_t* x = x_ + n * hw_ * px_ + c0;
        for (int64_t p = 0; p < hw_; ++p, x += px_)
          for (int64_t i = 0; i < len; ++i) acc[i] += x[i];
        const int32_t bias = static_cast<int32_t>(hw_) * zx_;
        int8_t* y = y_ + n * ysn_ + c0 * ysc_;
        for (int64_t i = 0; i < len; ++i)
          y[i * ysc_] = requantize(static_cast<float>(acc[i] - bias) * m_, zy_, kQMinI8, kQMaxI8);
      }
    });
  }

 private:
  const int8_t* x_;
  int8_t* y_;
  int64_t n_, c_, hw_, px_, ysn_, ysc_;
  int zx_, zy_;
  float m_;
};

}  // namespace

std::unique_ptr<Kernel> make_fast_qglobal_avg_pool(const KernelArgs& a) {
  VEDGE_CHECK(a.in.size() == 1 && a.out.size() == 1, "expects 1 input and 1 output");
  const TensorRef &x = a.in[0], &y = a.out[0];
  if (x.dtype != DType::I8 || y.dtype != DType::I8) return nullptr;
  VEDGE_CHECK(x.shape.size() == 4, "input must be 4-D, is ", shape_str(x.shape));
  const int64_t N = x.shape[0], C = x.shape[1], HW = x.shape[2] * x.shape[3];
  ref::check_shape("output", y.shape, {N, C, 1, 1});
  VEDGE_CHECK(HW > 0, "input ", shape_str(x.shape), " has no pixels");
  const int64_t px = nhwc_pixel_stride(x);
  if (px == 0) return nullptr;  // plain NCHW input: the reference kernel
  fq::TensorQuant qx, qy;
  if (!fq::per_tensor(a, false, 0, &qx) || !fq::per_tensor(a, true, 0, &qy)) return nullptr;
  VEDGE_CHECK(y.strides.size() == 4, "output strides do not match the rank");
  return std::make_unique<QGlobalAvgPoolKernel>(x.ptr<const int8_t>(), y.ptr<int8_t>(), N, C, HW, px, y.strides[0],
                                                y.strides[1], qx.zp, qy.zp,
                                                qgap_multiplier(qx.scale, qy.scale, HW));
}

}  // namespace vedge

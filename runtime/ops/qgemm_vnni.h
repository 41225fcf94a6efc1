// qgemm_vnni.h: the int8 pointwise (1x1, stride 1, unpadded, one group)
// convolution as a GEMM on x86 VNNI (VPDPBUSD), with the per-channel
// requantization of runtime/quant_math.h fused into the tile loop:
//   y[p][m] = qconv_output(bias[m] + sum_c (x[p][c] - zx) * w[m][c], mult[m], zy, qmin, qmax)
// over P pixels of NHWC int8 activations (pixel strides may exceed the
// channel counts). VPDPBUSD multiplies unsigned by signed bytes, so the
// activations are made unsigned (x + 128, done while packing a cache-sized
// block of pixels into the kernel's scratch) and the term -(128 + zx) *
// sum_c w[m][c] is folded into the bias when the weights are packed, at
// creation; int32 sums wrap exactly as the reference's do, and the float
// requantization follows quant_math.h operation for operation, so outputs
// are bit-identical to the reference QConv.
// Two code paths, chosen at run time from cpu_features(): AVX-512 VNNI
// (512-bit, ops/qgemm_avx512vnni.cpp) and AVX-VNNI (256-bit, VEX-encoded,
// ops/qgemm_avxvnni.cpp). Other CPUs and architectures have no path
// (best_qgemm_isa() == None) and the caller keeps XNNPACK's qc8 convolution.
// Depends on runtime/cpu_features.h and pthreadpool (through xnn_util.h's
// parallel_for); nothing of the graph.
#pragma once

#include <cstdint>
#include <vector>

typedef struct pthreadpool* pthreadpool_t;

namespace vedge {

enum class QGemmIsa { None, AvxVnni, Avx512Vnni };

const char* qgemm_isa_name(QGemmIsa isa);
// Whether this build and this CPU can run `isa` (None: always).
bool qgemm_isa_available(QGemmIsa isa);
// The path new kernels use: the forced one (test hook below), else the one
// the environment variable VEDGE_QGEMM names (off | avxvnni | avx512vnni |
// auto), else the widest available.
QGemmIsa best_qgemm_isa();
// Test hook: every kernel created afterwards uses `isa` (None: no VNNI
// kernel, XNNPACK runs); `automatic` = true restores the run-time choice.
// Not thread-safe against concurrent kernel creation.
void force_qgemm_isa(QGemmIsa isa, bool automatic = false);
// How many QGemmConv1x1 were created for `isa` in this process (tests check
// which path a graph's kernels took).
int64_t qgemm_kernels_created(QGemmIsa isa);

struct QGemmParams {
  int64_t channels = 0;            // C (GEMM depth)
  int64_t outputs = 0;             // M
  const int8_t* weight = nullptr;  // [M, C] row-major, symmetric (zero point 0)
  const int32_t* bias = nullptr;   // [M] or nullptr (zeros)
  std::vector<float> multiplier;   // [M]: qconv_multiplier per output channel
  int zx = 0, zy = 0, qmin = -128, qmax = 127;
};

// Weights, corrected biases and multipliers packed for one ISA at creation,
// plus the activation scratch for `pixels` pixels: run() allocates nothing.
class QGemmConv1x1 {
 public:
  QGemmConv1x1(const QGemmParams& p, QGemmIsa isa, int64_t pixels);
  // y[p * y_stride + m] for p < pixels, m < M, from x[p * x_stride + c];
  // bytes of y outside those are left alone. Threads split the pixels.
  void run(const int8_t* x, int64_t x_stride, int8_t* y, int64_t y_stride, pthreadpool_t pool);
  QGemmIsa isa() const { return isa_; }

  // The packed problem, as the ISA files' tile loops read it.
  struct Block {
    int64_t m0 = 0, lanes = 0;  // first output channel, valid channels (<= nb * lane width)
    int nb = 0;                 // vectors of lane-width output channels
    int64_t woff = 0;           // offset of the block's weights in packed_w
    int64_t coff = 0;           // offset of its bias / multiplier lanes
  };
  struct Job {
    const int8_t* x = nullptr;
    int64_t x_stride = 0;
    int8_t* y = nullptr;
    int64_t y_stride = 0;
    int64_t pixels = 0, channels = 0, depth4 = 0;  // depth4: C rounded up to 4
    int64_t chunk = 0;                             // pixels packed at once (multiple of row_align)
    uint8_t* scratch = nullptr;                    // [rows, depth4] unsigned activations
    const int8_t* w = nullptr;                     // per block: [depth4 / 4][nb][lanes x 4 bytes]
    const int32_t* bias = nullptr;                 // corrected, per padded lane
    const float* mult = nullptr;                   // per padded lane (0 in padding)
    const Block* blocks = nullptr;
    int64_t num_blocks = 0;
    int zy = 0, qmin = -128, qmax = 127;
  };

 private:
  QGemmIsa isa_;
  int64_t pixels_, channels_, depth4_ = 0, chunk_ = 0;
  std::vector<Block> blocks_;
  std::vector<int8_t> packed_w_;
  std::vector<int32_t> bias_;
  std::vector<float> mult_;
  std::vector<uint8_t> scratch_;
  int zy_, qmin_, qmax_;
};

// The ISA files' entry points: pixels [p_begin, p_end) of the job
// (p_begin a multiple of job.chunk).
void qgemm_run_avx512vnni(const QGemmConv1x1::Job& job, int64_t p_begin, int64_t p_end);
void qgemm_run_avxvnni(const QGemmConv1x1::Job& job, int64_t p_begin, int64_t p_end);
// Pixel tile heights (rows of scratch are padded to a multiple) and vector
// widths (output channels per vector) of the two paths.
constexpr int64_t kQGemmRowAlign512 = 24, kQGemmLanes512 = 16, kQGemmMaxNb512 = 4;
constexpr int64_t kQGemmRowAlign256 = 6, kQGemmLanes256 = 8, kQGemmMaxNb256 = 2;

}  // namespace vedge

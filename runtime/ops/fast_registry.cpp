// fast_registry.cpp: make_fast_kernel(), the one table from canonical op
// name to fast kernel factory (ops/fast_*.cpp). A factory returns nullptr
// when it has nothing faster than the reference for this config (the
// executor then uses make_ref_kernel on plain tensors); it throws
// vedge::Error with the problem only, prefixed here with the file and node.
// Depends on runtime/ops/xnn_util.h and the fast_*.cpp factories only.
#include <utility>

#include "runtime/error.h"
#include "runtime/ops/xnn_util.h"

namespace vedge {

std::unique_ptr<Kernel> make_fast_conv(const KernelArgs& a);             // fast_conv.cpp
std::unique_ptr<Kernel> make_fast_unary(const KernelArgs& a);            // fast_elementwise.cpp
std::unique_ptr<Kernel> make_fast_binary(const KernelArgs& a);           // fast_elementwise.cpp
std::unique_ptr<Kernel> make_fast_global_avg_pool(const KernelArgs& a);  // fast_pool.cpp
std::unique_ptr<Kernel> make_fast_pool(const KernelArgs& a);             // fast_pool.cpp
std::unique_ptr<Kernel> make_fast_gemm(const KernelArgs& a);             // fast_gemm.cpp
std::unique_ptr<Kernel> make_fast_matmul(const KernelArgs& a);           // fast_gemm.cpp
std::unique_ptr<Kernel> make_fast_relayout(const KernelArgs& a);         // fast_copy.cpp
std::unique_ptr<Kernel> make_fast_reshape(const KernelArgs& a);          // fast_copy.cpp
std::unique_ptr<Kernel> make_fast_transpose(const KernelArgs& a);        // fast_copy.cpp
std::unique_ptr<Kernel> make_fast_concat(const KernelArgs& a);           // fast_copy.cpp
std::unique_ptr<Kernel> make_fast_softmax(const KernelArgs& a);          // fast_softmax.cpp
std::unique_ptr<Kernel> make_fast_resize(const KernelArgs& a);           // fast_resize.cpp
std::unique_ptr<Kernel> make_fast_qconv(const KernelArgs& a);            // fast_quant_conv.cpp
std::unique_ptr<Kernel> make_fast_quantize(const KernelArgs& a);         // fast_quant_elementwise.cpp
std::unique_ptr<Kernel> make_fast_dequantize(const KernelArgs& a);       // fast_quant_elementwise.cpp
std::unique_ptr<Kernel> make_fast_qlut(const KernelArgs& a);             // fast_quant_elementwise.cpp
std::unique_ptr<Kernel> make_fast_qbinary(const KernelArgs& a);          // fast_quant_elementwise.cpp
std::unique_ptr<Kernel> make_fast_qglobal_avg_pool(const KernelArgs& a); // fast_quant_pool.cpp
std::unique_ptr<Kernel> make_fast_qconcat(const KernelArgs& a);          // fast_quant_concat.cpp

namespace {

const std::pair<const char*, KernelFactory> kFastTable[] = {
    {"Conv", make_fast_conv},
    {"Relu", make_fast_unary},
    {"Clip", make_fast_unary},
    {"Sigmoid", make_fast_unary},
    {"HardSwish", make_fast_unary},
    {"HardSigmoid", make_fast_unary},
    {"Add", make_fast_binary},
    {"Sub", make_fast_binary},
    {"Mul", make_fast_binary},
    {"Div", make_fast_binary},
    {"GlobalAveragePool", make_fast_global_avg_pool},
    {"AveragePool", make_fast_pool},
    {"MaxPool", make_fast_pool},
    {"Gemm", make_fast_gemm},
    {"MatMul", make_fast_matmul},
    {"Relayout", make_fast_relayout},
    {"Reshape", make_fast_reshape},
    {"Transpose", make_fast_transpose},
    {"Concat", make_fast_concat},
    {"Softmax", make_fast_softmax},
    {"Resize", make_fast_resize},
    {"QConv", make_fast_qconv},
    {"QuantizeLinear", make_fast_quantize},
    {"DequantizeLinear", make_fast_dequantize},
    {"QLut", make_fast_qlut},
    {"QAdd", make_fast_qbinary},
    {"QMul", make_fast_qbinary},
    {"QGlobalAveragePool", make_fast_qglobal_avg_pool},
    {"QConcat", make_fast_qconcat},
};

// A node whose outputs are all empty has nothing to compute.
class NoOpKernel : public Kernel {
 public:
  void run(ExecContext&) override {}
};

}  // namespace

std::unique_ptr<Kernel> make_fast_kernel(const KernelArgs& a) {
  VEDGE_CHECK(a.node != nullptr, "make_fast_kernel: no node");
  for (const auto& [op, factory] : kFastTable) {
    if (a.node->op != op) continue;
    try {
      bool empty = !a.out.empty();
      for (const TensorRef& t : a.out) empty = empty && t.numel() == 0;
      if (empty) return std::make_unique<NoOpKernel>();
      return factory(a);
    } catch (const Error& e) {
      fail(node_label(a), ": ", e.what());
    }
  }
  return nullptr;
}

}  // namespace vedge

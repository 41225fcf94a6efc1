// ref_elementwise.cpp: reference kernels for the element-wise ops.
//   Unary (F32): Relu, Sigmoid, HardSwish, HardSigmoid (alpha, beta;
//   defaults 0.2, 0.5), Clip (attrs min/max, default -inf/+inf; the input
//   form is rewritten to attrs by the importer).
//   Binary (F32, I32, I64; integer forms serve constant folding): Add, Sub,
//   Mul, Div with numpy multidirectional broadcasting. Integer Div truncates
//   toward zero (C++ / ONNX Runtime); x/0 gives 0 instead of trapping.
// Depends on ops/ref.h only.
#include <type_traits>

#include "runtime/ops/ref.h"

namespace vedge {
namespace ref {
namespace {

class UnaryKernel : public Kernel {
 public:
  UnaryKernel(const KernelArgs& a) : x_(a.in[0].ptr<const float>()), y_(a.out[0].ptr<float>()),
                                     n_(a.in[0].numel()) {
    check_shape("output", a.out[0].shape, a.in[0].shape);
    const Node& node = *a.node;
    if (node.op == "Relu") {
      act_.kind = Activation::Kind::Relu;
    } else if (node.op == "Sigmoid") {
      act_.kind = Activation::Kind::Sigmoid;
    } else if (node.op == "HardSwish") {
      act_.kind = Activation::Kind::HardSwish;
    } else if (node.op == "Clip") {
      act_.kind = Activation::Kind::Clip;
      act_.lo = node.attrs.get_f("min", act_.lo);
      act_.hi = node.attrs.get_f("max", act_.hi);
    } else {  // HardSigmoid, not a fused activation kind
      hard_sigmoid_ = true;
      alpha_ = node.attrs.get_f("alpha", 0.2f);
      beta_ = node.attrs.get_f("beta", 0.5f);
    }
  }
  void run(ExecContext&) override {
    if (hard_sigmoid_) {
      for (int64_t i = 0; i < n_; ++i) y_[i] = hard_sigmoid(x_[i], alpha_, beta_);
    } else {
      for (int64_t i = 0; i < n_; ++i) y_[i] = act_(x_[i]);
    }
  }

 private:
  const float* x_;
  float* y_;
  int64_t n_;
  Activation act_;
  bool hard_sigmoid_ = false;
  float alpha_ = 0.f, beta_ = 0.f;
};

enum class BinOp { Add, Sub, Mul, Div };

template <class T>
T apply(BinOp op, T a, T b) {
  switch (op) {
    case BinOp::Add: return a + b;
    case BinOp::Sub: return a - b;
    case BinOp::Mul: return a * b;
    case BinOp::Div:
      if constexpr (std::is_integral_v<T>) {
        if (b == 0) return 0;
        if (b == -1 && a == std::numeric_limits<T>::min()) return a;  // -min wraps to min
      }
      return a / b;
  }
  return a;
}

template <class T>
class BinaryKernel : public Kernel {
 public:
  BinaryKernel(const KernelArgs& a, BinOp op)
      : op_(op), a_(a.in[0].ptr<const T>()), b_(a.in[1].ptr<const T>()),
        y_(a.out[0].ptr<T>()), shape_(a.out[0].shape) {
    check_shape("output", shape_, broadcast_shape(a.in[0].shape, a.in[1].shape));
    sa_ = broadcast_strides(a.in[0].shape, shape_);
    sb_ = broadcast_strides(a.in[1].shape, shape_);
  }
  void run(ExecContext&) override {
    if (numel(shape_) == 0) return;
    Odometer it(shape_, {sa_, sb_});
    T* y = y_;
    do {
      *y++ = apply(op_, a_[it.offset(0)], b_[it.offset(1)]);
    } while (it.next());
  }

 private:
  BinOp op_;
  const T* a_;
  const T* b_;
  T* y_;
  Shape shape_;
  std::vector<int64_t> sa_, sb_;
};

}  // namespace

std::unique_ptr<Kernel> make_unary(const KernelArgs& a) {
  check_arity(a, 1, 1, 1);
  if (!all_dtype(a, DType::F32)) return nullptr;
  return std::make_unique<UnaryKernel>(a);
}

std::unique_ptr<Kernel> make_binary(const KernelArgs& a) {
  check_arity(a, 2, 2, 1);
  const std::string& name = a.node->op;
  const BinOp op = name == "Add"   ? BinOp::Add
                   : name == "Sub" ? BinOp::Sub
                   : name == "Mul" ? BinOp::Mul
                                   : BinOp::Div;
  if (all_dtype(a, DType::F32)) return std::make_unique<BinaryKernel<float>>(a, op);
  if (all_dtype(a, DType::I32)) return std::make_unique<BinaryKernel<int32_t>>(a, op);
  if (all_dtype(a, DType::I64)) return std::make_unique<BinaryKernel<int64_t>>(a, op);
  return nullptr;
}

}  // namespace ref
}  // namespace vedge

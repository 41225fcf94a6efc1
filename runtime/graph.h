// graph.h: the graph IR, the hub of Vision-Edge. Importers (onnx_import.h)
// produce it; the executor, quantizer and exporters consume it.
//
// A Graph is a list of Values (tensors with a static dtype and shape, some
// of them constants) and a list of Nodes in topological order. After import
// every shape is static and every node is in the canonical form below, so
// later passes never look at ONNX opset differences.
//
// Canonical ops (logical layout is always the ONNX one: NCHW for images):
//   Conv            in: X, W (const), [B (const)]
//                   attrs: strides[2], pads[4] (top,left,bottom,right),
//                   dilations[2], group; "activation" (string, optional:
//                   relu | relu6 | clip | hardswish | sigmoid) with
//                   "act_min"/"act_max" for clip, set by fusion passes.
//   Relu | Sigmoid | HardSwish   (element-wise)
//   HardSigmoid     attrs: alpha, beta
//   Clip            attrs: min, max (floats; -inf/+inf when absent)
//   Add | Sub | Mul | Div   numpy broadcasting
//   GlobalAveragePool
//   AveragePool | MaxPool   attrs: kernel_shape[2], strides[2], pads[4],
//                   count_include_pad (AveragePool), ceil_mode is resolved
//                   into the output shape and the bottom/right pads
//   Gemm            in: A, B, [C]; attrs: transA, transB, alpha, beta
//   MatMul          in: A, B (numpy matmul semantics)
//   Reshape         in: X; attrs: shape (resolved, no 0/-1)
//   Flatten         -> rewritten to Reshape by the importer
//   Transpose       attrs: perm
//   Concat          attrs: axis (non-negative)
//   Softmax         attrs: axis (non-negative); opset < 13 "coerce to 2D"
//                   forms are rewritten to Reshape/Softmax/Reshape
//   Resize          attrs: mode ("nearest" | "linear"),
//                   coordinate_transformation_mode, nearest_mode; output
//                   shape resolved into the output Value
//   Relayout        internal, inserted by the executor only: same logical
//                   shape in and out, copies between two memory layouts.
//
// Quantization (QDQ models, see docs/quantization.md). ONNX semantics:
//   QuantizeLinear  in: X (F32), scale (const F32, scalar or [C]),
//                   zero_point (const I8 or U8, same shape as scale);
//                   attrs: axis (per-axis form). Out dtype = zero_point's.
//                   y = saturate(round_half_even(x / scale) + zero_point)
//   DequantizeLinear in: X (I8, U8 or I32), scale, [zero_point]; attrs: axis.
//                   y = (x - zero_point) * scale  (F32)
//   Cast            attrs: to ("float"); only in graphs built for export
//                   (FP16 weights cast to float); the importer folds it.
// Integer ops, produced from DQ -> op -> Q patterns by lower_qdq
// (runtime/quant_lower.h). Every I8 activation Value carries per-tensor
// Value::quant; weights carry per-channel quant (axis 0, zero point 0);
// an I32 bias carries scale in_scale * w_scale[c]. Requantization is done
// in float: v = (float)acc * m, clamped to the output range minus the zero
// point, rounded half-to-even, plus the zero point (exact definitions in
// runtime/quant_math.h, shared by the reference kernels (ops/ref_quant.cpp)
// and every fast kernel, which must match them bit for bit):
//   QConv           in: X (I8), W (const I8 [M,C/g,kh,kw]), [B (const I32)];
//                   attrs as Conv; "activation" relu | relu6 | clip narrows
//                   the output range. m[c] = (sx * sw[c]) / sy.
//   QAdd | QMul     in: A, B (I8, numpy broadcasting); optional
//                   "activation" as QConv.
//   QGlobalAveragePool   m = sx / (sy * H*W) over the int32 sum of (x - zx)
//   QLut            in: X (I8); attr "table": 256 outputs indexed by x+128
//                   (any element-wise float op: HardSwish, HardSigmoid,
//                   Sigmoid, ...; built as Q(f(DQ(x)))); "func" = that op's
//                   name and its float attrs (alpha, beta, min, max) kept
//   QConcat         attrs: axis; inputs requantized to the output's params
//   Reshape, Transpose, Relayout and views move I8 data unchanged.
//   Identity, Dropout, Shape/Gather/Unsqueeze/Squeeze/Concat/Cast/Slice
//   chains over constants: removed or folded to constants by the importer.
//
// Depends on tensor.h only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "runtime/tensor.h"

namespace vedge {

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                               std::vector<float>>;

class Attrs {
 public:
  bool has(const std::string& k) const { return m_.count(k) != 0; }
  void set(const std::string& k, AttrValue v) { m_[k] = std::move(v); }
  void erase(const std::string& k) { m_.erase(k); }
  // Typed getters: return `def` when absent; throw vedge::Error on a type
  // mismatch. get_i accepts a float attribute only if it is integral.
  int64_t get_i(const std::string& k, int64_t def = 0) const;
  float get_f(const std::string& k, float def = 0.f) const;
  std::string get_s(const std::string& k, const std::string& def = "") const;
  std::vector<int64_t> get_ints(const std::string& k,
                                const std::vector<int64_t>& def = {}) const;
  std::vector<float> get_floats(const std::string& k,
                                const std::vector<float>& def = {}) const;
  const std::map<std::string, AttrValue>& all() const { return m_; }

 private:
  std::map<std::string, AttrValue> m_;
};

// Quantization parameters of an integer value: real = (q - zero_point) *
// scale. Per-tensor: one scale and zero point, axis -1. Per-channel: one
// per index of `axis`.
struct QuantParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int axis = -1;
  bool present() const { return !scale.empty(); }
};

struct Value {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  Tensor constant;  // non-empty for initializers and folded constants
  QuantParams quant;  // integer values after lower_qdq; empty otherwise
  bool is_constant() const { return !constant.empty(); }
};

struct Node {
  std::string name;  // the source node's name (or "<op>_<index>" if unnamed)
  std::string op;    // canonical op name, see the table above
  std::vector<int> inputs;   // value ids; -1 = optional input absent
  std::vector<int> outputs;  // value ids
  Attrs attrs;
  // "'Conv_12' (Conv)": how error messages name a node.
  std::string label() const;
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<int> inputs;   // graph inputs (non-constant values)
  std::vector<int> outputs;  // graph outputs
  std::map<std::string, std::string> metadata;  // ONNX metadata_props
  std::string source;  // file it came from, for error messages

  int add_value(Value v);
  int add_constant(const std::string& name, Tensor t);
  int find_value(const std::string& name) const;  // -1 if absent
  // Number of nodes that read each value, plus 1 for graph outputs.
  std::vector<int> use_counts() const;
  // Drops nodes whose outputs nobody uses and values nothing refers to,
  // renumbering value ids. Keeps graph inputs and outputs.
  void prune();
  // Throws vedge::Error if ids are out of range, a node reads a value
  // produced later, or a shape is not static.
  void validate() const;
};

// Multiply-accumulate count of a node (0 for ops that do no MACs).
int64_t node_macs(const Graph& g, const Node& n);

}  // namespace vedge

namespace vedge {

// Number of nodes per op name, for `vedge info`.
std::map<std::string, int> op_histogram(const Graph& g);
// Elements of the float and quantized (I8 weight, I32 bias) constants the
// nodes read (weights, biases, broadcast scales).
int64_t param_count(const Graph& g);

}  // namespace vedge

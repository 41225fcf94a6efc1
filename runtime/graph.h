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

struct Value {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  Tensor constant;  // non-empty for initializers and folded constants
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
// Elements of the float constants the nodes read (weights, biases, scales).
int64_t param_count(const Graph& g);

}  // namespace vedge

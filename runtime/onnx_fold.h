// onnx_fold.h: evaluates ONNX nodes whose inputs are all constant tensors
// (Gather, Concat, Cast, Slice, Transpose, Expand, Where, Range,
// ConstantOfShape and element-wise math, in any dtype) and decodes ONNX
// TensorProtos into Tensors; both share the element conversion rules and
// the size limit below. The ONNX importer calls it for such nodes.
// Must not depend on the importer, on a Graph being built, or on kernels:
// it sees one node's attributes and input tensors only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace onnx {
class NodeProto;
class TensorProto;
}  // namespace onnx

namespace vedge {

// Upper bound on elements of any tensor the importer materializes, so a
// malformed file cannot make it allocate without limit.
constexpr int64_t kMaxImportElements = int64_t{1} << 26;

// True when the shape has a negative dimension or more than
// kMaxImportElements elements (computed without overflow).
bool too_large_for_import(const Shape& s);

// Decodes an ONNX tensor (raw or typed data; double, int16 and uint16 are
// converted to F32 and I32). Errors read "<where>: <problem>".
Tensor tensor_from_onnx(const onnx::TensorProto& t, const std::string& where);

// True for the ops fold_onnx_node evaluates.
bool is_foldable_onnx_op(const std::string& op);

// Evaluates `node` (its op_type, its attributes) over constant inputs:
// inputs[i] is node input i, nullptr when that optional input is absent.
// `opset` is the model's default-domain opset. Returns the node's output
// (every foldable op has one; Dropout's mask is not produced), or nullopt
// when the op is not a foldable one. Errors throw vedge::Error reading
// "<source>: node '<node_name>' (<op>): <problem>".
std::optional<Tensor> fold_onnx_node(const onnx::NodeProto& node,
                                     const std::vector<const Tensor*>& inputs, int64_t opset,
                                     const std::string& source, const std::string& node_name);

}  // namespace vedge

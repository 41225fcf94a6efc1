// shape_inference.h: output shapes and dtypes of the canonical ops (graph.h).
// Used by the ONNX importer while it builds a Graph, and callable on a
// finished Graph to re-check it. Every inconsistency (channel mismatch,
// shapes that do not broadcast, a reshape that changes the element count,
// ...) throws vedge::Error naming the file and the node.
// Depends on graph.h only; no ONNX, no kernels.
#pragma once

#include <vector>

#include "runtime/graph.h"

namespace vedge {

// Shapes of n's outputs computed from the shapes of its inputs and its
// attributes. Resize keeps the output shape the importer resolved (its
// output Value must already have one of the input's rank). Also accepts the
// importer-internal ops Identity, Pad (attr pads [t,l,b,r]) and
// BatchNormalization.
std::vector<Shape> infer_node_shapes(const Graph& g, const Node& n);

// dtype of n's outputs: QuantizeLinear -> its zero point's (U8 when absent),
// DequantizeLinear -> F32, the integer ops (QConv, QAdd, ...) -> I8, Cast ->
// F32; every other op -> the dtype of its first input.
DType infer_node_dtype(const Graph& g, const Node& n);

// Recomputes every node output's shape and dtype in topological order.
void infer_shapes(Graph& g);

// numpy broadcasting of two shapes; throws vedge::Error (with `what` as the
// message prefix) when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what);

}  // namespace vedge

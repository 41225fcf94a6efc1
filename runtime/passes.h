// passes.h: rewrites on the canonical graph IR (graph.h). The ONNX importer
// runs them in the order of optimize_graph(); each one can also be run and
// tested alone. Every pass keeps the graph's inputs, outputs and results
// unchanged and returns how many rewrites it made. They leave unused values
// behind: call Graph::prune() afterwards.
// Depends on graph.h, quant_lower.h and executor.h's eval_node_reference (to evaluate
// canonical ops over constants); no ONNX.
#pragma once

#include <vector>

#include "runtime/graph.h"
#include "runtime/quant_lower.h"

namespace vedge {

// Evaluates a node whose present inputs are all constants (canonical ops via
// the reference kernels). Throws vedge::Error naming the node otherwise.
std::vector<Tensor> evaluate_constant_node(const Graph& g, const Node& n);

// Replaces every node whose inputs are all constants by constant outputs,
// except DequantizeLinear (quantized weights stay integer until lower_qdq or
// fold_dequantized_constants, quant_lower.h, has seen them).
int fold_constants(Graph& g);

// Folds BatchNormalization (inputs X, scale, bias, mean, var; attr epsilon)
// into the preceding Conv's weights and bias when X is produced by a Conv
// (without fused activation) that nothing else reads; otherwise rewrites it
// to Mul + Add with per-channel constants.
int fold_batchnorm(Graph& g);

// Removes Identity nodes, rewiring their readers to the input. A graph
// output keeps its name (the producer's value is renamed) when possible.
int remove_identity(Graph& g);

// Merges an importer-internal zero Pad (attr pads [t,l,b,r] on H/W) into the
// pads of the Conv or AveragePool that is its only reader (the pool must
// count padding already, or pad nothing itself: it then gets
// count_include_pad=1).
int merge_pad(Graph& g);

// The hand-written forms relu6(x + 3) / 6 -> HardSigmoid(x; 1/6, 0.5) and
// x * relu6(x + 3) / 6 -> HardSwish(x), with relu6 as Clip(0, 6) or
// Relu + Clip and / 6 as Div or Mul by 1/6, when no intermediate has
// another reader.
int fuse_relu6_hardswish(Graph& g);

// x * HardSigmoid(x) with alpha 1/6, beta 0.5 -> HardSwish(x), when the
// HardSigmoid result has no other reader.
int fuse_hardswish(Graph& g);

// Conv followed by Relu / Clip / HardSwish / Sigmoid, as the only reader of
// the conv output (which is not a graph output), becomes one Conv with the
// "activation" attribute: relu, relu6 (Clip 0..6), clip (act_min/act_max),
// hardswish, sigmoid. Chains of clamps (Relu then Clip 0..6) merge into one
// range; hardswish/sigmoid are fused only into a conv without activation.
int fuse_conv_activation(Graph& g);

// The clamp range [lo, hi] of a fused "activation" attribute (none: +-inf;
// relu, relu6, clip); false for hardswish/sigmoid, which are not clamps.
bool activation_range(const Attrs& a, float& lo, float& hi);
// Writes [lo, hi] back as the simplest fused activation (none, relu, relu6
// or clip with act_min/act_max).
void set_activation_range(Attrs& a, float lo, float hi);

// The importer's pipeline: remove_identity, [Simulate:
// fold_dequantized_constants], fold_batchnorm, fold_constants, merge_pad,
// fuse_relu6_hardswish, fuse_hardswish (so a hardswish written as
// HardSigmoid * x is one op before lowering), fuse_conv_activation,
// [Integer: lower_qdq, then fold_dequantized_constants and fold_constants
// for the weights of the ops left in float]; then prune. A graph without QDQ nodes is
// optimized the same in both modes.
void optimize_graph(Graph& g, QdqMode qdq = QdqMode::Integer);

}  // namespace vedge

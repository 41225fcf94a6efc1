// qdq_builder.h: turns a float graph IR into the QDQ graph that `vedge
// quantize` writes (docs/quantization.md, "File format"): int8 per-channel
// symmetric weights, int32 biases, per-tensor int8/uint8 activation
// QuantizeLinear -> DequantizeLinear pairs after every quantization point,
// optional full-integer I/O; or the dynamic-range (int8 weights only) and
// FP16 (float16 constants + Cast) variants. The result is an ordinary
// Graph that tools/export/onnx_writer.h writes and ONNX Runtime runs.
//
// Activation ranges -> parameters (one definition, activation_params()):
// the range is widened to include 0, then
//   int8:  scale = (hi - lo) / 255, zero_point = round(-128 - lo / scale)
//          clamped to [-128, 127];
//   uint8: scale = (hi - lo) / 255, zero_point = round(-lo / scale) in [0, 255].
// A zero-width range (hi == lo == 0: a tensor that is always 0) gets
// scale 1 and the zero point of 0 (-128 for int8 with lo = 0, 0 for uint8),
// so 0 is represented exactly and nothing divides by zero. Non-finite range
// ends are an error naming the value.
//
// Depends on runtime/graph.h and tools/quantize/observers.h (TensorRange);
// no LibTorch, no ONNX library.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runtime/graph.h"
#include "tools/quantize/observers.h"

namespace vedge {

enum class Precision { FP32, FP16, Dynamic, INT8 };
const char* precision_name(Precision p);            // "fp32" | "fp16" | "dynamic" | "int8"
Precision parse_precision(const std::string& s);    // one-line vedge::Error when unknown

struct QdqOptions {
  Precision precision = Precision::INT8;
  DType activations = DType::I8;  // I8 or U8
  // Full-integer I/O: F32 (none), I8 or U8 = the graph input's type (NCHW,
  // followed by a DequantizeLinear); the graph outputs are then the
  // QuantizeLinear outputs, of the activation type.
  DType io = DType::F32;
  std::set<std::string> float_nodes;  // node names kept in float (mixed precision)
};

struct QuantPoint {
  std::string value;     // float value name in the prepared graph
  std::string node;      // its producer node's name
  std::string op;        // its producer's op
  std::string dq_value;  // the DequantizeLinear output in the QDQ graph; empty for a
                         // full-integer graph output (a QuantizeLinear with no DQ after it)
};

// Splits fused hardswish/sigmoid activations off their Conv so that every
// quantization point is a value of the graph. relu/relu6/clip stay fused
// (the writer emits them as their own node and the Q/DQ pair follows it).
// Throws a one-line vedge::Error when the graph has nothing to quantize (no
// Conv/Gemm/MatMul with float weights) or is already quantized.
Graph prepare_for_quantization(const Graph& float_graph);

// The values that get an activation Q/DQ pair, in graph order: the outputs
// of the quantized nodes (Conv with float weights, GlobalAveragePool,
// HardSigmoid, HardSwish, Sigmoid, Add, Mul), every other value a quantized
// node reads that is not already a DQ output (possibly through Reshape /
// Transpose): the graph input, the output of a node kept in float, ...; with
// full-integer io the graph input and the graph outputs (the head Concats).
// A node in opt.float_nodes runs in float (float weights, its inputs are DQ
// outputs, its output quantized only if a quantized node reads it); a
// hardswish/sigmoid split off a Conv follows its Conv. Empty for FP16 /
// Dynamic. Names: DQ output "<value>_dq" (graph outputs keep their own
// names); point k's constants, QuantizeLinear output and nodes "qdq<k>_*".
std::vector<QuantPoint> quantization_points(const Graph& prepared, const QdqOptions& opt);

// Builds the QDQ graph. `ranges` maps every quantization point's value name
// to its calibrated range (INT8 only; unused for FP16/Dynamic). Throws a
// one-line vedge::Error naming a point without a range.
Graph build_qdq_graph(const Graph& prepared, const std::map<std::string, TensorRange>& ranges,
                      const QdqOptions& opt);

// Per-tensor parameters of an activation range, as documented above.
QuantParams activation_params(TensorRange r, DType dtype);

// Per-channel symmetric int8 weight scales along axis 0: scale[c] =
// max|w[c,...]| / 127 (1 for an all-zero channel). The quantized weights
// are round_half_even(w / scale[c]) clamped to [-127, 127].
std::vector<float> weight_scales(const Tensor& w);
Tensor quantize_weights(const Tensor& w, const std::vector<float>& scales);

}  // namespace vedge

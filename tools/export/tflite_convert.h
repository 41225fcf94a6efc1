// tflite_convert.h: the graph IR (graph.h) -> an in-memory TFLite model
// (tflite_model.h), the inverse of runtime/tflite_import.h.
//
// Two kinds of graphs are converted:
//   - float graphs (Conv with fused activations, HardSwish, HardSigmoid,
//     Sigmoid, Relu, Clip, Add, Sub, Mul, GlobalAveragePool, AveragePool,
//     MaxPool, Reshape, Transpose, Concat, Softmax, Gemm/MatMul with a
//     constant 2-D weight), with float32, float16 (+ DEQUANTIZE) or int8
//     per-channel (+ DEQUANTIZE, "dynamic") weights;
//   - lowered integer graphs (runtime/quant_lower.h): QConv, QAdd, QMul,
//     QGlobalAveragePool, QLut (by its "func"), QConcat, QuantizeLinear,
//     DequantizeLinear, int8 Reshape/Transpose, and float ops between a
//     DequantizeLinear and a QuantizeLinear.
// Layout: every 4-D activation is NHWC in the file (the image input
// [1,3,H,W] becomes [1,H,W,3]); values of other ranks keep the IR's shape and
// element order. Layout-sensitive ops are mapped so that results equal the
// IR's (a Transpose(0,2,3,1) of a 4-D activation costs nothing; TRANSPOSE or
// RESHAPE ops are inserted only where the element order really differs).
// Graph input and output tensors keep the IR value names.
// Depends on runtime/ (graph, quant_lower for folding), tools/export/
// tflite_model.h and tools/quantize/qdq_builder.h (weight scales); no
// FlatBuffers (tflite_writer.h serializes the result).
#pragma once

#include "runtime/graph.h"
#include "tools/export/tflite_model.h"

namespace vedge {

enum class TfliteWeights { Float32, Float16, Int8 };  // for float-compute weights

struct TfliteConvertOptions {
  // Constants of a float graph: Float32; Float16 = every float constant of
  // >= 2 elements stored as float16 and DEQUANTIZEd to float32 (scalars stay
  // float32); Int8 = convolution weights int8 per-channel symmetric
  // (qdq_builder.h's weight_scales) DEQUANTIZEd to float32, all else float32.
  // Integer ops of a lowered graph are not affected.
  TfliteWeights weights = TfliteWeights::Float32;
};

// Converts a canonical graph with static shapes. Throws a one-line
// vedge::Error naming the node for an op or attribute TFLite cannot express.
// Graph::metadata is NOT copied (the caller sets Model::metadata).
tflite::Model graph_to_tflite(const Graph& g, const TfliteConvertOptions& opt = {});

}  // namespace vedge

// quant_lower.h: the two ways a QDQ graph (QuantizeLinear/DequantizeLinear
// pairs, see graph.h and docs/quantization.md) is made ready to run.
//
//   QdqMode::Integer  (default of ImportOptions::qdq): lower_qdq rewrites
//     DQ -> op -> Q patterns into the integer ops QConv, QAdd, QMul,
//     QGlobalAveragePool, QLut and QConcat; what does not match stays
//     DQ -> float op -> Q, which is always correct.
//   QdqMode::Simulate: fold_dequantized_constants only; every activation
//     Q -> DQ pair is kept and run by the QuantizeLinear/DequantizeLinear
//     kernels ("fake quantization", the float reference of the analysis).
//
// Both work on a canonical graph (after import, or built in memory by the
// quantizer) and return how many rewrites they made; they leave unused
// values behind (call Graph::prune()).
// Depends on graph.h (and, in the .cpp, on the reference kernels to build
// lookup tables and fold constants); no ONNX.
#pragma once

#include "runtime/graph.h"

namespace vedge {

enum class QdqMode { Integer, Simulate };

// "integer" | "simulate".
const char* qdq_mode_name(QdqMode m);

// Every DequantizeLinear whose inputs are all constants becomes a float
// constant (weights, biases), so Conv's W is a constant again.
int fold_dequantized_constants(Graph& g);

// uint8 quantization is rewritten exactly as int8 with zero point - 128
// (uint8 graph inputs/outputs keep their dtype and are converted at the
// boundary by a DequantizeLinear + QuantizeLinear pair), then, in order:
//   - DequantizeLinear (per-tensor) is moved past Reshape/Transpose so int8
//     data flows through them;
//   - DQ(x) -> Conv [relu|relu6|clip] -> Q with int8 weights of zero point 0
//     (per-channel axis 0 or per-tensor) and an int32 or float bias
//     -> QConv (a bias whose scale is not exactly sx * sw[c] is requantized);
//   - DQ(a), DQ(b) -> Add | Mul -> Q  -> QAdd | QMul;
//   - DQ(x) -> GlobalAveragePool -> Q -> QGlobalAveragePool;
//   - DQ(x) -> element-wise float op -> Q -> QLut (table = Q(f(DQ(x))));
//   - DQ(x_i) -> Concat -> Q -> QConcat;
// where every DQ input and Q output is int8 per-tensor. Sets Value::quant
// on every integer value it creates or reads.
int lower_qdq(Graph& g);

}  // namespace vedge

// onnx_writer.h: writes a graph IR (runtime/graph.h) as an ONNX ModelProto,
// opset 13 (IR version 7): every canonical op mapped back to standard ONNX
// ops (a Conv's fused activation becomes its own node, HardSwish becomes
// HardSigmoid(1/6, 1/2) * x since opset 13 has no HardSwish, Reshape/Clip/
// Resize attributes become constant inputs; QuantizeLinear/DequantizeLinear
// keep their "axis", Cast(to float) gets the ONNX type code), constants of
// any dtype (f32, f16, int8, uint8, int32, int64) become initializers (raw
// little-endian data), graph inputs/outputs keep their dtype (a full-integer
// quantized model has uint8/int8 ones), metadata becomes metadata_props, producer
// "vision-edge" with the project version. The protobuf wire format is
// encoded here directly, so this needs no protobuf library. Files are
// written to a temporary file in the target folder and renamed.
// Depends on runtime/graph.h and runtime/error.h only (no LibTorch).
#pragma once

#include <map>
#include <string>

#include "runtime/graph.h"

namespace vedge {

inline constexpr int kOnnxWriterOpset = 13;

// The serialized ModelProto. `metadata` entries are written in key order
// (they replace the graph's own Graph::metadata, which is not consulted).
// Throws vedge::Error naming the node when an op has no ONNX form (e.g. the
// executor-internal Relayout).
std::string serialize_onnx(const Graph& g, const std::map<std::string, std::string>& metadata);

// serialize_onnx() written atomically to `path` (temporary file + rename);
// one vedge::Error line naming the path on failure, and no file left behind.
void write_onnx(const Graph& g, const std::map<std::string, std::string>& metadata,
                const std::string& path);

}  // namespace vedge

// onnx_import.h: reads an ONNX model (Debian's libonnx protobuf) into the
// canonical graph IR (graph.h): all shapes static, constant sub-graphs
// folded, BatchNormalization folded into convolutions, activations fused,
// opset differences resolved. Anything it cannot run is rejected with one
// vedge::Error line naming the file, the node and the problem, e.g.
//   "model.onnx: node 'NonMaxSuppression_7' (NonMaxSuppression): unsupported operator"
// Depends on graph.h, quant_lower.h, shape_inference.h, passes.h; the ONNX protobuf types
// stay inside onnx_import.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "runtime/graph.h"
#include "runtime/quant_lower.h"

namespace vedge {

struct ImportOptions {
  // Value given to a dynamic/symbolic first (batch) dimension of an input;
  // -1 keeps such a dimension an error.
  int64_t batch = 1;
  // Full shape per input name, overriding what the model declares.
  std::map<std::string, Shape> input_shapes;
  // How QDQ models (QuantizeLinear/DequantizeLinear) run: Integer lowers
  // DQ -> op -> Q patterns to integer ops; Simulate keeps float ops and
  // fake-quantizes activations (see quant_lower.h).
  QdqMode qdq = QdqMode::Integer;
};

Graph import_onnx_file(const std::string& path, const ImportOptions& opt = {});
// `source_name` names the model in error messages and becomes Graph::source.
Graph import_onnx_bytes(const std::string& bytes, const std::string& source_name,
                        const ImportOptions& opt = {});

}  // namespace vedge

// tflite_import.h: reads a TFLite (.tflite, FlatBuffers "TFL3") model into
// the canonical graph IR (graph.h), for the ops of MobileNet classifiers and
// SSD detectors: CONV_2D, DEPTHWISE_CONV_2D, ADD, SUB, MUL, HARD_SWISH,
// LOGISTIC, RELU, RELU6, RELU_N1_TO_1, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN
// (spatial), PAD (zero, spatial), RESHAPE, SQUEEZE, TRANSPOSE, SOFTMAX,
// QUANTIZE, DEQUANTIZE, CONCATENATION, FULLY_CONNECTED and fused
// activations. read_tflite_info lists any file's operators without
// importing them.
//
// Numbers (TfliteImportOptions::numbers). Float (the default): the graph
// computes in float. Quantized (uint8/int8, per-tensor or per-channel) and
// float16 weights and biases are dequantized to float at load (real =
// scale * (q - zero_point)); quantized activations become float tensors
// holding the real values they stand for, so QUANTIZE / DEQUANTIZE are
// identities. A uint8 model thus takes the *dequantized* input: for an input
// quantized with (scale, zero_point), feed (pixel - zero_point) * scale,
// i.e. mean = zero_point, std = 1 / scale in preprocess.h units
// (TfliteModelInfo gives both). Results equal the quantized kernels' up to
// their rounding; what weight initialization needs. Integer: the file's
// quantization is kept and run on the integer kernels (see TfliteNumbers).
//
// Layout: TFLite is NHWC, the IR's logical layout is NCHW (graph.h). Graph
// inputs and outputs keep the file's NHWC shapes (4-D inputs become NCHW
// with TfliteImportOptions::nchw_inputs); 4-D activations inside are NCHW,
// with Transpose nodes at the boundary (views in the executor), and ops
// whose semantics depend on the layout (RESHAPE, TRANSPOSE, FULLY_CONNECTED,
// CONCATENATION/MEAN axes, broadcast constants) are mapped accordingly.
//
// Model.metadata entries (e.g. "vedge.detector" written by the exporter)
// become Graph::metadata, next to "tflite.schema_version" and
// "tflite.description".
//
// The FlatBuffers schema subset (tables, field numbers) is documented in
// docs/tflite-format.md. The buffer is checked by flatbuffers::Verifier and
// every index, shape and buffer size is checked before use: a malformed file
// ends in one vedge::Error naming the file and the problem, never a crash.
// Depends on graph.h, shape_inference.h, passes.h, quant_lower.h and the
// flatbuffers headers (inside tflite_import.cpp only); no TensorFlow, no
// LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/graph.h"

namespace vedge {

// One graph input or output as the file declares it.
struct TfliteTensorInfo {
  std::string name;
  std::string type;  // "float32", "uint8", "int8", ...
  Shape shape;       // NHWC for images, as in the file
  // Quantization (empty when the tensor is not quantized): per-tensor
  // tensors have one scale and zero point.
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
};

// One operator as the file declares it (read_tflite_info).
struct TfliteOpInfo {
  int index = 0;
  // The BuiltinOperator name ("CONV_2D", ...; "BUILTIN_<code>" for a code
  // newer than this table) or, for CUSTOM, the custom code (e.g.
  // "TFLite_Detection_PostProcess").
  std::string op;
  // Types ("float32", "int8", ...; "none" for an absent optional input,
  // index -1) and shapes as in the file (shapes unchecked, may hold -1).
  std::vector<std::string> input_types, output_types;
  std::vector<Shape> input_shapes, output_shapes;
  std::vector<bool> input_constant;  // the input has data in a buffer (weights, biases)
  bool custom = false;               // a CUSTOM operator
  int version = 1;                   // OperatorCode.version
  // CONV_2D / DEPTHWISE_CONV_2D (filter from the weights' shape) and
  // AVERAGE_POOL_2D / MAX_POOL_2D (filter from the options); 0 otherwise.
  int filter_h = 0, filter_w = 0, stride_h = 0, stride_w = 0;
};

struct TfliteModelInfo {
  uint32_t schema_version = 0;
  std::string description;
  std::vector<TfliteTensorInfo> inputs, outputs;
  // Model.metadata entries: name -> the buffer's bytes (trailing NULs
  // dropped); a value that is not text reads "(binary, N bytes)".
  std::map<std::string, std::string> metadata;
  std::vector<TfliteOpInfo> ops;  // subgraph 0, in execution order
};

// How import_tflite_* builds the graph.
enum class TfliteNumbers {
  // Everything computes in float: quantized constants are dequantized at
  // load and quantized activations hold their real values (see above). What
  // weight initialization (train/backbone_init.cpp) needs.
  Float,
  // Integer: int8/uint8 per-tensor quantized activations become
  // QuantizeLinear -> DequantizeLinear pairs, quantized weights and biases
  // DequantizeLinear of integer constants, and the QDQ graph is lowered to
  // the integer ops (runtime/quant_lower.h lower_qdq), as a QDQ ONNX model
  // imported with QdqMode::Integer. Graph inputs and outputs that are
  // int8/uint8 in the file keep that dtype, with Value::quant set.
  // Requantization is float (runtime/quant_math.h), TFLite's is fixed
  // point: results agree within one quantization step.
  Integer,
  // The same QDQ graph run by the QuantizeLinear/DequantizeLinear kernels
  // (QdqMode::Simulate): the float reference of Integer.
  Simulate,
};

struct TfliteImportOptions {
  TfliteNumbers numbers = TfliteNumbers::Float;
  // 4-D graph inputs become logical NCHW [N,C,H,W] values (as an ONNX
  // model's), without the boundary Transpose: what the Detector feeds.
  bool nchw_inputs = false;
};

// True when the file starts like a TFLite flatbuffer (identifier "TFL3" at
// byte 4). Does not throw; a missing file is simply not TFLite.
bool is_tflite_file(const std::string& path);
bool is_tflite_bytes(const std::string& bytes);

// `info`, when given, receives what read_tflite_info() returns.
Graph import_tflite_file(const std::string& path, TfliteModelInfo* info = nullptr,
                         const TfliteImportOptions& opt = {});
// `source_name` names the model in error messages and becomes Graph::source.
Graph import_tflite_bytes(const std::string& bytes, const std::string& source_name,
                          TfliteModelInfo* info = nullptr, const TfliteImportOptions& opt = {});

// The inputs, outputs, metadata and operators of a file without building the
// graph: files with operators the importer cannot run (e.g. the custom
// TFLite_Detection_PostProcess) are listed too. The buffer is verified and
// every index checked; a malformed file is one vedge::Error line.
TfliteModelInfo read_tflite_info(const std::string& bytes, const std::string& source_name);
TfliteModelInfo read_tflite_info_file(const std::string& path);

}  // namespace vedge

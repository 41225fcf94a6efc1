// tflite_import.h: reads a TFLite (.tflite, FlatBuffers "TFL3") model into
// the canonical graph IR (graph.h), for the ops of MobileNet classifiers and
// SSD detectors: CONV_2D, DEPTHWISE_CONV_2D, ADD, SUB, MUL, HARD_SWISH,
// LOGISTIC, RELU, RELU6, RELU_N1_TO_1, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN
// (spatial), PAD (zero, spatial), RESHAPE, SQUEEZE, SOFTMAX, QUANTIZE,
// DEQUANTIZE, CONCATENATION, FULLY_CONNECTED and fused activations.
//
// Numbers: the graph always computes in float. Quantized (uint8/int8,
// per-tensor or per-channel) and float16 weights and biases are dequantized
// to float at load (real = scale * (q - zero_point)); quantized activations
// become float tensors holding the real values they stand for, so QUANTIZE /
// DEQUANTIZE are identities. A uint8 model thus takes the *dequantized*
// input: for an input quantized with (scale, zero_point), feed
// (pixel - zero_point) * scale, i.e. mean = zero_point, std = 1 / scale in
// preprocess.h units (TfliteModelInfo gives both). Results equal the
// quantized kernels' up to their rounding; what weight initialization needs.
//
// Layout: TFLite is NHWC, the IR's logical layout is NCHW (graph.h). Graph
// inputs and outputs keep the file's NHWC shapes; 4-D activations inside are
// NCHW, with Transpose nodes at the boundary (views in the executor), and
// ops whose semantics depend on the layout (RESHAPE, FULLY_CONNECTED,
// CONCATENATION/MEAN axes, broadcast constants) are mapped accordingly.
//
// The FlatBuffers schema subset (tables, field numbers) is documented in
// docs/tflite-format.md. The buffer is checked by flatbuffers::Verifier and
// every index, shape and buffer size is checked before use: a malformed file
// ends in one vedge::Error naming the file and the problem, never a crash.
// Depends on graph.h, shape_inference.h, passes.h and the flatbuffers
// headers (inside tflite_import.cpp only); no TensorFlow, no LibTorch.
#pragma once

#include <cstdint>
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

struct TfliteModelInfo {
  uint32_t schema_version = 0;
  std::string description;
  std::vector<TfliteTensorInfo> inputs, outputs;
};

// True when the file starts like a TFLite flatbuffer (identifier "TFL3" at
// byte 4). Does not throw; a missing file is simply not TFLite.
bool is_tflite_file(const std::string& path);
bool is_tflite_bytes(const std::string& bytes);

// `info`, when given, receives the inputs/outputs as declared in the file.
Graph import_tflite_file(const std::string& path, TfliteModelInfo* info = nullptr);
// `source_name` names the model in error messages and becomes Graph::source.
Graph import_tflite_bytes(const std::string& bytes, const std::string& source_name,
                          TfliteModelInfo* info = nullptr);

}  // namespace vedge

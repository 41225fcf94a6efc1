// tflite_schema.h: facts of the TFLite FlatBuffers schema (schema version 3,
// docs/tflite-format.md) that the reader (runtime/tflite_import.cpp) and the
// writer (tools/export/tflite_writer.cpp) share: where a field lives in a
// table's vtable, the BuiltinOptions union's type values, and the
// BuiltinOperator names. Depends on the standard library only.
#pragma once

#include <cstdint>
#include <string>

namespace vedge::tflite_schema {

// The vtable slot of field `number` (fields count from 0 in declaration
// order; a union takes two numbers, its type then its value).
constexpr uint16_t field_slot(int number) { return static_cast<uint16_t>(4 + 2 * number); }

// BuiltinOptions union type values of the option tables Vision-Edge reads or
// writes (0 = no options).
enum OptionsType : uint8_t {
  kNoOptions = 0,
  kConv2DOptions = 1,
  kDepthwiseConv2DOptions = 2,
  kPool2DOptions = 5,
  kFullyConnectedOptions = 8,
  kSoftmaxOptions = 9,
  kConcatenationOptions = 10,
  kAddOptions = 11,
  kReshapeOptions = 17,
  kMulOptions = 21,
  kPadOptions = 22,
  kGatherOptions = 23,
  kTransposeOptions = 26,
  kReducerOptions = 27,
  kSubOptions = 28,
  kDivOptions = 29,
  kDequantizeOptions = 38,
  kMaximumMinimumOptions = 39,
  kQuantizeOptions = 89,
  kHardSwishOptions = 91,
};

// The BuiltinOperator name of `code` ("CONV_2D", ...; codes 0..158), or
// "BUILTIN_<code>" beyond the known table.
std::string builtin_op_name(int32_t code);

}  // namespace vedge::tflite_schema

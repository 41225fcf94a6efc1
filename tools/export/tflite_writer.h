// tflite_writer.h: serializes a tflite::Model (tflite_model.h) into the
// TFLite FlatBuffer format ("TFL3", schema version 3) with Debian's
// flatbuffers::FlatBufferBuilder, from the published field numbers
// (docs/tflite-format.md); no generated schema code. The model is validated
// first: an inconsistent model ends in one vedge::Error line and no bytes
// (write_file leaves no file behind). Depends on tflite_model.h, error.h,
// files.h and the flatbuffers headers (inside the .cpp only); not on the
// graph IR or the runtime.
#pragma once

#include <string>

#include "tools/export/tflite_model.h"

namespace vedge::tflite {

// The FlatBuffer bytes. Operator codes are deduplicated by (op, custom code,
// version); each operator's version follows the published op-version rules
// for the tensor types it uses (e.g. CONV_2D with int8 input, filter and
// output = 3, float CONV_2D with per-channel int8 filter = 5). Buffer data is
// 16-byte aligned in the file. Model::metadata entries become Model.metadata
// (name + index of a buffer holding the bytes), after the model's buffers.
// Throws vedge::Error (one line, "TFLite model: ...") on a bad tensor or
// buffer index, a constant whose byte size does not match its shape and
// type, data in buffer 0, a dynamic or negative dimension, inconsistent
// quantization, an operator reading a tensor no earlier operator wrote, ...
std::string serialize(const Model& m);

// serialize(m), then an atomic write (temp file + rename). Errors name `path`.
void write_file(const Model& m, const std::string& path);

// The schema name of a builtin operator ("CONV_2D"; "CUSTOM" for Op::Custom).
std::string op_name(Op op);

// The version serialize() writes for operator `op_index` of `m` (validates
// `m` first). Exposed for tests.
int op_version(const Model& m, size_t op_index);

}  // namespace vedge::tflite

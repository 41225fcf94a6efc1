// libFuzzer target: the ONNX importer on any bytes (see fuzz_importer.h).
#include "fuzz_importer.h"
#include "runtime/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vedge::fuzz::run_importer(
      [](const std::string& bytes, const char* name) { return vedge::import_onnx_bytes(bytes, name); }, data,
      size, "fuzz.onnx");
}

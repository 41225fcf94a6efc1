// libFuzzer target: the TFLite importer must either produce a valid canonical
// graph or throw vedge::Error on any bytes; a graph it accepts must also load
// into a (reference) Session and run without memory errors.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/tflite_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vedge::Graph g = vedge::import_tflite_bytes(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz.tflite");
    vedge::SessionOptions opt;
    opt.backend = vedge::Backend::Reference;
    opt.max_arena_bytes = size_t(64) << 20;
    vedge::Session s(std::move(g), opt);
    s.run();
  } catch (const vedge::Error&) {
  }
  return 0;
}

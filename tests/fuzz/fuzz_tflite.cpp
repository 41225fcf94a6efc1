// libFuzzer target: the TFLite importer and read_tflite_info on any bytes
// (see fuzz_importer.h).
#include "fuzz_importer.h"
#include "runtime/tflite_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vedge::fuzz::run_importer(
      [](const std::string& bytes, const char* name) {
        // The listing must also end in a TfliteModelInfo or one vedge::Error.
        try {
          vedge::read_tflite_info(bytes, name);
        } catch (const vedge::Error&) {
        }
        // Both import modes (float; integer with an NCHW image input, what
        // the Detector uses), chosen by the input's length.
        vedge::TfliteImportOptions opt;
        if (bytes.size() % 2) {
          opt.numbers = vedge::TfliteNumbers::Integer;
          opt.nchw_inputs = true;
        }
        return vedge::import_tflite_bytes(bytes, name, nullptr, opt);
      },
      data, size, "fuzz.tflite");
}

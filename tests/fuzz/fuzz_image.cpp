// libFuzzer target: the image decoder must either decode or throw
// vedge::Error on any bytes; anything else (crash, leak, UB) is a bug.
#include <cstddef>
#include <cstdint>

#include "runtime/error.h"
#include "runtime/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vedge::Image img = vedge::decode_image_memory(data, size, "fuzz");
    if (img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3) __builtin_trap();
  } catch (const vedge::Error&) {
  }
  return 0;
}

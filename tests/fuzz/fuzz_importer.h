// fuzz_importer.h: the body the importer fuzz targets share: an importer
// must either produce a valid canonical graph or throw vedge::Error on any
// bytes; a graph it accepts must also load into a (reference) Session and
// run without memory errors. Depends on runtime/executor.h and
// runtime/error.h only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "runtime/error.h"
#include "runtime/executor.h"

namespace vedge::fuzz {

// import: (bytes, name) -> Graph, e.g. import_onnx_bytes.
template <typename Import>
int run_importer(Import import, const uint8_t* data, size_t size, const char* name) {
  try {
    Graph g = import(std::string(reinterpret_cast<const char*>(data), size), name);
    SessionOptions opt;
    opt.backend = Backend::Reference;
    opt.max_arena_bytes = size_t(64) << 20;
    Session s(std::move(g), opt);
    s.run();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace vedge::fuzz

// web_assets.h: the demo page's files (serve/web/), embedded into the binary
// at build time (serve/embed_web.cmake generates web_assets_data.cpp), so
// the page works offline with nothing on disk.
// Depends on nothing.
#pragma once

#include <cstddef>

namespace vedge::serve {

struct WebAsset {
  const char* path;          // URL path, e.g. "/app.js"
  const char* content_type;  // e.g. "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;
};

// All embedded files; the array ends with a {nullptr, ...} entry.
extern const WebAsset kWebAssets[];

}  // namespace vedge::serve

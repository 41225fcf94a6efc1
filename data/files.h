// files.h: copying or linking image files beside converted annotations
// (`vedge data convert`). Whole-file reads and atomic writes are
// runtime/files.h, included here for the data/ readers and writers. Errors
// name the path. Depends on runtime/ and <filesystem>.
#pragma once

#include <string>

#include "runtime/files.h"

namespace vedge {
// How `vedge data convert` puts the images beside the converted annotations.
enum class ImageCopyMode { Copy, Symlink, None };
// Copies (or symlinks to the absolute source) `from` to `to`, creating parent
// folders; an existing `to` is replaced, unless it is `from` itself (then
// nothing happens). None does nothing.
void place_image_file(const std::string& from, const std::string& to, ImageCopyMode mode);

}  // namespace vedge

// files.h: reading a whole file and writing one atomically (a temporary
// "<path>.tmp" renamed over the target), so an interrupted run never leaves
// a half-written model, report or dataset. Every writer of the project goes
// through write_text_file_atomic. Errors name the path. Depends on error.h
// and <filesystem>.
#pragma once

#include <string>

namespace vedge {

std::string read_text_file(const std::string& path);
// Writes "<path>.tmp" then renames it over `path`; creates parent folders.
// Binary-safe: `text` is written byte for byte.
void write_text_file_atomic(const std::string& path, const std::string& text);

}  // namespace vedge

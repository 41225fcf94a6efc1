// npy.h: NumPy .npy files <-> vedge::Tensor, for `vedge run` and tests.
// Reads format versions 1.0, 2.0 and 3.0 with little-endian (or
// byte-order-free) float32, float16, int8, uint8, int32, int64 and bool in
// C order; rejects Fortran order, big-endian data, other dtypes and
// truncated files with one error line naming the file. Writes version 1.0
// (2.0 when the header is too long), through a temporary file + rename.
// Depends on tensor.h and error.h only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/tensor.h"

namespace vedge {

Tensor read_npy(const std::string& path);
// `name` is used in error messages.
Tensor parse_npy(const uint8_t* bytes, size_t n, const std::string& name);
std::string serialize_npy(const Tensor& t);
void write_npy(const std::string& path, const Tensor& t);

}  // namespace vedge

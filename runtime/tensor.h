// tensor.h: element types, shapes and the owning Tensor used for constants,
// model inputs/outputs at the API boundary and tests.
// Inside an inference, kernels see raw pointers into the planned arena
// (see planner.h); Tensor is never allocated per inference.
// Depends on nothing but the standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vedge {

enum class DType : uint8_t { F32, F16, I8, U8, I32, I64, Bool };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[1,3,320,320]"

// Bytes aligned to 64, shared between copies (copy-on-write is not done:
// a copy of a Tensor aliases the same storage; use clone() for a deep copy).
class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-initialized

  static Tensor from_floats(Shape shape, const std::vector<float>& v);
  static Tensor from_int64s(Shape shape, const std::vector<int64_t>& v);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return vedge::numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return !data_; }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <class T> T* data() { return static_cast<T*>(raw()); }
  template <class T> const T* data() const { return static_cast<const T*>(raw()); }

  // Same bytes, new shape (element count must match; throws otherwise).
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // Element i converted to double / int64 (any dtype), for small tensors.
  double at_f64(int64_t i) const;
  int64_t at_i64(int64_t i) const;
  std::vector<int64_t> to_int64s() const;
  std::vector<float> to_floats() const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<uint8_t> data_;
};

// Half-precision conversion (IEEE 754 binary16, round to nearest even).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace vedge

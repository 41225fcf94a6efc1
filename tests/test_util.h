// test_util.h: small helpers shared by the tests.
//   single_node_graph() builds a Graph holding one node; run_ref() runs that
//   node through the reference kernels (make_ref_kernel) on owned tensors;
//   expect_floats_near() compares a tensor with expected values;
//   pseudo_random() and noise_image() make seeded test data (one linear
//   congruential generator, so the same seed gives the same data everywhere).
// Header-only; depends on runtime/ and GoogleTest only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/executor.h"
#include "runtime/graph.h"
#include "runtime/image.h"
#include "runtime/kernel.h"
#include "runtime/tensor.h"

namespace vedge {
namespace test {

// One node `op` with `attrs`. Inputs become constant Values holding the given
// tensors (an empty Tensor = absent optional input, id -1); outputs are
// Values of dtype `out_dtype` and the given shapes. The node is nodes[0].
inline Graph single_node_graph(const std::string& op, const std::vector<Tensor>& inputs,
                               const std::vector<Shape>& out_shapes, const Attrs& attrs = {},
                               DType out_dtype = DType::F32) {
  Graph g;
  g.source = "test";
  Node n;
  n.name = op + "_0";
  n.op = op;
  n.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i)
    n.inputs.push_back(inputs[i].empty() ? -1 : g.add_constant("in" + std::to_string(i), inputs[i]));
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    Value v;
    v.name = "out" + std::to_string(i);
    v.dtype = out_dtype;
    v.shape = out_shapes[i];
    n.outputs.push_back(g.add_value(v));
  }
  g.nodes.push_back(n);
  return g;
}

// Runs single_node_graph(...)'s node with the reference kernels (the
// executor's eval_node_reference) and returns its outputs. Throws
// vedge::Error when the kernel rejects the configuration or when there is no
// reference kernel for it.
inline std::vector<Tensor> run_ref(const std::string& op, const std::vector<Tensor>& inputs,
                                   const std::vector<Shape>& out_shapes, const Attrs& attrs = {},
                                   DType out_dtype = DType::F32) {
  const Graph g = single_node_graph(op, inputs, out_shapes, attrs, out_dtype);
  return eval_node_reference(g, g.nodes[0], inputs);
}

// Shape equal and every element within `tol` of `want` (F32 tensors).
inline void expect_floats_near(const Tensor& got, const Shape& shape, const std::vector<float>& want,
                               float tol = 1e-5f) {
  ASSERT_EQ(shape_str(got.shape()), shape_str(shape));
  ASSERT_EQ(got.dtype(), DType::F32);
  ASSERT_EQ(static_cast<size_t>(got.numel()), want.size());
  const float* p = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(p[i], want[i], tol) << "at element " << i;
}

// n values uniform in [-amplitude, amplitude), from `seed`.
inline std::vector<float> pseudo_random(size_t n, uint32_t seed, float amplitude) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = amplitude * (static_cast<float>(seed >> 8) / 16777216.f * 2 - 1);
  }
  return v;
}

// A w x h RGB image of uniform noise, from `seed`.
inline Image noise_image(int w, int h, uint32_t seed) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(size_t(w) * h * 3);
  for (uint8_t& p : img.rgb) {
    seed = seed * 1664525u + 1013904223u;
    p = static_cast<uint8_t>(seed >> 24);
  }
  return img;
}

}  // namespace test
}  // namespace vedge

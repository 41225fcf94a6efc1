// executor.h: runs a canonical Graph (graph.h). At load time a Session
//   1. decides each value's layout (fast backend: 4-D activations of the
//      convolutional trunk are NHWC; Transpose and most Reshapes become views;
//      a Relayout copy is inserted where a consumer needs another layout),
//   2. plans every activation into one arena (planner.h),
//   3. creates one kernel per node with final pointers (kernel.h).
// run() then only calls the kernels: no allocation, no checks.
// Depends on runtime/ only; no LibTorch, no ONNX.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/graph.h"
#include "runtime/kernel.h"
#include "runtime/tensor.h"

namespace vedge {

enum class Backend { Fast, Reference };

struct SessionOptions {
  Backend backend = Backend::Fast;
  int num_threads = 1;
  bool profile = false;  // time every kernel (per-op profile)
  // Refuse models whose planned activations need more memory than this.
  size_t max_arena_bytes = size_t(4) << 30;
};

struct OpProfile {
  std::string node;  // node label
  std::string op;
  double total_ms = 0;  // summed over runs since the last reset
  int64_t calls = 0;
};

class Session {
 public:
  Session(Graph graph, SessionOptions opt = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Graph& graph() const;
  const SessionOptions& options() const;
  int num_inputs() const;
  int num_outputs() const;
  const Value& input_info(int i) const;
  const Value& output_info(int i) const;
  int input_index(const std::string& name) const;   // -1 if absent
  int output_index(const std::string& name) const;  // -1 if absent

  // Buffers owned by the session; fill an input in place to avoid a copy,
  // read outputs after run(). Outputs are plain (row-major, logical order).
  // An input is plain too, except a 4-D image input whose every consumer is
  // channel-last (a convolution in the fast backend): it is then stored NHWC
  // so that preprocessing can write it directly (input_is_nhwc() says so).
  void* input_data(int i);
  bool input_is_nhwc(int i) const;
  const void* output_data(int i) const;
  void set_input(int i, const Tensor& t);  // plain tensor; checks dtype and shape
  Tensor output(int i) const;              // copy

  void run();

  size_t arena_bytes() const;     // planned activation memory
  size_t constant_bytes() const;  // weights as held by the kernels
  std::vector<OpProfile> profile() const;
  void reset_profile();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Evaluates one node with reference kernels on owned tensors; used by the
// importer to fold constants. Output shapes/dtypes come from the node's
// output Values in `g`.
std::vector<Tensor> eval_node_reference(const Graph& g, const Node& n,
                                        const std::vector<Tensor>& inputs);

}  // namespace vedge

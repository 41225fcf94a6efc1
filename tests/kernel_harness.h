// kernel_harness.h: the one harness that checks fast kernels against the
// reference kernels, and times them (in the spirit of ncnn's test_layer and
// ggml's test-backend-ops).
//
// An OpCase is one node (op + attrs), its input shapes (random, seeded) or
// constant tensors, its output shapes, and the memory layout each runtime
// input/output gets on the fast side (plain, NHWC, any permutation, with
// optional row padding for a non-dense view). check_fast_against_ref()
//   - runs make_ref_kernel on plain copies (single thread),
//   - runs make_fast_kernel on the laid-out copies (1 or more threads),
//     with NaN in every byte outside the views (gaps and tail),
//   - converts back and compares: error = max |fast - ref| / max |ref|
//     (reported with the worst element), and also checks that the fast
//     kernel left its inputs and everything outside its output views alone.
// KernelRunner prepares one kernel of either family on such buffers and runs
// it repeatedly: the perf mode used by bench/bench_kernels.cpp.
// Integer operands (qinput / qconstant / qoutput: I8 or U8 with Value::quant
// set in the graph) get random integers over their whole range, gaps filled
// with a sentinel byte; they are compared as exact values (use tolerance 0
// for a bit-identical check).
//
// Header-only; depends on runtime/ (kernel.h, graph.h) and pthreadpool only
// (no GoogleTest, so benchmarks can use it).
#pragma once

#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/kernel.h"
#include "runtime/tensor.h"

namespace vedge {
namespace harness {

// Physical dim order (outermost first; empty = plain row-major) plus `pad`
// extra elements after every run of the innermost physical dim, which makes
// the view non-dense (NHWC with pad p: pixel stride C + p).
struct Layout {
  std::vector<int> order;
  int64_t pad = 0;

  static Layout plain() { return {}; }
  static Layout nhwc() { return {{0, 2, 3, 1}, 0}; }
  static Layout perm(std::vector<int> o) { return {std::move(o), 0}; }
  Layout padded(int64_t p) const { return {order, p}; }

  std::string str() const {
    std::string s;
    if (order.empty()) {
      s = "plain";
    } else if (order == std::vector<int>{0, 2, 3, 1}) {
      s = "nhwc";
    } else {
      s = "perm(";
      for (size_t i = 0; i < order.size(); ++i) s += (i ? "," : "") + std::to_string(order[i]);
      s += ")";
    }
    return pad ? s + "+pad" + std::to_string(pad) : s;
  }
};

inline std::vector<int64_t> layout_strides(const Shape& s, const Layout& l) {
  std::vector<int> order = l.order;
  if (order.empty())
    for (size_t d = 0; d < s.size(); ++d) order.push_back(static_cast<int>(d));
  VEDGE_CHECK(order.size() == s.size(), "layout ", l.str(), " does not fit shape ", shape_str(s));
  std::vector<int64_t> st(s.size(), 1);
  int64_t acc = 1;
  for (size_t k = order.size(); k-- > 0;) {
    st[order[k]] = acc;
    acc *= s[order[k]] + (k + 1 == order.size() ? l.pad : 0);
  }
  return st;
}

// Calls f(flat logical index, offset) for every element of a strided view.
template <class F>
void for_each_element(const Shape& s, const std::vector<int64_t>& strides, F&& f) {
  const int64_t n = numel(s);
  std::vector<int64_t> idx(s.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (size_t d = s.size(); d-- > 0;) {
      off += strides[d];
      if (++idx[d] < s[d]) break;
      off -= strides[d] * s[d];
      idx[d] = 0;
    }
  }
}

inline std::string index_str(const Shape& s, int64_t flat) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = flat % s[d];
    flat /= s[d];
  }
  return shape_str(idx);
}

// Random integers in [lo, hi] of an integer dtype (I8, U8 or I32).
inline Tensor random_int_tensor(const Shape& s, DType t, uint64_t seed, int64_t lo, int64_t hi) {
  VEDGE_CHECK(t == DType::I8 || t == DType::U8 || t == DType::I32, "random_int_tensor: dtype ",
              dtype_name(t), " is not an integer dtype");
  Tensor r(t, s);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> u(lo, hi);
  for (int64_t i = 0; i < r.numel(); ++i) {
    const int64_t v = u(rng);
    if (t == DType::I8) r.data<int8_t>()[i] = static_cast<int8_t>(v);
    if (t == DType::U8) r.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    if (t == DType::I32) r.data<int32_t>()[i] = static_cast<int32_t>(v);
  }
  return r;
}

// The values of any tensor as an F32 tensor (exact for 8-bit integers).
inline Tensor as_f32(const Tensor& t) {
  if (t.dtype() == DType::F32) return t;
  return Tensor::from_floats(t.shape(), t.to_floats());
}

inline Tensor random_tensor(const Shape& s, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::F32, s);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

struct OpCase {
  struct Operand {
    Shape shape;
    Layout layout;    // fast side only; constants are always plain
    Tensor constant;  // non-empty: a constant input
    bool absent = false;
    float lo = -1.f, hi = 1.f;  // random range (integer dtypes: whole numbers)
    DType dtype = DType::F32;   // runtime operands: F32, I8 or U8
    QuantParams quant;          // set on the graph Value (integer ops)
    Tensor values;              // non-empty: a runtime input with these values
  };
  Node node;
  std::vector<Operand> in, out;
  bool in_place = false;  // output 0 shares input 0's buffer (same layout)
  double tol = 1e-5;
  uint64_t seed = 1;
  int threads = 1;

  explicit OpCase(const std::string& op) {
    node.op = op;
    node.name = op + "_case";
  }
  OpCase& attr(const std::string& k, AttrValue v) {
    node.attrs.set(k, std::move(v));
    return *this;
  }
  OpCase& input(Shape s, Layout l = {}, float lo = -1.f, float hi = 1.f) {
    Operand o;
    o.shape = std::move(s);
    o.layout = std::move(l);
    o.lo = lo;
    o.hi = hi;
    in.push_back(std::move(o));
    return *this;
  }
  OpCase& constant(Tensor t) {
    Operand o;
    o.shape = t.shape();
    o.constant = std::move(t);
    in.push_back(std::move(o));
    return *this;
  }
  // Integer runtime input / constant / output with quantization parameters.
  OpCase& qinput(Shape s, Layout l, QuantParams q, DType t = DType::I8) {
    input(std::move(s), std::move(l), t == DType::U8 ? 0.f : -128.f, t == DType::U8 ? 255.f : 127.f);
    in.back().dtype = t;
    in.back().quant = std::move(q);
    return *this;
  }
  // Runtime input with given values (instead of random ones).
  OpCase& input_values(Tensor t, Layout l = {}) {
    input(t.shape(), std::move(l));
    in.back().dtype = t.dtype();
    in.back().values = std::move(t);
    return *this;
  }
  OpCase& qconstant(Tensor t, QuantParams q) {
    constant(std::move(t));
    in.back().quant = std::move(q);
    return *this;
  }
  OpCase& qoutput(Shape s, Layout l, QuantParams q, DType t = DType::I8) {
    output(std::move(s), std::move(l));
    out.back().dtype = t;
    out.back().quant = std::move(q);
    return *this;
  }
  OpCase& absent() {
    Operand o;
    o.absent = true;
    in.push_back(std::move(o));
    return *this;
  }
  OpCase& output(Shape s, Layout l = {}) {
    Operand o;
    o.shape = std::move(s);
    o.layout = std::move(l);
    out.push_back(std::move(o));
    return *this;
  }
  OpCase& inplace() {
    in_place = true;
    return *this;
  }
  OpCase& with_threads(int n) {
    threads = n;
    return *this;
  }
  OpCase& with_seed(uint64_t s) {
    seed = s;
    return *this;
  }
  OpCase& tolerance(double t) {
    tol = t;
    return *this;
  }

  std::string str() const {
    std::ostringstream os;
    os << node.op << " {";
    for (const auto& [k, v] : node.attrs.all()) {
      os << " " << k << "=";
      if (auto p = std::get_if<int64_t>(&v))
        os << *p;
      else if (auto f = std::get_if<float>(&v))
        os << *f;
      else if (auto s = std::get_if<std::string>(&v))
        os << *s;
      else if (auto iv = std::get_if<std::vector<int64_t>>(&v))
        os << shape_str(*iv);
      else
        os << "[floats]";
    }
    os << " } in:";
    auto q = [](const Operand& o) {
      std::ostringstream qs;
      if (o.dtype != DType::F32) qs << "/" << dtype_name(o.dtype);
      if (o.quant.present()) {
        qs << "/q(s=" << o.quant.scale[0] << ",zp=" << (o.quant.zero_point.empty() ? 0 : o.quant.zero_point[0]);
        if (o.quant.scale.size() > 1) qs << ",axis=" << o.quant.axis << "x" << o.quant.scale.size();
        qs << ")";
      }
      return qs.str();
    };
    for (const Operand& o : in)
      os << " "
         << (o.absent ? "absent"
                      : shape_str(o.shape) + (o.constant.empty() ? "/" + o.layout.str() : "/const") + q(o));
    os << " out:";
    for (const Operand& o : out) os << " " << shape_str(o.shape) << "/" << o.layout.str() << q(o);
    os << (in_place ? " in-place" : "") << " threads=" << threads << " seed=" << seed;
    return os.str();
  }
};

// A thread pool for `n` threads (nullptr for 1, as the executor does).
class ThreadPool {
 public:
  explicit ThreadPool(int n) : pool_(n > 1 ? pthreadpool_create(static_cast<size_t>(n)) : nullptr) {
    VEDGE_CHECK(n <= 1 || pool_, "cannot create a thread pool of ", n, " threads");
  }
  ~ThreadPool() {
    if (pool_) pthreadpool_destroy(pool_);
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  pthreadpool_t get() const { return pool_; }

 private:
  pthreadpool_t pool_;
};

// A buffer holding a strided view plus slack (XNNPACK reads up to 16 bytes
// past its inputs); everything outside the view starts as NaN (F32, in
// `mem`) or as kGapByte (I8/U8, in `bytes`).
struct ViewBuffer {
  static constexpr uint8_t kGapByte = 0xA5;
  Shape shape;
  std::vector<int64_t> strides;
  DType dtype = DType::F32;
  std::vector<float> mem;      // F32 views
  std::vector<uint8_t> bytes;  // 1-byte integer views
  std::vector<bool> in_view;

  ViewBuffer(const Shape& s, const Layout& l, DType t = DType::F32)
      : shape(s), strides(layout_strides(s, l)), dtype(t) {
    VEDGE_CHECK(t == DType::F32 || t == DType::I8 || t == DType::U8, "ViewBuffer: dtype ", dtype_name(t),
                " is not supported");
    int64_t span = 1;
    for (size_t d = 0; d < s.size(); ++d) span += (s[d] - 1) * strides[d];
    if (numel(s) == 0) span = 0;
    if (t == DType::F32)
      mem.assign(static_cast<size_t>(span + 16), std::numeric_limits<float>::quiet_NaN());
    else
      bytes.assign(static_cast<size_t>(span + 64), kGapByte);
    in_view.assign(t == DType::F32 ? mem.size() : bytes.size(), false);
    for_each_element(shape, strides, [&](int64_t, int64_t off) { in_view[off] = true; });
  }
  void fill_from(const Tensor& t) {
    VEDGE_CHECK(t.dtype() == dtype, "ViewBuffer: filling a ", dtype_name(dtype), " view from ",
                dtype_name(t.dtype()));
    if (dtype == DType::F32) {
      const float* p = t.data<float>();
      for_each_element(shape, strides, [&](int64_t i, int64_t off) { mem[off] = p[i]; });
    } else {
      const uint8_t* p = static_cast<const uint8_t*>(t.raw());
      for_each_element(shape, strides, [&](int64_t i, int64_t off) { bytes[off] = p[i]; });
    }
  }
  Tensor to_plain() const {
    Tensor t(dtype, shape);
    if (dtype == DType::F32) {
      float* p = t.data<float>();
      for_each_element(shape, strides, [&](int64_t i, int64_t off) { p[i] = mem[off]; });
    } else {
      uint8_t* p = static_cast<uint8_t*>(t.raw());
      for_each_element(shape, strides, [&](int64_t i, int64_t off) { p[i] = bytes[off]; });
    }
    return t;
  }
  TensorRef ref() {
    TensorRef r;
    r.dtype = dtype;
    r.shape = shape;
    r.strides = strides;
    r.data = dtype == DType::F32 ? static_cast<void*>(mem.data()) : static_cast<void*>(bytes.data());
    return r;
  }
  // Index of the first element outside the view that is not NaN (integer
  // views: not kGapByte), or -1.
  int64_t touched_gap() const {
    for (size_t i = 0; i < in_view.size(); ++i) {
      if (in_view[i]) continue;
      if (dtype == DType::F32 ? !std::isnan(mem[i]) : bytes[i] != kGapByte) return static_cast<int64_t>(i);
    }
    return -1;
  }
};

// One prepared kernel (ref or fast) on its own buffers, runnable many times.
// Ref: plain tensors. Fast: the case's layouts. Inputs: seeded random values
// in each operand's range (identical for both families).
class KernelRunner {
 public:
  KernelRunner(const OpCase& c, bool fast) : case_(c), pool_(fast ? c.threads : 1), fast_(fast) {
    build_graph();
    ctx_.threadpool = pool_.get();
    ctx_.num_threads = fast ? c.threads : 1;
    args_.graph = &graph_;
    args_.node = &graph_.nodes[0];
    args_.ctx = &ctx_;
    views_in_.reserve(c.in.size());
    views_out_.reserve(c.out.size());
    for (size_t i = 0; i < c.in.size(); ++i) {
      const OpCase::Operand& o = c.in[i];
      if (o.absent) {
        args_.in.push_back(TensorRef{});
        continue;
      }
      if (!o.constant.empty()) {
        args_.in.push_back(make_ref(graph_.values[graph_.nodes[0].inputs[i]].constant));
        continue;
      }
      const uint64_t seed = c.seed * 1000003u + i;
      plain_in_.push_back(!o.values.empty()       ? o.values.clone()
                          : o.dtype == DType::F32 ? random_tensor(o.shape, seed, o.lo, o.hi)
                                                  : random_int_tensor(o.shape, o.dtype, seed,
                                                                      static_cast<int64_t>(o.lo),
                                                                      static_cast<int64_t>(o.hi)));
      views_in_.emplace_back(o.shape, fast ? o.layout : Layout{}, o.dtype);
      views_in_.back().fill_from(plain_in_.back());
      args_.in.push_back(views_in_.back().ref());
    }
    for (size_t i = 0; i < c.out.size(); ++i) {
      if (c.in_place && i == 0) {
        VEDGE_CHECK(!args_.in.empty() && args_.in[0].present() && c.in[0].constant.empty(),
                    "in-place case needs a runtime input 0");
        TensorRef r = args_.in[0];
        VEDGE_CHECK(r.shape == c.out[0].shape, "in-place case: output shape differs from input 0");
        args_.out.push_back(r);
        continue;
      }
      views_out_.emplace_back(c.out[i].shape, fast ? c.out[i].layout : Layout{}, c.out[i].dtype);
      args_.out.push_back(views_out_.back().ref());
    }
    kernel_ = fast ? make_fast_kernel(args_) : make_ref_kernel(args_);
  }

  bool has_kernel() const { return kernel_ != nullptr; }
  void run() { kernel_->run(ctx_); }
  const Graph& graph() const { return graph_; }

  // Output i as a plain tensor.
  Tensor output(size_t i) const {
    if (case_.in_place && i == 0) return views_in_[0].to_plain();
    return views_out_[i - (case_.in_place ? 1 : 0)].to_plain();
  }
  // A description of the first byte the kernel wrote outside its views or an
  // input it changed (other than an in-place output); empty when clean.
  std::string stray_write() const {
    for (size_t i = 0; i < views_out_.size(); ++i) {
      const int64_t g = views_out_[i].touched_gap();
      if (g >= 0) return "wrote outside output view at buffer element " + std::to_string(g);
    }
    for (size_t i = 0; i < views_in_.size(); ++i) {
      if (case_.in_place && i == 0) continue;
      if (views_in_[i].touched_gap() >= 0) return "wrote into the gaps of input " + std::to_string(i);
      const Tensor now = views_in_[i].to_plain();
      if (std::memcmp(now.raw(), plain_in_[i].raw(), now.nbytes()) != 0)
        return "modified input " + std::to_string(i);
    }
    return "";
  }

 private:
  void build_graph() {
    graph_.source = "kernel_harness";
    Node n = case_.node;
    n.inputs.clear();
    n.outputs.clear();
    for (size_t i = 0; i < case_.in.size(); ++i) {
      const OpCase::Operand& o = case_.in[i];
      if (o.absent) {
        n.inputs.push_back(-1);
      } else if (!o.constant.empty()) {
        n.inputs.push_back(graph_.add_constant("in" + std::to_string(i), o.constant));
        graph_.values[n.inputs.back()].quant = o.quant;
      } else {
        Value v;
        v.name = "in" + std::to_string(i);
        v.shape = o.shape;
        v.dtype = o.dtype;
        v.quant = o.quant;
        n.inputs.push_back(graph_.add_value(v));
        graph_.inputs.push_back(n.inputs.back());
      }
    }
    for (size_t i = 0; i < case_.out.size(); ++i) {
      Value v;
      v.name = "out" + std::to_string(i);
      v.shape = case_.out[i].shape;
      v.dtype = case_.out[i].dtype;
      v.quant = case_.out[i].quant;
      n.outputs.push_back(graph_.add_value(v));
      graph_.outputs.push_back(n.outputs.back());
    }
    graph_.nodes.push_back(n);
  }

  OpCase case_;
  Graph graph_;
  ThreadPool pool_;
  bool fast_;
  ExecContext ctx_;
  KernelArgs args_;
  std::vector<Tensor> plain_in_;
  std::vector<ViewBuffer> views_in_, views_out_;
  std::unique_ptr<Kernel> kernel_;
};

struct Report {
  bool has_fast = false;  // make_fast_kernel returned a kernel
  bool ok = false;        // has_fast, error <= tol, no stray writes
  double error = 0;       // max |fast - ref| / max |ref|
  std::string message;    // the case and, on failure, the worst element
};

// Normalized error of `got` against `want` (same shape); `worst` describes
// the worst element. A NaN/inf mismatch counts as infinite error.
inline double normalized_error(const Tensor& got, const Tensor& want, std::string* worst) {
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  double scale = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    if (std::isfinite(w[i])) scale = std::max(scale, std::fabs(static_cast<double>(w[i])));
  if (scale == 0) scale = 1;  // all-zero reference: absolute error
  double worst_err = -1;
  int64_t worst_i = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double e;
    if (std::isfinite(w[i]) && std::isfinite(g[i])) {
      e = std::fabs(static_cast<double>(g[i]) - w[i]) / scale;
    } else {
      const bool same = (std::isnan(w[i]) && std::isnan(g[i])) || g[i] == w[i];
      e = same ? 0 : std::numeric_limits<double>::infinity();
    }
    if (e > worst_err) {
      worst_err = e;
      worst_i = i;
    }
  }
  if (worst && want.numel() > 0) {
    std::ostringstream os;
    os << "worst at " << index_str(want.shape(), worst_i) << ": fast " << g[worst_i] << " ref " << w[worst_i]
       << " (output max abs " << scale << ")";
    *worst = os.str();
  }
  return std::max(worst_err, 0.0);
}

inline Report check_fast_against_ref(const OpCase& c) {
  Report r;
  r.message = c.str();
  try {
    KernelRunner ref(c, false);
    VEDGE_CHECK(ref.has_kernel(), "no reference kernel for ", c.node.op);
    KernelRunner fast(c, true);
    r.has_fast = fast.has_kernel();
    if (!r.has_fast) {
      r.message += ": make_fast_kernel returned nullptr";
      return r;
    }
    ref.run();
    fast.run();
    std::string details;
    for (size_t i = 0; i < c.out.size(); ++i) {
      std::string worst;
      const double e = normalized_error(as_f32(fast.output(i)), as_f32(ref.output(i)), &worst);
      if (e >= r.error) {
        r.error = e;
        details = "output " + std::to_string(i) + " " + worst;
      }
    }
    const std::string stray = fast.stray_write();
    r.ok = r.error <= c.tol && stray.empty();
    std::ostringstream os;
    os << ": error " << r.error << " (tol " << c.tol << "), " << details;
    if (!stray.empty()) os << "; " << stray;
    r.message += os.str();
  } catch (const std::exception& e) {
    r.ok = false;
    r.message += std::string(": threw: ") + e.what();
  }
  return r;
}

}  // namespace harness
}  // namespace vedge

// onnx_fold.cpp: evaluation of ONNX nodes over constant tensors, and
// decoding of ONNX TensorProtos (see onnx_fold.h). Works in any dtype:
// floats are computed in double and stored saturated, integers wrap in
// two's complement, so values from a corrupt file cannot overflow.
// Depends on tensor.h, error.h, shape_inference.h (broadcast_shapes) and the
// ONNX protobuf; must not depend on the importer or on a Graph.
#include "runtime/onnx_fold.h"

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>  // defines ONNX_API, includes onnx-ml.pb.h

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "runtime/error.h"
#include "runtime/shape_inference.h"

namespace vedge {

namespace {

// Conversions that saturate instead of overflowing (values in a corrupt
// file can be anything).
float to_float(double v) {
  if (v > std::numeric_limits<float>::max()) return std::numeric_limits<float>::infinity();
  if (v < -std::numeric_limits<float>::max()) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(v);
}
int64_t to_int64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (v <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}
// Two's-complement wrapping integer arithmetic (no signed overflow).
int64_t wrap(uint64_t v) { return static_cast<int64_t>(v); }
int64_t wrap_add(int64_t x, int64_t y) {
  return wrap(static_cast<uint64_t>(x) + static_cast<uint64_t>(y));
}
int64_t wrap_sub(int64_t x, int64_t y) {
  return wrap(static_cast<uint64_t>(x) - static_cast<uint64_t>(y));
}
int64_t wrap_mul(int64_t x, int64_t y) {
  return wrap(static_cast<uint64_t>(x) * static_cast<uint64_t>(y));
}

// Element-wise ops fold_onnx_node evaluates over constants: `f` on
// float tensors (in double), `i` on integer/bool tensors; nullptr where the
// op is not defined for that kind. Comparisons produce bool tensors.
struct BinaryFn {
  double (*f)(double, double);
  int64_t (*i)(int64_t, int64_t);
  bool compare;
};
const std::map<std::string, BinaryFn>& binary_const_ops() {
  using D = double;
  using I = int64_t;
  static const std::map<std::string, BinaryFn> ops = {
      {"Add", {[](D x, D y) { return x + y; }, wrap_add, false}},
      {"Sub", {[](D x, D y) { return x - y; }, wrap_sub, false}},
      {"Mul", {[](D x, D y) { return x * y; }, wrap_mul, false}},
      // Integer Div/Mod by 0 is rejected before the call.
      {"Div",
       {[](D x, D y) { return x / y; }, [](I x, I y) { return y == -1 ? wrap_sub(0, x) : x / y; },
        false}},
      {"Mod",
       {[](D x, D y) { return std::fmod(x, y); },
        [](I x, I y) { return y == -1 ? 0 : ((x % y) + y) % y; }, false}},
      {"Pow",
       {[](D x, D y) { return std::pow(x, y); },
        [](I x, I y) { return to_int64(std::pow(D(x), D(y))); }, false}},
      {"Min",
       {[](D x, D y) { return std::min(x, y); }, [](I x, I y) { return std::min(x, y); }, false}},
      {"Max",
       {[](D x, D y) { return std::max(x, y); }, [](I x, I y) { return std::max(x, y); }, false}},
      {"Equal", {[](D x, D y) { return D(x == y); }, [](I x, I y) { return I(x == y); }, true}},
      {"Less", {[](D x, D y) { return D(x < y); }, [](I x, I y) { return I(x < y); }, true}},
      {"Greater", {[](D x, D y) { return D(x > y); }, [](I x, I y) { return I(x > y); }, true}},
      {"LessOrEqual",
       {[](D x, D y) { return D(x <= y); }, [](I x, I y) { return I(x <= y); }, true}},
      {"GreaterOrEqual",
       {[](D x, D y) { return D(x >= y); }, [](I x, I y) { return I(x >= y); }, true}},
      {"And", {nullptr, [](I x, I y) { return I(x && y); }, false}},
      {"Or", {nullptr, [](I x, I y) { return I(x || y); }, false}},
  };
  return ops;
}

struct UnaryFn {
  double (*f)(double);
  int64_t (*i)(int64_t);
};
const std::map<std::string, UnaryFn>& unary_const_ops() {
  using D = double;
  using I = int64_t;
  static const std::map<std::string, UnaryFn> ops = {
      {"Neg", {[](D x) { return -x; }, [](I x) { return wrap_sub(0, x); }}},
      {"Abs", {[](D x) { return std::fabs(x); }, [](I x) { return x < 0 ? wrap_sub(0, x) : x; }}},
      {"Floor", {[](D x) { return std::floor(x); }, [](I x) { return x; }}},
      {"Ceil", {[](D x) { return std::ceil(x); }, [](I x) { return x; }}},
      {"Round", {[](D x) { return std::nearbyint(x); }, [](I x) { return x; }}},
      {"Sqrt", {[](D x) { return std::sqrt(x); }, nullptr}},
      {"Reciprocal", {[](D x) { return 1.0 / x; }, nullptr}},
      {"Not", {nullptr, [](I x) { return I(!x); }}},
  };
  return ops;
}

// Other ops fold_onnx_node handles (shape bookkeeping, data movement).
const std::set<std::string> kOtherConst = {"Identity", "Dropout",   "Cast",  "Gather",
                                           "Concat",   "Transpose", "Slice", "ConstantOfShape",
                                           "Range",    "Where",     "Expand"};

// ---- small tensor helpers (any dtype) -------------------------------------

bool is_float(DType t) { return t == DType::F32 || t == DType::F16; }

void store_i(Tensor& t, int64_t i, int64_t v);

void store(Tensor& t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::F32:
      t.data<float>()[i] = to_float(v);
      break;
    case DType::F16:
      t.data<uint16_t>()[i] = float_to_half(to_float(v));
      break;
    case DType::Bool:
      t.data<uint8_t>()[i] = v != 0.0;
      break;
    default:
      store_i(t, i, to_int64(v));
  }
}

void store_i(Tensor& t, int64_t i, int64_t v) {
  switch (t.dtype()) {
    case DType::I64:
      t.data<int64_t>()[i] = v;
      break;
    case DType::I32:
      t.data<int32_t>()[i] = static_cast<int32_t>(v);
      break;
    case DType::I8:
      t.data<int8_t>()[i] = static_cast<int8_t>(v);
      break;
    case DType::U8:
      t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
      break;
    case DType::Bool:
      t.data<uint8_t>()[i] = v != 0;
      break;
    case DType::F32:
    case DType::F16:
      store(t, i, static_cast<double>(v));
  }
}

// Flat index into `in` for every element of `out` under numpy broadcasting.
std::vector<int64_t> broadcast_offsets(const Shape& in, const Shape& out) {
  const size_t r = out.size(), off = r - in.size();
  std::vector<int64_t> stride(r, 0);
  int64_t s = 1;
  for (size_t d = r; d-- > off;) {
    stride[d] = in[d - off] == 1 ? 0 : s;
    s *= in[d - off];
  }
  std::vector<int64_t> res(static_cast<size_t>(numel(out)));
  std::vector<int64_t> idx(r, 0);
  for (size_t i = 0; i < res.size(); ++i) {
    int64_t o = 0;
    for (size_t d = 0; d < r; ++d) o += idx[d] * stride[d];
    res[i] = o;
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return res;
}

void copy_elem(Tensor& dst, int64_t di, const Tensor& src, int64_t si) {
  size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<uint8_t*>(dst.raw()) + di * static_cast<int64_t>(es),
              static_cast<const uint8_t*>(src.raw()) + si * static_cast<int64_t>(es), es);
}

std::vector<int64_t> row_major_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

DType dtype_from_onnx(int32_t t, const std::string& where) {
  switch (t) {
    case onnx::TensorProto_DataType_FLOAT:
      return DType::F32;
    case onnx::TensorProto_DataType_DOUBLE:
      return DType::F32;
    case onnx::TensorProto_DataType_FLOAT16:
      return DType::F16;
    case onnx::TensorProto_DataType_INT8:
      return DType::I8;
    case onnx::TensorProto_DataType_UINT8:
      return DType::U8;
    case onnx::TensorProto_DataType_INT16:
    case onnx::TensorProto_DataType_UINT16:
    case onnx::TensorProto_DataType_INT32:
      return DType::I32;
    case onnx::TensorProto_DataType_INT64:
      return DType::I64;
    case onnx::TensorProto_DataType_BOOL:
      return DType::Bool;
    default:
      fail(where, ": unsupported data type ", t);
  }
}

// The node being folded: its attributes and constant inputs, and the
// prefix of its error messages.
struct FoldNode {
  const onnx::NodeProto& p;
  const std::vector<const Tensor*>& inputs;
  int64_t opset;
  const std::string& source;
  const std::string& name;
  const std::string& op;

  std::string where() const { return source + ": node '" + name + "' (" + op + ")"; }
  std::string prefix() const { return where() + ": "; }
  template <class... A>
  [[noreturn]] void err(const A&... a) const {
    fail(source, ": node '", name, "' (", op, "): ", a...);
  }

  bool has(size_t i) const { return i < inputs.size() && inputs[i]; }
  const Tensor& in(size_t i) const {
    if (!has(i)) err("missing input ", i);
    return *inputs[i];
  }

  const onnx::AttributeProto* attr(const char* k) const {
    for (const auto& a : p.attribute())
      if (a.name() == k) return &a;
    return nullptr;
  }
  int64_t attr_i(const char* k, int64_t def) const {
    const auto* a = attr(k);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto_AttributeType_INT)
      err("attribute '", k, "' must be an int");
    return a->i();
  }
  std::vector<int64_t> attr_ints(const char* k, const std::vector<int64_t>& def) const {
    const auto* a = attr(k);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto_AttributeType_INTS)
      err("attribute '", k, "' must be a list of ints");
    return {a->ints().begin(), a->ints().end()};
  }
};

// Evaluates a foldable op (is_foldable_onnx_op) over its constant inputs.
Tensor fold(const FoldNode& n) {
  const std::string& op = n.op;
  auto bin = binary_const_ops().find(op);
  if (bin != binary_const_ops().end() || op == "Where") {
    const bool where = op == "Where";
    const Tensor& a = n.in(where ? 1 : 0);
    const Tensor& b = n.in(where ? 2 : 1);
    if (a.dtype() != b.dtype()) n.err("inputs have different types");
    const std::string prefix = n.prefix();
    Shape out = broadcast_shapes(a.shape(), b.shape(), prefix);
    if (where) out = broadcast_shapes(out, n.in(0).shape(), prefix);
    if (too_large_for_import(out)) n.err("result is too large");
    const std::vector<int64_t> oa = broadcast_offsets(a.shape(), out);
    const std::vector<int64_t> ob = broadcast_offsets(b.shape(), out);
    if (where) {
      const Tensor& cond = n.in(0);
      const std::vector<int64_t> oc = broadcast_offsets(cond.shape(), out);
      Tensor r(a.dtype(), out);
      for (size_t i = 0; i < oa.size(); ++i) {
        const int64_t k = static_cast<int64_t>(i);
        if (cond.at_i64(oc[i]))
          copy_elem(r, k, a, oa[i]);
        else
          copy_elem(r, k, b, ob[i]);
      }
      return r;
    }
    const BinaryFn& fn = bin->second;
    const bool fl = is_float(a.dtype());
    if (fl ? !fn.f : !fn.i) n.err("not defined for ", dtype_name(a.dtype()));
    Tensor r(fn.compare ? DType::Bool : a.dtype(), out);
    for (size_t i = 0; i < oa.size(); ++i) {
      const int64_t k = static_cast<int64_t>(i);
      if (fl) {
        double v = fn.f(a.at_f64(oa[i]), b.at_f64(ob[i]));
        if (!fn.compare && a.dtype() == DType::F32) v = to_float(v);  // float arithmetic
        store(r, k, v);
      } else {
        const int64_t y = b.at_i64(ob[i]);
        if ((op == "Div" || op == "Mod") && y == 0) n.err("integer division by zero");
        store_i(r, k, fn.i(a.at_i64(oa[i]), y));
      }
    }
    return r;
  }
  auto un = unary_const_ops().find(op);
  if (un != unary_const_ops().end()) {
    const Tensor& a = n.in(0);
    const bool fl = is_float(a.dtype());
    if (fl ? !un->second.f : !un->second.i) n.err("not defined for ", dtype_name(a.dtype()));
    Tensor r(op == "Not" ? DType::Bool : a.dtype(), a.shape());
    for (int64_t i = 0; i < a.numel(); ++i) {
      if (fl)
        store(r, i, un->second.f(a.at_f64(i)));
      else
        store_i(r, i, un->second.i(a.at_i64(i)));
    }
    return r;
  }
  if (op == "Identity" || op == "Dropout") return n.in(0);
  if (op == "Cast") {
    const Tensor& a = n.in(0);
    DType to = dtype_from_onnx(static_cast<int32_t>(n.attr_i("to", 0)), n.where());
    Tensor r(to, a.shape());
    for (int64_t i = 0; i < a.numel(); ++i) {
      if (is_float(a.dtype()))
        store(r, i, is_float(to) ? a.at_f64(i) : std::trunc(a.at_f64(i)));
      else
        store_i(r, i, a.at_i64(i));
    }
    return r;
  }
  if (op == "Gather") {
    const Tensor& d = n.in(0);
    const Tensor& idx = n.in(1);
    const int64_t r = static_cast<int64_t>(d.shape().size());
    int64_t axis = n.attr_i("axis", 0);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) n.err("axis out of range");
    const Shape& ds = d.shape();
    Shape out(ds.begin(), ds.begin() + axis);
    out.insert(out.end(), idx.shape().begin(), idx.shape().end());
    out.insert(out.end(), ds.begin() + axis + 1, ds.end());
    int64_t outer = 1, inner = 1, dim = ds[static_cast<size_t>(axis)];
    for (int64_t i = 0; i < axis; ++i) outer *= ds[static_cast<size_t>(i)];
    for (int64_t i = axis + 1; i < r; ++i) inner *= ds[static_cast<size_t>(i)];
    Tensor res(d.dtype(), out);
    const int64_t ni = idx.numel();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < ni; ++j) {
        int64_t k = idx.at_i64(j);
        if (k < 0) k += dim;
        if (k < 0 || k >= dim) n.err("index ", idx.at_i64(j), " out of range for dimension ", dim);
        for (int64_t e = 0; e < inner; ++e)
          copy_elem(res, (o * ni + j) * inner + e, d, (o * dim + k) * inner + e);
      }
    return res;
  }
  if (op == "Concat") {
    const Tensor& first = n.in(0);
    const int64_t r = static_cast<int64_t>(first.shape().size());
    int64_t axis = n.attr_i("axis", 0);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) n.err("axis out of range");
    Shape out = first.shape();
    out[static_cast<size_t>(axis)] = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Tensor& t = n.in(i);
      if (t.dtype() != first.dtype() || t.shape().size() != out.size())
        n.err("inputs differ in type or rank");
      for (size_t d = 0; d < out.size(); ++d)
        if (static_cast<int64_t>(d) != axis && t.shape()[d] != out[d])
          n.err("input shapes differ off the axis");
      out[static_cast<size_t>(axis)] += t.shape()[static_cast<size_t>(axis)];
    }
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= out[static_cast<size_t>(i)];
    Tensor res(first.dtype(), out);
    int64_t pos = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const Tensor& t = n.in(i);
        int64_t chunk = outer ? t.numel() / outer : 0;
        for (int64_t e = 0; e < chunk; ++e) copy_elem(res, pos++, t, o * chunk + e);
      }
    return res;
  }
  if (op == "Transpose" || op == "Slice" || op == "Expand") {
    // All three read the input at base + sum(idx[d] * stride[d]).
    const Tensor& a = n.in(0);
    const Shape& s = a.shape();
    const size_t r = s.size();
    std::vector<int64_t> st = row_major_strides(s);
    Shape out;
    std::vector<int64_t> ost;
    int64_t base = 0;
    if (op == "Transpose") {
      std::vector<int64_t> perm;
      for (size_t i = r; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
      perm = n.attr_ints("perm", perm);
      if (perm.size() != r) n.err("perm has the wrong length");
      std::vector<bool> used(r, false);
      for (int64_t p : perm) {
        if (p < 0 || p >= static_cast<int64_t>(r) || used[static_cast<size_t>(p)])
          n.err("invalid perm");
        used[static_cast<size_t>(p)] = true;
        out.push_back(s[static_cast<size_t>(p)]);
        ost.push_back(st[static_cast<size_t>(p)]);
      }
    } else if (op == "Expand") {
      out = broadcast_shapes(s, n.in(1).to_int64s(), n.prefix());
      if (too_large_for_import(out)) n.err("result is too large");
      ost.assign(out.size(), 0);
      for (size_t d = 0; d < r; ++d)
        if (s[d] != 1) ost[out.size() - r + d] = st[d];
    } else {
      std::vector<int64_t> starts, ends, axes, steps;
      if (n.opset < 10) {
        starts = n.attr_ints("starts", {});
        ends = n.attr_ints("ends", {});
        axes = n.attr_ints("axes", {});
      } else {
        starts = n.in(1).to_int64s();
        ends = n.in(2).to_int64s();
        if (n.has(3)) axes = n.in(3).to_int64s();
        if (n.has(4)) steps = n.in(4).to_int64s();
      }
      if (axes.empty())
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      if (steps.empty()) steps.assign(starts.size(), 1);
      if (ends.size() != starts.size() || axes.size() != starts.size() ||
          steps.size() != starts.size())
        n.err("starts, ends, axes and steps differ in length");
      out = s;
      ost = st;
      for (size_t i = 0; i < starts.size(); ++i) {
        int64_t ax = axes[i] < 0 ? axes[i] + static_cast<int64_t>(r) : axes[i];
        if (ax < 0 || ax >= static_cast<int64_t>(r)) n.err("axis out of range");
        const int64_t dim = s[static_cast<size_t>(ax)], step = steps[i];
        if (step == 0) n.err("step 0");
        int64_t b = starts[i], e = ends[i];
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        int64_t cnt;
        if (step == std::numeric_limits<int64_t>::min()) n.err("invalid step");
        if (dim == 0) {
          cnt = 0;
        } else if (step > 0) {
          b = std::clamp<int64_t>(b, 0, dim);
          e = std::clamp<int64_t>(e, 0, dim);
          cnt = e > b ? (e - b - 1) / step + 1 : 0;
        } else {
          b = std::clamp<int64_t>(b, 0, dim - 1);
          e = std::clamp<int64_t>(e, -1, dim - 1);
          cnt = b > e ? (b - e - 1) / -step + 1 : 0;
        }
        out[static_cast<size_t>(ax)] = cnt;
        ost[static_cast<size_t>(ax)] =
            wrap_mul(st[static_cast<size_t>(ax)], step);  // unused if cnt <= 1
        if (cnt > 0) base += b * st[static_cast<size_t>(ax)];
      }
    }
    Tensor res(a.dtype(), out);
    std::vector<int64_t> idx(out.size(), 0);
    for (int64_t i = 0; i < res.numel(); ++i) {
      int64_t off = base;
      for (size_t d = 0; d < out.size(); ++d) off += idx[d] * ost[d];
      copy_elem(res, i, a, off);
      for (size_t d = out.size(); d-- > 0;) {
        if (++idx[d] < out[d]) break;
        idx[d] = 0;
      }
    }
    return res;
  }
  if (op == "ConstantOfShape") {
    Shape s = n.in(0).to_int64s();
    int64_t total = 1;
    for (int64_t d : s) {
      if (d < 0 || (d > 0 && total > kMaxImportElements / d)) n.err("invalid or too large shape");
      total *= d;
    }
    Tensor fillv = Tensor::from_floats({1}, {0.f});
    if (const auto* a = n.attr("value"))
      fillv = tensor_from_onnx(a->t(), n.source + ": node '" + n.name + "' value");
    if (fillv.numel() != 1) n.err("value must have one element");
    Tensor res(fillv.dtype(), s);
    for (int64_t i = 0; i < res.numel(); ++i) copy_elem(res, i, fillv, 0);
    return res;
  }
  if (op == "Range") {
    const Tensor &a = n.in(0), &b = n.in(1), &c = n.in(2);
    if (a.numel() != 1 || b.numel() != 1 || c.numel() != 1)
      n.err("start, limit and delta must be scalars");
    double start = a.at_f64(0), limit = b.at_f64(0), delta = c.at_f64(0);
    if (delta == 0) n.err("delta is 0");
    double cnt = std::max(0.0, std::ceil((limit - start) / delta));
    if (!(cnt <= static_cast<double>(kMaxImportElements))) n.err("result is too large");
    Tensor res(a.dtype(), {static_cast<int64_t>(cnt)});
    for (int64_t i = 0; i < res.numel(); ++i) {
      if (is_float(a.dtype()))
        store(res, i, start + static_cast<double>(i) * delta);
      else
        store_i(res, i, wrap_add(a.at_i64(0), wrap_mul(i, c.at_i64(0))));
    }
    return res;
  }
  n.err("is not a foldable op");  // unreachable: every foldable op is handled above
}

}  // namespace

bool too_large_for_import(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0 || (d > 0 && n > kMaxImportElements / d)) return true;
    n *= d;
  }
  return n > kMaxImportElements;
}

Tensor tensor_from_onnx(const onnx::TensorProto& t, const std::string& where) {
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL || t.external_data_size() > 0)
    fail(where, ": tensors with external data are not supported (save the model as one file)");
  if (t.has_segment()) fail(where, ": segmented tensors are not supported");
  Shape shape;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && n > kMaxImportElements / d))
      fail(where, ": invalid or too large dimensions");
    shape.push_back(d);
    n *= d;
  }
  const int32_t ot = t.data_type();
  DType dt = dtype_from_onnx(ot, where);
  const std::string& raw = t.raw_data();
  const bool is_double = ot == onnx::TensorProto_DataType_DOUBLE;
  const bool is_16 =
      ot == onnx::TensorProto_DataType_INT16 || ot == onnx::TensorProto_DataType_UINT16;
  // Check the stored size before allocating anything.
  const size_t es = is_double ? 8 : is_16 ? 2 : dtype_size(dt);
  if (t.has_raw_data() && raw.size() != static_cast<size_t>(n) * es)
    fail(where, ": raw data has ", raw.size(), " bytes, ", shape_str(shape), " of ", dtype_name(dt),
         " needs ", static_cast<size_t>(n) * es);
  if (!t.has_raw_data()) {
    int stored = ot == onnx::TensorProto_DataType_FLOAT    ? t.float_data_size()
                 : ot == onnx::TensorProto_DataType_DOUBLE ? t.double_data_size()
                 : ot == onnx::TensorProto_DataType_INT64  ? t.int64_data_size()
                                                           : t.int32_data_size();
    if (stored != n)
      fail(where, ": has ", stored, " values, shape ", shape_str(shape), " needs ", n);
  }
  Tensor out(dt, shape);
  if (t.has_raw_data()) {
    for (int64_t i = 0; i < n; ++i) {
      const char* p = raw.data() + i * static_cast<int64_t>(es);
      if (is_double) {
        double v;
        std::memcpy(&v, p, 8);
        store(out, i, v);
      } else if (ot == onnx::TensorProto_DataType_INT16) {
        int16_t v;
        std::memcpy(&v, p, 2);
        store_i(out, i, v);
      } else if (ot == onnx::TensorProto_DataType_UINT16) {
        uint16_t v;
        std::memcpy(&v, p, 2);
        store_i(out, i, v);
      } else {
        std::memcpy(static_cast<uint8_t*>(out.raw()) + i * static_cast<int64_t>(es), p, es);
      }
    }
    return out;
  }
  switch (ot) {
    case onnx::TensorProto_DataType_FLOAT:
      for (int64_t i = 0; i < n; ++i) out.data<float>()[i] = t.float_data(static_cast<int>(i));
      break;
    case onnx::TensorProto_DataType_DOUBLE:
      for (int64_t i = 0; i < n; ++i) store(out, i, t.double_data(static_cast<int>(i)));
      break;
    case onnx::TensorProto_DataType_INT64:
      for (int64_t i = 0; i < n; ++i) out.data<int64_t>()[i] = t.int64_data(static_cast<int>(i));
      break;
    case onnx::TensorProto_DataType_FLOAT16:
      for (int64_t i = 0; i < n; ++i)
        out.data<uint16_t>()[i] = static_cast<uint16_t>(t.int32_data(static_cast<int>(i)));
      break;
    default:  // int8/uint8/int16/uint16/int32/bool live in int32_data
      for (int64_t i = 0; i < n; ++i) store_i(out, i, t.int32_data(static_cast<int>(i)));
  }
  return out;
}

bool is_foldable_onnx_op(const std::string& op) {
  return binary_const_ops().count(op) || unary_const_ops().count(op) || kOtherConst.count(op);
}

std::optional<Tensor> fold_onnx_node(const onnx::NodeProto& node,
                                     const std::vector<const Tensor*>& inputs, int64_t opset,
                                     const std::string& source, const std::string& node_name) {
  if (!is_foldable_onnx_op(node.op_type())) return std::nullopt;
  return fold(FoldNode{node, inputs, opset, source, node_name, node.op_type()});
}

}  // namespace vedge

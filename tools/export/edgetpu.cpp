// edgetpu.cpp: the Edge TPU readiness check (see edgetpu.h). The table
// below lists the TFLite builtin ops of the Edge TPU compiler's published
// supported-operations table, with the per-op conditions that the operator
// listing lets us check; general conditions (8-bit tensors, at most three
// dimensions larger than 1, static shapes) apply to every op. Depends on
// runtime/tflite_import.h (TfliteModelInfo) only.
#include "tools/export/edgetpu.h"

#include <map>
#include <string>

namespace vedge {

namespace {

using Check = std::string (*)(const TfliteOpInfo&);  // "" = the condition holds

int dims_above_one(const Shape& s) {
  int n = 0;
  for (int64_t d : s) n += d > 1;
  return n;
}

std::string shape_text(const Shape& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

std::string no_batch_change(const TfliteOpInfo& o, const char* what) {
  if (o.input_shapes.empty() || o.output_shapes.empty()) return "";
  const Shape &in = o.input_shapes[0], &out = o.output_shapes[0];
  if (!in.empty() && !out.empty() && in[0] != out[0])
    return std::string("changes the batch dimension (") + what + " along batch is not supported)";
  return "";
}

std::string check_concat(const TfliteOpInfo& o) {
  for (size_t i = 0; i < o.input_constant.size(); ++i)
    if (o.input_constant[i] && o.input_shapes.size() != 2)
      return "a constant input is only allowed with exactly 2 inputs (a zero padding)";
  return "";
}

std::string check_fully_connected(const TfliteOpInfo& o) {
  if (!o.output_shapes.empty() && dims_above_one(o.output_shapes[0]) > 1)
    return "output " + shape_text(o.output_shapes[0]) + " is not one-dimensional";
  return "";
}

// Reduced axes are read off the shapes (input vs output of equal rank).
std::string check_mean(const TfliteOpInfo& o) {
  if (o.input_shapes.empty() || o.output_shapes.empty()) return "";
  const Shape &in = o.input_shapes[0], &out = o.output_shapes[0];
  if (in.empty()) return "";
  if (in.size() != out.size())
    return in[0] > 1 ? "reduces a batch larger than 1 (axes not listed)" : "";
  if (in[0] != out[0]) return "reduces the batch dimension";
  if (in.size() == 4 && in[3] != out[3] && in[3] % 4 != 0)
    return "reduces channels whose count " + std::to_string(in[3]) + " is not a multiple of 4";
  return "";
}

std::string check_pad(const TfliteOpInfo& o) { return no_batch_change(o, "padding"); }
std::string check_pack(const TfliteOpInfo& o) { return no_batch_change(o, "packing"); }

std::string check_softmax(const TfliteOpInfo& o) {
  if (o.input_shapes.empty()) return "";
  const Shape& s = o.input_shapes[0];
  if (dims_above_one(s) > 1) return "input " + shape_text(s) + " is not one-dimensional";
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  if (n > 16000) return "input has " + std::to_string(n) + " elements (at most 16000)";
  return "";
}

// The published table (TFLite builtin names) with the conditions checked here.
const std::map<std::string, Check>& supported_ops() {
  static const std::map<std::string, Check> ops = {
      {"ADD", nullptr},
      {"AVERAGE_POOL_2D", nullptr},
      {"CONCATENATION", check_concat},
      {"CONV_2D", nullptr},
      {"DEPTHWISE_CONV_2D", nullptr},
      {"EXPAND_DIMS", nullptr},
      {"FULLY_CONNECTED", check_fully_connected},
      {"L2_NORMALIZATION", nullptr},
      {"LOGISTIC", nullptr},
      {"UNIDIRECTIONAL_SEQUENCE_LSTM", nullptr},
      {"MAXIMUM", nullptr},
      {"MAX_POOL_2D", nullptr},
      {"MEAN", check_mean},
      {"MINIMUM", nullptr},
      {"MUL", nullptr},
      {"PACK", check_pack},
      {"PAD", check_pad},
      {"PRELU", nullptr},
      {"QUANTIZE", nullptr},
      {"REDUCE_MAX", nullptr},
      {"REDUCE_MIN", nullptr},
      {"RELU", nullptr},
      {"RELU6", nullptr},
      {"RELU_N1_TO_1", nullptr},
      {"RESHAPE", nullptr},
      {"RESIZE_BILINEAR", nullptr},
      {"RESIZE_NEAREST_NEIGHBOR", nullptr},
      {"RSQRT", nullptr},
      {"SLICE", nullptr},
      {"SOFTMAX", check_softmax},
      {"SPACE_TO_DEPTH", nullptr},
      {"SPLIT", nullptr},
      {"SQUARED_DIFFERENCE", nullptr},
      {"SQUEEZE", nullptr},
      {"STRIDED_SLICE", nullptr},
      {"SUB", nullptr},
      {"SUM", nullptr},
      {"TANH", nullptr},
      {"TRANSPOSE_CONV", nullptr},
  };
  return ops;
}

bool is_8bit(const std::string& t) { return t == "int8" || t == "uint8"; }

// Conditions every mapped op meets: 8-bit activations (constants may also
// be int32: biases, shapes, axes), static shapes, activations with at most
// three dimensions larger than 1.
std::string check_tensors(const TfliteOpInfo& o) {
  for (size_t i = 0; i < o.input_types.size(); ++i) {
    const std::string& t = o.input_types[i];
    if (t == "none") continue;
    bool constant = i < o.input_constant.size() && o.input_constant[i];
    if (!is_8bit(t) && !(constant && t == "int32")) {
      if (o.op == "QUANTIZE")
        return "quantizes a " + t + " tensor: runs on the CPU (use 8-bit model input)";
      return std::string(constant ? "constant " : "input ") + std::to_string(i) + " is " + t +
             " (the Edge TPU runs 8-bit quantized tensors only)";
    }
  }
  for (size_t i = 0; i < o.output_types.size(); ++i)
    if (!is_8bit(o.output_types[i]))
      return "output " + std::to_string(i) + " is " + o.output_types[i] +
             " (the Edge TPU runs 8-bit quantized tensors only)";
  // The dimension limit is on activations; filters ([O,KH,KW,I]) are exempt.
  auto shapes_ok = [&](const std::vector<Shape>& v, bool inputs) -> std::string {
    for (size_t i = 0; i < v.size(); ++i) {
      const Shape& s = v[i];
      for (int64_t d : s)
        if (d < 0) return "dynamic shape " + shape_text(s);
      if (inputs && i < o.input_constant.size() && o.input_constant[i]) continue;
      for (size_t k = 0; k + 3 < s.size(); ++k)
        if (s[k] > 1) return "tensor " + shape_text(s) + " has more than 3 dimensions larger than 1";
    }
    return "";
  };
  std::string r = shapes_ok(o.input_shapes, true);
  return r.empty() ? shapes_ok(o.output_shapes, false) : r;
}

}  // namespace

std::vector<EdgeTpuOpCheck> edgetpu_check(const TfliteModelInfo& info) {
  std::vector<EdgeTpuOpCheck> out;
  for (const TfliteOpInfo& o : info.ops) {
    EdgeTpuOpCheck c{o.index, o.op, false, ""};
    auto it = supported_ops().find(o.op);
    if (o.custom) {
      c.reason = "custom operator: runs on the CPU";
    } else if (it == supported_ops().end()) {
      c.reason = "not in the Edge TPU's supported operations";
    } else if (std::string r = check_tensors(o); !r.empty()) {
      c.reason = r;
    } else if (std::string r2 = it->second ? it->second(o) : ""; !r2.empty()) {
      c.reason = r2;
    } else {
      c.mapped = true;
    }
    out.push_back(std::move(c));
  }
  return out;
}

EdgeTpuSummary edgetpu_summary(const std::vector<EdgeTpuOpCheck>& checks) {
  EdgeTpuSummary s;
  s.total = static_cast<int>(checks.size());
  for (size_t i = 0; i < checks.size(); ++i) {
    if (checks[i].mapped) ++s.mapped;
    else if (s.first_cpu_op < 0) s.first_cpu_op = static_cast<int>(i);
  }
  s.on_edgetpu = s.first_cpu_op < 0 ? s.total : s.first_cpu_op;
  return s;
}

std::string edgetpu_summary_line(const std::vector<EdgeTpuOpCheck>& checks) {
  const EdgeTpuSummary s = edgetpu_summary(checks);
  std::string line = std::to_string(s.mapped) + " of " + std::to_string(s.total) +
                     " ops map to the Edge TPU; ";
  if (s.first_cpu_op < 0) return line + "the whole graph can run on the Edge TPU";
  const EdgeTpuOpCheck& f = checks[static_cast<size_t>(s.first_cpu_op)];
  return line + "op " + std::to_string(f.index) + " (" + f.op + ") splits the graph: " +
         (s.on_edgetpu == 0 ? std::string("no op runs on the Edge TPU, ")
                            : "ops before it (" + std::to_string(s.on_edgetpu) +
                                  ") run on the Edge TPU, ") +
         "ops " + std::to_string(f.index) + ".." + std::to_string(checks.back().index) +
         " run on the CPU";
}

}  // namespace vedge

// litert_peer.h: runs a .tflite model in LiteRT.js (tests/peers/litert_run.js
// under Node, the TFLite runtime compiled to WebAssembly, on the CPU) from a
// test, and returns each output's raw values in its own type (float32, int8,
// uint8, ...) with LiteRT's name, type, shape and the file's quantization
// parameters, so a test dequantizes (or compares steps) itself.
// Header-only; depends on node_peer.h, runtime/npy.h, runtime/tensor.h and
// nlohmann/json (for the peer's JSON), not on the TFLite writer or importer.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "node_peer.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"

namespace vedge::test {

// One model input or output as LiteRT.js reports it.
struct LitertIo {
  std::string name;
  std::string type;  // the TFLite type: "float32", "int8", "uint8", "int32", ...
  Shape shape;
  // real = scale * (q - zero_point), per channel along quantized_dimension
  // when scale has more than one entry; empty when not quantized.
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int quantized_dimension = 0;
  bool quantized() const { return !scale.empty(); }
};

struct LitertOutput {
  LitertIo io;
  Tensor value;  // raw values, dtype as io.type
};

struct LitertRun {
  std::string version;                  // of @litertjs/core
  std::vector<std::string> custom_ops;  // custom op codes in the file
  std::vector<LitertIo> inputs;
  std::vector<LitertOutput> outputs;    // in the model's output order
  bool ok = false;                      // false after a failure (already reported)
};

// Fails the current test (and returns false) when @litertjs/core is absent.
inline bool litert_available() { return node_package_available("@litertjs/core", "LiteRT.js (@litertjs/core)"); }

namespace detail {

inline LitertIo litert_io_from_json(const nlohmann::json& j) {
  LitertIo io;
  io.name = j.at("name").get<std::string>();
  io.type = j.at("type").get<std::string>();
  io.shape = j.at("shape").get<Shape>();
  if (j.contains("quantization")) {
    const auto& q = j.at("quantization");
    io.scale = q.at("scale").get<std::vector<float>>();
    io.zero_point = q.at("zero_point").get<std::vector<int64_t>>();
    io.quantized_dimension = q.at("quantized_dimension").get<int>();
  }
  return io;
}

// Parses the peer's JSON line and reads the output .npy files it names.
inline LitertRun litert_parse(const std::string& out) {
  LitertRun r;
  nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    ADD_FAILURE() << "LiteRT peer printed no JSON description: " << out;
    return r;
  }
  r.version = j.value("version", "");
  r.custom_ops = j.value("custom_ops", std::vector<std::string>{});
  for (const auto& i : j.at("inputs")) r.inputs.push_back(litert_io_from_json(i));
  for (const auto& o : j.at("outputs")) {
    LitertOutput lo{litert_io_from_json(o), {}};
    lo.value = read_npy(o.at("file").get<std::string>());
    r.outputs.push_back(std::move(lo));
  }
  r.ok = true;
  return r;
}

}  // namespace detail

// Runs `model` once in LiteRT.js. `inputs` are (input name, value) pairs,
// each dtype equal to the model input's TFLite type (float32, int8, uint8);
// they are written to out_dir as .npy files and the outputs read back from
// there. A peer failure is a test failure (message with the peer's stderr)
// and returns ok = false.
inline LitertRun run_litert(const std::string& model, const std::vector<std::pair<std::string, Tensor>>& inputs,
                            const std::string& out_dir) {
  std::filesystem::create_directories(out_dir);
  std::string args = model;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const std::string path = out_dir + "/input" + std::to_string(k) + ".npy";
    write_npy(path, inputs[k].second);
    args += " --input '" + inputs[k].first + "=" + path + "'";
  }
  args += " --out " + out_dir + "/outputs";
  const std::string out = run_node("litert_run.js", args, out_dir);
  if (out.empty()) return {};
  return detail::litert_parse(out);
}

}  // namespace vedge::test

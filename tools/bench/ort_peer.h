// ort_peer.h: the same ONNX file timed in ONNX Runtime, for the peer column
// of `vedge bench --peer ort`. Runs tests/peers/ort_run.js --bench under Node
// (onnxruntime-node from $VEDGE_ORT_NODE_PATH or tests/peers/node_modules) on
// a seeded random input of the shapes (and float32/uint8/int8 types) vedge
// imports, same threads, warm-up and runs; the network alone. Samples come
// back raw, so statistics are computed here exactly as for vedge's own.
// Depends on runtime/ (the importer, for the input shapes) and POSIX popen.
#pragma once

#include <string>
#include <vector>

namespace vedge {

struct PeerTiming {
  std::string engine;   // "onnxruntime-node"
  std::string version;  // "1.20.1"
  int threads = 1, warmup = 0, runs = 0;
  std::vector<double> samples_ms;
};

// Checks, before any measurement, that Node and onnxruntime-node load;
// throws the same one-line error as time_with_ort() when they do not.
void check_ort_peer();

// Throws one vedge::Error line when Node or onnxruntime-node is missing
// ("... onnxruntime-node is not installed ...") or ORT rejects the model.
PeerTiming time_with_ort(const std::string& model_path, int threads, int warmup, int runs);

}  // namespace vedge

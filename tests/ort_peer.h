// ort_peer.h: runs the ONNX Runtime peer (tests/peers/ort_run.js under Node)
// from a test; running scripts and the installed check are node_peer.h's.
// Header-only; depends on node_peer.h.
#pragma once

#include <string>

#include "node_peer.h"

namespace vedge::test {

// Fails the current test (and returns false) when onnxruntime-node is absent.
inline bool ort_peer_available() {
  return node_package_available("onnxruntime-node", "ONNX Runtime for Node");
}

}  // namespace vedge::test

// node_peer.h: what the Node test peers (tests/peers/*.js: ONNX Runtime,
// LiteRT.js) share: where they live, whether an npm package is installed,
// and running a peer script. The peers are installed by scripts/setup.sh; a
// missing peer is a test failure with a clear message, not a skip, because
// the test command installs it. Header-only; depends on the standard library
// and GoogleTest.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace vedge::test {

inline std::string peers_dir() { return std::string(VEDGE_SOURCE_DIR) + "/tests/peers"; }

// Fails the current test (and returns false) when tests/peers/node_modules/<package>
// is absent; `what` names the peer in the message.
inline bool node_package_available(const std::string& package, const std::string& what) {
  const std::string mod = peers_dir() + "/node_modules/" + package;
  if (std::filesystem::exists(mod)) return true;
  ADD_FAILURE() << what << " is not installed at " << mod << " (scripts/setup.sh installs it)";
  return false;
}

// Runs `node <script> <args>`; returns its stdout, fails the test on a
// non-zero exit (with the script's stderr in the message).
inline std::string run_node(const std::string& script, const std::string& args,
                            const std::string& work_dir) {
  std::filesystem::create_directories(work_dir);
  const std::string err = work_dir + "/node.stderr", out = work_dir + "/node.stdout";
  const std::string cmd = "node " + peers_dir() + "/" + script + " " + args + " >" + out + " 2>" + err;
  int rc = std::system(cmd.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
    ADD_FAILURE() << "Node peer " << script << " failed: " << cmd << "\n" << slurp(err);
  return slurp(out);
}

}  // namespace vedge::test

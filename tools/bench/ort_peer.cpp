// ort_peer.cpp: ONNX Runtime timing through Node (see ort_peer.h).
// Depends on runtime/, nlohmann/json and POSIX popen/mkstemp.
#include "tools/bench/ort_peer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/onnx_import.h"

namespace vedge {
namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string first_line(const std::string& s) {
  size_t e = s.find('\n');
  return e == std::string::npos ? s : s.substr(0, e);
}

std::string peer_script() {
  const std::string script = std::string(VEDGE_PEERS_DIR) + "/ort_run.js";
  VEDGE_CHECK(std::filesystem::exists(script), "--peer ort: ", script, " is missing");
  VEDGE_CHECK(std::system("command -v node >/dev/null 2>&1") == 0,
              "--peer ort: node (Node.js) is not installed (scripts/setup.sh installs it)");
  return script;
}

// Runs `node ARGS`; returns its stdout, throws `who`: the script's first
// error line on failure.
std::string run_peer(const std::string& args, const std::string& who) {
  std::string cmd = "node " + args;
  char err_path[] = "/tmp/vedge-ort-XXXXXX";
  int fd = mkstemp(err_path);
  VEDGE_CHECK(fd >= 0, "--peer ort: cannot create a temporary file");
  close(fd);
  cmd += " 2>" + shell_quote(err_path);
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p) {
    char buf[65536];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  }
  int rc = p ? pclose(p) : -1;
  std::ifstream ef(err_path);
  std::string err((std::istreambuf_iterator<char>(ef)), std::istreambuf_iterator<char>());
  std::remove(err_path);
  if (rc != 0 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
    fail(who, ": ONNX Runtime peer failed: ", err.empty() ? "no message" : first_line(err));
  return out;
}

}  // namespace

void check_ort_peer() { run_peer(shell_quote(peer_script()) + " --check", "--peer ort"); }

PeerTiming time_with_ort(const std::string& model_path, int threads, int warmup, int runs) {
  const Graph g = import_onnx_file(model_path);
  std::string args = shell_quote(peer_script()) + " " + shell_quote(model_path);
  for (int id : g.inputs) {
    std::string dims;
    for (int64_t d : g.values[id].shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
    const DType t = g.values[id].dtype;  // full-integer models take uint8/int8 images
    if (t == DType::U8 || t == DType::I8) dims += std::string(":") + dtype_name(t);
    args += " --input " + shell_quote(g.values[id].name + "=" + dims);
  }
  args += " --bench --threads " + std::to_string(threads) + " --warmup " + std::to_string(warmup) +
          " --runs " + std::to_string(runs);
  const std::string out = run_peer(args, model_path);
  PeerTiming t;
  try {
    auto j = nlohmann::json::parse(out);
    t.engine = j.at("engine").get<std::string>();
    t.version = j.at("version").get<std::string>();
    t.threads = j.at("threads").get<int>();
    t.warmup = j.at("warmup").get<int>();
    t.runs = j.at("runs").get<int>();
    t.samples_ms = j.at("samples_ms").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    fail(model_path, ": ONNX Runtime peer printed an unreadable result: ", e.what());
  }
  VEDGE_CHECK(static_cast<int>(t.samples_ms.size()) == runs, model_path, ": ONNX Runtime peer returned ",
              t.samples_ms.size(), " samples for ", runs, " runs");
  return t;
}

}  // namespace vedge

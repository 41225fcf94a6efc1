// test_serve_util.h: helpers of the serving tests (test_serve*.cpp): the
// shared UltraFace model and spec, the COCO images it finds faces in (by
// running `vedge detect --json` once), raw-socket requests, and a parser of
// the Prometheus text format. Header-only; depends on runtime/,
// serve/service.h, nlohmann/json and GoogleTest.
#pragma once

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/detector.h"

namespace vedge::test {

inline std::string ultraface_model() {
  return std::string(VEDGE_SHARED_DIR) + "/models/ultraface-rfb-320.onnx";
}
inline std::string ultraface_spec() {
  return std::string(VEDGE_SOURCE_DIR) + "/models/ultraface-rfb-320.vedge.json";
}
inline std::string coco_dir() {
  return std::string(VEDGE_SHARED_DIR) + "/data/coco128/images/train2017";
}
inline bool shared_present() {
  return std::filesystem::exists(ultraface_model()) && std::filesystem::exists(coco_dir());
}
#define VEDGE_SKIP_WITHOUT_SHARED()                                                     \
  if (!::vedge::test::shared_present())                                                 \
  GTEST_SKIP() << "needs ../shared (models/ultraface-rfb-320.onnx, data/coco128); absent"

inline std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline std::string work_dir(const std::string& name) {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/serve/" + name;
  std::filesystem::create_directories(d);
  return d;
}

// `vedge detect --json` output for the given images: one JSON object per
// image (path -> {"image","width","height","detections","latency_ms"}).
inline std::map<std::string, nlohmann::json> cli_detect(const std::vector<std::string>& images,
                                                        const std::string& extra,
                                                        const std::string& work) {
  std::string cmd = std::string(VEDGE_CLI) + " detect " + ultraface_model() + " --spec " +
                    ultraface_spec() + " --json " + extra;
  for (const std::string& i : images) cmd += " " + i;
  const std::string out = work + "/detect.json";
  EXPECT_EQ(std::system((cmd + " >" + out).c_str()), 0) << cmd;
  std::map<std::string, nlohmann::json> r;
  for (const auto& e : nlohmann::json::parse(slurp(out))) r[e["image"].get<std::string>()] = e;
  return r;
}

// Among the first 24 COCO train images (sorted), those in which the CLI
// finds a face and those in which it finds none. Computed once and kept in
// the test work folder (CTest runs each test as its own process).
struct CocoPicks {
  std::vector<std::string> faces, no_faces;
};
inline const CocoPicks& coco_picks(const std::string& work) {
  static std::unique_ptr<CocoPicks> picks;
  if (picks) return *picks;
  picks = std::make_unique<CocoPicks>();
  const std::string cache = std::string(VEDGE_TEST_WORK_DIR) + "/serve/coco_picks.json";
  nlohmann::json j = nlohmann::json::parse(slurp(cache), nullptr, false);
  if (j.is_discarded() || !j.contains("faces")) {
    std::vector<std::string> all;
    for (const auto& e : std::filesystem::directory_iterator(coco_dir())) all.push_back(e.path().string());
    std::sort(all.begin(), all.end());
    all.resize(std::min<size_t>(all.size(), 24));
    j = {{"faces", nlohmann::json::array()}, {"no_faces", nlohmann::json::array()}};
    for (const auto& [path, r] : cli_detect(all, "", work))
      j[r["detections"].empty() ? "no_faces" : "faces"].push_back(path);
    std::filesystem::create_directories(std::filesystem::path(cache).parent_path());
    const std::string tmp = cache + "." + std::to_string(::getpid()) + ".tmp";
    std::ofstream(tmp) << j.dump();
    std::filesystem::rename(tmp, cache);
  }
  picks->faces = j["faces"].get<std::vector<std::string>>();
  picks->no_faces = j["no_faces"].get<std::vector<std::string>>();
  return *picks;
}

// Standard base64 with padding (RFC 4648).
inline std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += std::string{k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += std::string{k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

// A raw TCP connection to 127.0.0.1:port (for requests a normal client
// cannot make: trickled bytes, lying headers).
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // True when the server has sent something (or closed) within timeout_ms.
  bool wait_readable(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }
  // Everything until the server closes (or timeout_ms of silence).
  std::string read_all(int timeout_ms = 20000) {
    std::string r;
    char buf[65536];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      r.append(buf, static_cast<size_t>(n));
    }
    return r;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// "HTTP/1.1 408 Request Timeout\r\n...\r\n\r\nbody" -> status, body.
struct RawResponse {
  int status = 0;
  std::string headers, body;
};
inline RawResponse parse_raw(const std::string& s) {
  RawResponse r;
  if (s.size() > 12) r.status = std::atoi(s.c_str() + 9);
  const auto end = s.find("\r\n\r\n");
  if (end != std::string::npos) {
    r.headers = s.substr(0, end);
    r.body = s.substr(end + 4);
  }
  return r;
}

// Prometheus text -> {"name{labels}" -> value}, labels as rendered.
inline std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return m;
}

}  // namespace vedge::test

// access_log.h: the structured access log, one JSON object per line per
// request (request id, method, path, status, bytes in and out, stage
// timings, detections). Appends to a file, or writes to stderr for "-";
// lines are written whole under a mutex and flushed, so concurrent requests
// never interleave. Depends on nlohmann/json and runtime/error.h.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace vedge::serve {

class AccessLog {
 public:
  // "" disables the log; "-" is stderr; else a file opened for appending.
  explicit AccessLog(const std::string& path);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  bool enabled() const { return f_ != nullptr; }
  // Adds "time" (UTC, ISO 8601 with milliseconds) first, then the fields.
  void write(const nlohmann::ordered_json& fields);

 private:
  std::FILE* f_ = nullptr;
  bool owned_ = false;
  std::mutex mu_;
};

}  // namespace vedge::serve

// access_log.cpp: JSON-lines access log (see access_log.h).
#include "serve/access_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "runtime/error.h"

namespace vedge::serve {
namespace {

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const long ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

}  // namespace

AccessLog::AccessLog(const std::string& path) {
  if (path.empty()) return;
  if (path == "-") {
    f_ = stderr;
    return;
  }
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) fail(path, ": cannot open the access log (", std::strerror(errno), ")");
  owned_ = true;
}

AccessLog::~AccessLog() {
  if (owned_) std::fclose(f_);
}

void AccessLog::write(const nlohmann::ordered_json& fields) {
  if (!f_) return;
  nlohmann::ordered_json line;
  line["time"] = utc_now();
  for (const auto& [k, v] : fields.items()) line[k] = v;
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(text.data(), 1, text.size(), f_);
  std::fflush(f_);
}

}  // namespace vedge::serve

// files.cpp: see files.h.
#include "runtime/files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "runtime/error.h"

namespace vedge {
namespace fs = std::filesystem;

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  VEDGE_CHECK(f, path, ": cannot open");
  std::ostringstream s;
  s << f.rdbuf();
  VEDGE_CHECK(!f.bad(), path, ": cannot read");
  return s.str();
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  VEDGE_CHECK(!ec, p.parent_path().string(), ": cannot create folder: ", ec.message());
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    VEDGE_CHECK(f, tmp, ": cannot create");
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.close();
    VEDGE_CHECK(f, tmp, ": write failed (disk full?)");
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp);
    fail(path, ": cannot rename ", tmp, " into place: ", ec.message());
  }
}

}  // namespace vedge

// files.cpp: image copy/link for data/ (see files.h).
#include "data/files.h"

#include <filesystem>
#include <system_error>

#include "runtime/error.h"

namespace vedge {
namespace fs = std::filesystem;

void place_image_file(const std::string& from, const std::string& to, ImageCopyMode mode) {
  if (mode == ImageCopyMode::None) return;
  fs::path dst(to);
  std::error_code ec;
  if (dst.has_parent_path()) fs::create_directories(dst.parent_path(), ec);
  VEDGE_CHECK(!ec, dst.parent_path().string(), ": cannot create folder: ", ec.message());
  VEDGE_CHECK(fs::is_regular_file(from, ec), from, ": image not found");
  if (fs::exists(dst, ec) && fs::equivalent(from, dst, ec)) return;  // already in place (same file)
  fs::path tmp = to + ".tmp";
  fs::remove(tmp, ec);
  if (mode == ImageCopyMode::Copy)
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  else
    fs::create_symlink(fs::absolute(from), tmp, ec);
  VEDGE_CHECK(!ec, to, ": cannot ", mode == ImageCopyMode::Copy ? "copy" : "link", " ", from, ": ",
              ec.message());
  fs::rename(tmp, dst, ec);
  VEDGE_CHECK(!ec, to, ": cannot rename into place: ", ec.message());
}

}  // namespace vedge

// data_test_util.h: helpers shared by the data/ tests: catching a
// vedge::Error's message, checking it is one line naming given parts, a fresh
// work folder under VEDGE_TEST_WORK_DIR, writing small files and images, and
// running the vedge CLI. Header-only; depends on data/, runtime/ and gtest.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

#include "runtime/error.h"
#include "runtime/image.h"

namespace vedge::test {

// The message of the vedge::Error thrown by f, or "" if none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const vedge::Error& e) {
    return e.what();
  }
  return "";
}

inline void expect_error(const std::string& msg, std::initializer_list<std::string> needles) {
  ASSERT_FALSE(msg.empty()) << "expected an error";
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in: " << msg;
}

// An empty folder VEDGE_TEST_WORK_DIR/<name>.
inline std::string fresh_dir(const std::string& name) {
  std::filesystem::path p = std::filesystem::path(VEDGE_TEST_WORK_DIR) / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A w x h image filled with one colour, written as PNG or JPEG by extension.
inline void write_solid_image(const std::string& path, int w, int h, uint8_t r = 90, uint8_t g = 90,
                              uint8_t b = 90) {
  Image im;
  im.width = w;
  im.height = h;
  im.rgb.resize(size_t(w) * h * 3);
  for (size_t i = 0; i < im.rgb.size(); i += 3) im.rgb[i] = r, im.rgb[i + 1] = g, im.rgb[i + 2] = b;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_image(path, im);
}

struct CliResult {
  int code = 0;
  std::string out, err;
};

// Runs `vedge <args>`; args are passed to the shell as given.
inline CliResult run_cli(const std::string& args, const std::string& work) {
  std::string out = work + "/cli.out", err = work + "/cli.err";
  std::string cmd = std::string(VEDGE_CLI) + " " + args + " >" + out + " 2>" + err;
  int rc = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline std::string shared_dir() { return VEDGE_SHARED_DIR; }

}  // namespace vedge::test

// `vedge package` (run through the host's vedge, VEDGE_CLI): the bundle it
// writes from a small aarch64 program and libraries cross-compiled here with
// aarch64-linux-gnu-gcc in a throwaway sysroot (what gets bundled, what the
// base system provides, stripping, the wrapper, config, README and systemd
// unit, and that the unpacked bundle runs under qemu), and one clear error
// line for each bad input: unsupported target, missing model, missing
// sysroot, a binary for the wrong machine, a library the sysroot lacks.
// The real bundle (vedge + detector under qemu, same detections as x86) is
// checked by scripts/arm_test.sh. Depends on GoogleTest, onnx_builder.h and
// the host's cross compiler, tar and qemu (the tests skip without them).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "onnx_builder.h"

namespace fs = std::filesystem;
using vedge::test::OnnxBuilder;

namespace {

struct CliResult {
  int status = -1;  // exit code; -1 when killed by a signal
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

class Package : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = fs::path(VEDGE_TEST_WORK_DIR) / "package" /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(work_);
    fs::create_directories(work_);
  }

  CliResult sh(const std::string& cmd) {
    const fs::path out = work_ / "stdout.txt", err = work_ / "stderr.txt";
    const int rc = std::system((cmd + " >" + out.string() + " 2>" + err.string()).c_str());
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out), slurp(err)};
  }
  CliResult vedge(const std::string& args) { return sh(std::string(VEDGE_CLI) + " package " + args); }

  // A detector-shaped model (input 1x3x240x320, scores 1x4420x2, boxes
  // 1x4420x4 as constants) with the UltraFace spec as its sidecar.
  fs::path tiny_detector() {
    OnnxBuilder b(13);
    b.input("input", {1, 3, 240, 320});
    b.constant("scores", {1, 4420, 2}, std::vector<float>(4420 * 2, 0.5f));
    b.constant("boxes", {1, 4420, 4}, std::vector<float>(4420 * 4, 0.f));
    b.output("scores").output("boxes");
    const fs::path m = work_ / "in" / "tiny.onnx";
    write(m, b.bytes());
    fs::copy_file(fs::path(VEDGE_SOURCE_DIR) / "models/ultraface-rfb-320.vedge.json", work_ / "in" / "tiny.vedge.json");
    return m;
  }

  // The one error line of a failed run.
  static void expect_error(const CliResult& r, const std::string& what) {
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected one line: " << r.err;
  }

  fs::path work_;
};

bool have(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

TEST_F(Package, UnsupportedTarget) {
  expect_error(vedge(tiny_detector().string() + " --target riscv64 --out " + (work_ / "b.tar.gz").string()),
               "unsupported target 'riscv64' (supported: aarch64)");
}

TEST_F(Package, MissingModel) {
  expect_error(vedge((work_ / "nope.onnx").string() + " --target aarch64 --out " + (work_ / "b.tar.gz").string()),
               "model not found: " + (work_ / "nope.onnx").string());
}

TEST_F(Package, MissingSysroot) {
  expect_error(vedge(tiny_detector().string() + " --sysroot " + (work_ / "nosysroot").string() + " --out " +
                     (work_ / "b.tar.gz").string()),
               "aarch64 sysroot not found: " + (work_ / "nosysroot").string() + " (prepare it with scripts/arm_sysroot.sh");
}

TEST_F(Package, BinaryForAnotherMachine) {
  fs::create_directories(work_ / "sysroot/usr/lib/aarch64-linux-gnu");
  expect_error(vedge(tiny_detector().string() + " --sysroot " + (work_ / "sysroot").string() + " --binary " +
                     VEDGE_CLI + " --out " + (work_ / "b.tar.gz").string()),
               "not an aarch64 executable (ELF machine 62)");  // EM_X86_64
  EXPECT_FALSE(fs::exists(work_ / "b.tar.gz"));
}

// A cross-compiled program: app -> libfoo.so.1 (in usr/lib, via a symlink)
// -> libbar.so.2 (in lib/); app and both libraries also need libstdc++,
// libm, libgcc_s and libc, which Debian 12 has and which must not be bundled.
class PackageCross : public Package {
 protected:
  void SetUp() override {
    Package::SetUp();
    if (!have("aarch64-linux-gnu-g++")) GTEST_SKIP() << "aarch64-linux-gnu-g++ absent (g++-aarch64-linux-gnu)";
    sysroot_ = work_ / "sysroot";
    const fs::path usr = sysroot_ / "usr/lib/aarch64-linux-gnu", lib = sysroot_ / "lib/aarch64-linux-gnu";
    fs::create_directories(usr);
    fs::create_directories(lib);
    write(work_ / "src/bar.cpp", "#include <string>\nint bar(int x) { return int(std::to_string(x * 20).size()) + x * 20; }\n");
    write(work_ / "src/foo.cpp", "int bar(int);\nint foo(int x) { return bar(x) + 0; }\n");
    write(work_ / "src/app.cpp",
          "#include <cstdio>\n#include <cstdlib>\nint foo(int);\n"
          "int main(int argc, char** argv) { std::printf(\"answer %d\\n\", foo(argc > 1 ? std::atoi(argv[1]) : 2)); }\n");
    const std::string cxx = "aarch64-linux-gnu-g++ -O1 -g ";
    const std::string src = (work_ / "src").string();
    ASSERT_EQ(sh(cxx + "-shared -fPIC -Wl,-soname,libbar.so.2 -o " + (lib / "libbar.so.2").string() + " " + src + "/bar.cpp").status, 0);
    ASSERT_EQ(sh(cxx + "-shared -fPIC -Wl,-soname,libfoo.so.1 -o " + (usr / "libfoo.so.1.0.0").string() + " " + src +
                 "/foo.cpp " + (lib / "libbar.so.2").string()).status, 0);
    fs::create_symlink("libfoo.so.1.0.0", usr / "libfoo.so.1");
    ASSERT_EQ(sh(cxx + "-o " + (work_ / "app").string() + " " + src + "/app.cpp " + (usr / "libfoo.so.1").string() +
                 " -Wl,-rpath-link," + lib.string()).status, 0);
  }
  fs::path sysroot_;
};

TEST_F(PackageCross, BundleHasWhatTheBoardLacks) {
  const fs::path model = tiny_detector();
  const fs::path out = work_ / "edge-kit.tar.gz";
  CliResult r = vedge(model.string() + " --target aarch64 --sysroot " + sysroot_.string() + " --binary " +
                (work_ / "app").string() + " --out " + out.string() + " --port 9000 --threads 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("2 libraries (libfoo.so.1 libbar.so.2)"), std::string::npos) << r.out;

  // Unpack into an empty folder: exactly these files.
  const fs::path dir = work_ / "unpacked";
  fs::create_directories(dir);
  ASSERT_EQ(sh("tar -xzf " + out.string() + " -C " + dir.string()).status, 0);
  std::set<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (!e.is_directory()) files.insert(fs::relative(e.path(), dir).string());
  EXPECT_EQ(files, (std::set<std::string>{
                       "edge-kit/bin/vedge", "edge-kit/lib/libfoo.so.1", "edge-kit/lib/libbar.so.2",
                       "edge-kit/vedge", "edge-kit/config.json", "edge-kit/README.md",
                       "edge-kit/vedge-serve.service", "edge-kit/models/tiny.onnx",
                       "edge-kit/models/tiny.vedge.json", "edge-kit/models/tiny.labels.txt"}));
  const fs::path b = dir / "edge-kit";
  EXPECT_TRUE(fs::is_regular_file(b / "lib/libfoo.so.1"));  // the file, not the symlink
  EXPECT_EQ(slurp(b / "models/tiny.onnx"), slurp(model));
  EXPECT_EQ(slurp(b / "models/tiny.labels.txt"), "background\nface\n");
  // Stripped: the -g build loses its debug sections.
  EXPECT_LT(fs::file_size(b / "bin/vedge"), fs::file_size(work_ / "app"));
  EXPECT_EQ(sh("readelf -S " + (b / "bin/vedge").string() + " | grep -c debug_info").out, "0\n");
  EXPECT_NE(fs::status(b / "vedge").permissions() & fs::perms::owner_exec, fs::perms::none);

  nlohmann::json cfg = nlohmann::json::parse(slurp(b / "config.json"));
  EXPECT_EQ(cfg["target"], "aarch64");
  EXPECT_EQ(cfg["install_dir"], "/opt/edge-kit");
  EXPECT_EQ(cfg["models"][0]["file"], "models/tiny.onnx");
  EXPECT_EQ(cfg["models"][0]["spec"], "models/tiny.vedge.json");
  EXPECT_EQ(cfg["serve"]["port"], 9000);
  EXPECT_EQ(cfg["libraries"], nlohmann::json::array({"libfoo.so.1", "libbar.so.2"}));
  const std::string unit = slurp(b / "vedge-serve.service");
  EXPECT_NE(unit.find("ExecStart=/opt/edge-kit/vedge serve models/tiny.onnx --host 0.0.0.0 --port 9000 --threads 2\n"),
            std::string::npos) << unit;
  EXPECT_NE(unit.find("WorkingDirectory=/opt/edge-kit\n"), std::string::npos);
  EXPECT_EQ(unit.find("{{"), std::string::npos) << "unfilled placeholder";
  const std::string readme = slurp(b / "README.md");
  EXPECT_NE(readme.find("./vedge detect models/tiny.onnx photo.jpg"), std::string::npos);
  EXPECT_NE(readme.find("libfoo.so.1, libbar.so.2"), std::string::npos);
  EXPECT_EQ(readme.find("{{"), std::string::npos) << "unfilled placeholder";

  // The unpacked program runs with only the bundle's lib/ and the base system.
  if (!have("qemu-aarch64-static")) GTEST_SKIP() << "qemu-aarch64-static absent: bundle not run";
  CliResult run = sh("qemu-aarch64-static -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=" + (b / "lib").string() + " " +
               (b / "bin/vedge").string() + " 3");
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "answer 62\n");  // bar(3) = 60 + digits("60")
}

TEST_F(PackageCross, LibraryMissingFromSysroot) {
  fs::remove(sysroot_ / "lib/aarch64-linux-gnu/libbar.so.2");
  const fs::path out = work_ / "b.tar.gz";
  expect_error(vedge(tiny_detector().string() + " --sysroot " + sysroot_.string() + " --binary " +
                     (work_ / "app").string() + " --out " + out.string()),
               "library libbar.so.2 (needed by libfoo.so.1.0.0) not found in the aarch64 sysroot " + sysroot_.string());
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(work_))  // no staging folder left behind
    EXPECT_EQ(e.path().filename().string().rfind(".vedge-package", 0), std::string::npos) << e.path();
}

// vedge package MODEL... --target aarch64 --out bundle.tar.gz: one archive a
// user copies to an ARM board: the stripped aarch64 `vedge`, the shared
// libraries it needs that a stock Raspberry Pi OS (Debian 12 arm64) lacks
// (found by walking DT_NEEDED from the binary through the arm64 sysroot),
// the models with their labels (and sidecar specs), a config, a README with
// the run commands, a wrapper script and a systemd unit for `vedge serve`.
// Runs on the build host (x86) or on the board itself. Depends on the
// runtime's importer and detector spec, the host's strip and tar; never
// on LibTorch.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "packaging/templates.h"
#include "runtime/detector_spec.h"
#include "runtime/error.h"
#include "runtime/onnx_import.h"

extern char** environ;

namespace vedge::cli {

namespace fs = std::filesystem;

namespace {

constexpr uint16_t kElfMachineAarch64 = 183;  // EM_AARCH64

// Libraries every Debian 12 arm64 system has (libc6, libstdc++6, libgcc-s1,
// zlib1g: priority required), plus OpenSSL 3, which Raspberry Pi OS ships
// with openssh and which must come from the system for its security updates.
const std::set<std::string> kDebian12Base = {
    "ld-linux-aarch64.so.1", "libc.so.6",      "libm.so.6",       "libpthread.so.0",
    "libdl.so.2",            "librt.so.1",     "libresolv.so.2",  "libutil.so.1",
    "libstdc++.so.6",        "libgcc_s.so.1",  "libz.so.1",       "libssl.so.3",
    "libcrypto.so.3"};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  VEDGE_CHECK(f.good(), path, ": cannot read");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& text, bool executable = false) {
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
    VEDGE_CHECK(f.good(), path.string(), ": cannot write");
  }
  if (executable)
    fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
}

template <class T>
T read_at(const std::string& b, uint64_t off, const std::string& path) {
  VEDGE_CHECK(off <= b.size() && b.size() - off >= sizeof(T), path, ": truncated ELF file");
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

// The ELF machine and DT_NEEDED entries of a 64-bit little-endian ELF file,
// read from its section headers (.dynamic and the string table it links).
struct ElfInfo {
  uint16_t machine = 0;
  std::vector<std::string> needed;
};

ElfInfo read_elf(const std::string& path) {
  const std::string b = slurp(path);
  VEDGE_CHECK(b.size() >= 64 && b.compare(0, 4, "\x7f" "ELF") == 0, path, ": not an ELF file");
  VEDGE_CHECK(b[4] == 2 && b[5] == 1, path, ": not a 64-bit little-endian ELF file");
  ElfInfo info;
  info.machine = read_at<uint16_t>(b, 18, path);
  const uint64_t shoff = read_at<uint64_t>(b, 40, path);
  const uint16_t shentsize = read_at<uint16_t>(b, 58, path);
  const uint16_t shnum = read_at<uint16_t>(b, 60, path);
  VEDGE_CHECK(shnum == 0 || shentsize >= 64, path, ": bad ELF section header size");
  auto sh = [&](uint32_t i, uint64_t field) { return shoff + uint64_t(i) * shentsize + field; };
  for (uint32_t i = 0; i < shnum; ++i) {
    if (read_at<uint32_t>(b, sh(i, 4), path) != 6) continue;  // SHT_DYNAMIC
    const uint64_t off = read_at<uint64_t>(b, sh(i, 24), path);
    const uint64_t size = read_at<uint64_t>(b, sh(i, 32), path);
    const uint32_t link = read_at<uint32_t>(b, sh(i, 40), path);
    VEDGE_CHECK(link < shnum, path, ": bad .dynamic string table index");
    const uint64_t stroff = read_at<uint64_t>(b, sh(link, 24), path);
    const uint64_t strsize = read_at<uint64_t>(b, sh(link, 32), path);
    VEDGE_CHECK(stroff <= b.size() && strsize <= b.size() - stroff, path, ": truncated string table");
    for (uint64_t e = 0; e + 16 <= size; e += 16) {
      const int64_t tag = read_at<int64_t>(b, off + e, path);
      if (tag == 0) break;   // DT_NULL
      if (tag != 1) continue;  // DT_NEEDED
      const uint64_t name = read_at<uint64_t>(b, off + e + 8, path);
      VEDGE_CHECK(name < strsize, path, ": bad DT_NEEDED offset");
      info.needed.emplace_back(b.c_str() + stroff + name);
    }
  }
  return info;
}

// Runs argv[0] (looked up in PATH) and returns its exit code; 127 when it
// cannot be started.
int run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return 127;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string replace_all(std::string s, const std::string& key, const std::string& value) {
  for (size_t p = s.find(key); p != std::string::npos; p = s.find(key, p + value.size()))
    s.replace(p, key.size(), value);
  return s;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

bool is_aarch64_elf(const std::string& path) {
  try {
    return read_elf(path).machine == kElfMachineAarch64;
  } catch (const Error&) {
    return false;
  }
}

// --binary, else $VEDGE_AARCH64_BINARY, else build-arm/cli/vedge (what
// scripts/arm_test.sh builds), else this very program when it is aarch64.
std::string find_binary(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("VEDGE_AARCH64_BINARY")) return env;
  if (fs::exists("build-arm/cli/vedge")) return "build-arm/cli/vedge";
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && is_aarch64_elf(self.string())) return self.string();
  fail("no aarch64 vedge binary: build one (scripts/arm_test.sh writes build-arm/cli/vedge) "
       "or pass --binary PATH");
}

// Where the libraries of the target come from: the sysroot's Debian
// folders, then the cross toolchain's (libstdc++, libgcc_s).
std::vector<fs::path> library_dirs(const std::string& sysroot) {
  std::vector<fs::path> dirs = {fs::path(sysroot) / "usr/lib/aarch64-linux-gnu",
                                fs::path(sysroot) / "lib/aarch64-linux-gnu",
                                "/usr/aarch64-linux-gnu/lib"};
  return dirs;
}

struct Library {
  std::string soname;
  fs::path file;  // symlinks resolved
};

// Walks DT_NEEDED from the binary; returns what the base system lacks.
std::vector<Library> bundled_libraries(const std::string& binary, const std::string& sysroot) {
  const std::vector<fs::path> dirs = library_dirs(sysroot);
  std::vector<Library> out;
  std::set<std::string> seen;
  std::deque<std::pair<std::string, std::string>> todo;  // (soname, needed by)
  for (const std::string& n : read_elf(binary).needed) todo.emplace_back(n, binary);
  while (!todo.empty()) {
    auto [name, by] = todo.front();
    todo.pop_front();
    if (kDebian12Base.count(name) || !seen.insert(name).second) continue;
    fs::path found;
    for (const fs::path& d : dirs)
      if (fs::exists(d / name)) {
        found = fs::canonical(d / name);
        break;
      }
    if (found.empty())
      fail("library ", name, " (needed by ", fs::path(by).filename().string(),
           ") not found in the aarch64 sysroot ", sysroot, " (run scripts/arm_sysroot.sh ", sysroot, ")");
    ElfInfo info = read_elf(found.string());
    VEDGE_CHECK(info.machine == kElfMachineAarch64, found.string(), ": not an aarch64 library");
    out.push_back({name, found});
    for (const std::string& n : info.needed) todo.emplace_back(n, found.string());
  }
  return out;
}

std::string strip_program() {
  for (const char* p : {"aarch64-linux-gnu-strip", "llvm-strip"})
    if (run({"sh", "-c", std::string("command -v ") + p + " >/dev/null"}) == 0) return p;
#if defined(__aarch64__)
  return "strip";
#else
  fail("no aarch64 strip found (install binutils-aarch64-linux-gnu, which comes with g++-aarch64-linux-gnu)");
#endif
}

struct PackagedModel {
  std::string file, labels, spec;  // paths inside the bundle
};

PackagedModel add_model(const std::string& model, const fs::path& models_dir) {
  VEDGE_CHECK(fs::is_regular_file(model), "model not found: ", model);
  Graph g = import_onnx_file(model);
  const std::string sidecar = sidecar_path(model);
  DetectorSpec spec = resolve_detector_spec(model, g.metadata);
  validate_detector_spec(spec, g);
  const std::string name = fs::path(model).filename().string();
  VEDGE_CHECK(!fs::exists(models_dir / name), "two models named ", name, ": rename one");
  fs::copy_file(model, models_dir / name);
  PackagedModel pm;
  pm.file = "models/" + name;
  if (fs::is_regular_file(sidecar)) {
    const std::string side = fs::path(sidecar).filename().string();
    fs::copy_file(sidecar, models_dir / side);
    pm.spec = "models/" + side;
  }
  const std::string labels = fs::path(name).stem().string() + ".labels.txt";
  write_file(models_dir / labels, join(spec.labels, "\n") + "\n");
  pm.labels = "models/" + labels;
  return pm;
}

constexpr const char* kWrapper =
    "#!/bin/sh\n"
    "# Runs the bundled vedge with the bundled libraries (lib/) first on the\n"
    "# library path; the rest comes from the system.\n"
    "here=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n"
    "LD_LIBRARY_PATH=\"$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\" exec \"$here/bin/vedge\" \"$@\"\n";

// Removes a folder when the packaging fails half-way.
struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

int cmd_package(int argc, char** argv) {
  Flags f("vedge package", "vedge package MODEL... --target aarch64 --out BUNDLE.tar.gz [options]");
  f.flag("target", "aarch64", "the device: aarch64 (64-bit ARM Linux, Debian 12 / Raspberry Pi OS)")
      .flag("out", "", "the archive to write (.tar.gz)")
      .flag("binary", "", "the aarch64 vedge (default: $VEDGE_AARCH64_BINARY, build-arm/cli/vedge)")
      .flag("sysroot", "", "arm64 sysroot with the libraries (default: $VEDGE_ARM_SYSROOT, build-arm-sysroot)")
      .flag("install-dir", "", "where the bundle will live on the device (default: /opt/NAME)")
      .flag("port", "8080", "port of the `vedge serve` unit")
      .flag("threads", "4", "threads of the `vedge serve` unit");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  const std::string target = f.str("target");
  VEDGE_CHECK(target == "aarch64" || target == "arm64", "unsupported target '", target,
              "' (supported: aarch64)");
  VEDGE_CHECK(!f.positional().empty(), "expected at least one MODEL");
  const std::string out = f.str("out");
  VEDGE_CHECK(out.size() > 7 && out.compare(out.size() - 7, 7, ".tar.gz") == 0,
              "--out must name a .tar.gz file, got '", out, "'");
  const int port = f.integer("port", 1, 65535), threads = f.integer("threads", 1, 256);
  for (const std::string& m : f.positional()) VEDGE_CHECK(fs::is_regular_file(m), "model not found: ", m);

  std::string sysroot = f.str("sysroot");
  if (sysroot.empty()) sysroot = std::getenv("VEDGE_ARM_SYSROOT") ? std::getenv("VEDGE_ARM_SYSROOT") : "build-arm-sysroot";
  VEDGE_CHECK(fs::is_directory(fs::path(sysroot) / "usr/lib/aarch64-linux-gnu"), "aarch64 sysroot not found: ",
              sysroot, " (prepare it with scripts/arm_sysroot.sh ", sysroot, ", or pass --sysroot DIR)");
  const std::string binary = find_binary(f.str("binary"));
  VEDGE_CHECK(fs::is_regular_file(binary), "aarch64 vedge binary not found: ", binary);
  const ElfInfo bin = read_elf(binary);
  VEDGE_CHECK(bin.machine == kElfMachineAarch64, binary, ": not an aarch64 executable (ELF machine ",
              bin.machine, "); pass the cross-built one with --binary");

  const std::string name = fs::path(out).filename().string().substr(0, fs::path(out).filename().string().size() - 7);
  VEDGE_CHECK(!name.empty(), "--out needs a file name before .tar.gz");
  const std::string install_dir = f.str("install-dir").empty() ? "/opt/" + name : f.str("install-dir");

  TempDir stage{fs::path(out).parent_path() / (".vedge-package-" + std::to_string(getpid()))};
  if (stage.path.is_relative()) stage.path = fs::absolute(stage.path);
  const fs::path root = stage.path / name;
  fs::create_directories(root / "bin");
  fs::create_directories(root / "lib");
  fs::create_directories(root / "models");

  std::vector<PackagedModel> models;
  for (const std::string& m : f.positional()) models.push_back(add_model(m, root / "models"));

  fs::copy_file(binary, root / "bin/vedge");
  const std::string strip = strip_program();
  VEDGE_CHECK(run({strip, "--strip-unneeded", (root / "bin/vedge").string()}) == 0, strip, " failed on ", binary);
  std::vector<std::string> libs;
  for (const Library& lib : bundled_libraries(binary, sysroot)) {
    fs::copy_file(lib.file, root / "lib" / lib.soname);
    VEDGE_CHECK(run({strip, "--strip-unneeded", (root / "lib" / lib.soname).string()}) == 0, strip,
                " failed on ", lib.file.string());
    libs.push_back(lib.soname);
  }
  write_file(root / "vedge", kWrapper, true);

  const std::string first = fs::path(models[0].file).filename().string();
  nlohmann::ordered_json cfg;
  cfg["bundle"] = name;
  cfg["target"] = "aarch64";
  cfg["vedge_version"] = VEDGE_VERSION;
  cfg["install_dir"] = install_dir;
  cfg["models"] = nlohmann::ordered_json::array();
  for (const PackagedModel& pm : models)
    cfg["models"].push_back({{"file", pm.file}, {"labels", pm.labels}, {"spec", pm.spec.empty() ? nullptr : nlohmann::ordered_json(pm.spec)}});
  cfg["serve"] = {{"model", models[0].file}, {"host", "0.0.0.0"}, {"port", port}, {"threads", threads}};
  cfg["libraries"] = libs;
  write_file(root / "config.json", cfg.dump(2) + "\n");

  std::vector<std::string> model_names;
  for (const PackagedModel& pm : models) model_names.push_back(fs::path(pm.file).filename().string());
  auto fill = [&](std::string t) {
    t = replace_all(t, "{{BUNDLE}}", name);
    t = replace_all(t, "{{TARGET}}", "aarch64");
    t = replace_all(t, "{{VERSION}}", VEDGE_VERSION);
    t = replace_all(t, "{{INSTALL_DIR}}", install_dir);
    t = replace_all(t, "{{MODEL}}", first);
    t = replace_all(t, "{{MODELS}}", join(model_names, ", "));
    t = replace_all(t, "{{LIBS}}", libs.empty() ? "none" : join(libs, ", "));
    t = replace_all(t, "{{PORT}}", std::to_string(port));
    return replace_all(t, "{{THREADS}}", std::to_string(threads));
  };
  write_file(root / "README.md", fill(kBundleReadmeTemplate));
  write_file(root / "vedge-serve.service", fill(kServiceUnitTemplate));

  const std::string tmp = out + ".tmp";
  if (run({"tar", "-C", stage.path.string(), "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-czf",
           tmp, name}) != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    fail("tar failed writing ", out);
  }
  fs::rename(tmp, out);
  std::uintmax_t bytes = fs::file_size(out);
  std::printf("wrote %s (%.1f MB): bin/vedge, %zu libraries (%s), %zu model(s)\n", out.c_str(), bytes / 1e6,
              libs.size(), join(libs, " ").c_str(), models.size());
  return 0;
}

}  // namespace vedge::cli

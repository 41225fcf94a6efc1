// machine.cpp: machine description, peak RSS and file sizes (see machine.h).
// runtime/cpu_features.h, procfs, getrusage, uname and zlib only.
#include "tools/bench/machine.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <iterator>

#include "runtime/cpu_features.h"
#include "runtime/error.h"

namespace vedge {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "key : value" lines of a procfs file; the first value of `key`.
std::string proc_field(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    size_t c = line.find(':');
    if (c != std::string::npos && trim(line.substr(0, c)) == key) return trim(line.substr(c + 1));
  }
  return "";
}

}  // namespace

MachineInfo describe_machine() {
  MachineInfo m;
  // The ISA features the kernels can use, as `vedge --version` shows them.
  const CpuFeatures& cpu = cpu_features();
  m.isa = cpu.isa;
  m.cpu_model = cpu.cpu;
  if (m.cpu_model.empty()) m.cpu_model = proc_field("/proc/cpuinfo", "model name");
  if (m.cpu_model.empty()) m.cpu_model = proc_field("/proc/cpuinfo", "Model");  // some ARM boards
  if (m.cpu_model.empty()) m.cpu_model = "unknown";
  m.logical_cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  utsname u{};
  if (uname(&u) == 0) m.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::string mem = proc_field("/proc/meminfo", "MemTotal");  // "24576000 kB"
  if (!mem.empty()) m.memory_bytes = std::stoull(mem) * 1024;
  return m;
}

std::string debian_package_version(const std::string& package) {
  std::ifstream f("/var/lib/dpkg/status");
  std::string line;
  bool in_package = false;
  while (std::getline(f, line)) {
    if (line.rfind("Package: ", 0) == 0) in_package = line.substr(9) == package;
    else if (in_package && line.rfind("Version: ", 0) == 0) return line.substr(9);
  }
  return "";
}

size_t peak_rss_bytes() {
  std::string hwm = proc_field("/proc/self/status", "VmHWM");  // "123456 kB"
  if (!hwm.empty()) return static_cast<size_t>(std::stoull(hwm)) * 1024;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

FileSizes file_sizes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) fail(path, ": read error");
  FileSizes s;
  s.bytes = bytes.size();
  uLongf bound = compressBound(static_cast<uLong>(bytes.size()));
  std::string out(bound, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &bound,
                     reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uLong>(bytes.size()), 9);
  VEDGE_CHECK(rc == Z_OK, path, ": zlib compression failed (code ", rc, ")");
  s.deflate_bytes = bound;
  return s;
}

}  // namespace vedge

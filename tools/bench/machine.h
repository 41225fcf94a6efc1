// machine.h: facts a benchmark report states next to its numbers: the CPU
// (model name, logical cores, the SIMD extensions that matter to the kernels,
// from runtime/cpu_features.h), the kernel, the memory, a Debian package's
// version, the process's peak resident memory, and a file's size raw and
// compressed. Linux only (procfs); depends on runtime/cpu_features.h,
// runtime/error.h and zlib.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vedge {

struct MachineInfo {
  std::string cpu_model;             // "Intel(R) Xeon(R) Processor"; "unknown" if not listed
  int logical_cores = 0;             // processors online
  std::vector<std::string> isa;      // cpu_features().isa (avx2, fma, avx512vnni, neon, dotprod, ...)
  std::string os;                    // "Linux 6.1.0-13-amd64 x86_64"
  uint64_t memory_bytes = 0;         // MemTotal
};

MachineInfo describe_machine();

// "Version:" of an installed Debian package from /var/lib/dpkg/status;
// empty when the package (or dpkg) is absent.
std::string debian_package_version(const std::string& package);

// Peak resident set size of this process (VmHWM in /proc/self/status, else
// getrusage), and a reset of that peak (writes 5 to /proc/self/clear_refs;
// returns false where the kernel does not allow it).
size_t peak_rss_bytes();
bool reset_peak_rss();

struct FileSizes {
  uint64_t bytes = 0;
  // zlib deflate at level 9 of the whole file (zlib framing included): how
  // much a generic compressor (an OTA update, a zip) would still save.
  uint64_t deflate_bytes = 0;
};
// Throws vedge::Error naming the file when it cannot be read.
FileSizes file_sizes(const std::string& path);

}  // namespace vedge

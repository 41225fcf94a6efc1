// cpu_features.cpp: run-time ISA detection with cpuinfo. The feature names
// follow the Linux/compiler spellings (avx512vnni, dotprod, i8mm) so they can
// be matched against `-march=` flags and /proc/cpuinfo. Depends on cpuinfo
// (and, for the features this cpuinfo predates, CPUID on x86-64 and
// getauxval on aarch64 Linux).
#include "runtime/cpu_features.h"

#include <cpuinfo.h>

#if defined(__x86_64__)
#include <cpuid.h>

#include <cstdint>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace vedge {

namespace {

#if defined(__x86_64__)
// CPUID leaf 7 features cpuinfo predates, each only when the OS saves the
// registers it needs (XCR0).
struct X86Extra {
  bool avxvnni = false, avx512fp16 = false, amx_tile = false, amx_int8 = false;
};

X86Extra x86_extra() {
  X86Extra e;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return e;  // OSXSAVE
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const uint64_t xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6, tiles = (xcr0 & 0x60000) == 0x60000;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return e;
  const unsigned max_subleaf = a;
  e.avx512fp16 = zmm && (d & (1u << 23));
  e.amx_tile = tiles && (d & (1u << 24));
  e.amx_int8 = tiles && (d & (1u << 25));
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) e.avxvnni = ymm && (a & (1u << 4));
  return e;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  f.arch = "x86_64";
#elif defined(__aarch64__)
  f.arch = "aarch64";
#elif defined(__arm__)
  f.arch = "arm";
#else
  f.arch = "unknown";
#endif
  if (!cpuinfo_initialize()) return f;
  f.detected = true;
  f.logical_cpus = static_cast<int>(cpuinfo_get_processors_count());
  if (cpuinfo_get_packages_count() > 0) f.cpu = cpuinfo_get_package(0)->name;
  auto add = [&](bool has, const char* name) {
    if (has) f.isa.emplace_back(name);
  };
#if defined(__x86_64__)
  const X86Extra extra = x86_extra();
  add(cpuinfo_has_x86_sse4_1(), "sse4.1");
  add(cpuinfo_has_x86_sse4_2(), "sse4.2");
  add(cpuinfo_has_x86_avx(), "avx");
  add(cpuinfo_has_x86_fma3(), "fma");
  add(cpuinfo_has_x86_f16c(), "f16c");
  add(cpuinfo_has_x86_avx2(), "avx2");
  add(cpuinfo_has_x86_avx512f(), "avx512f");
  add(cpuinfo_has_x86_avx512bw(), "avx512bw");
  add(cpuinfo_has_x86_avx512vl(), "avx512vl");
  add(cpuinfo_has_x86_avx512vnni(), "avx512vnni");
  add(cpuinfo_has_x86_avx512bf16(), "avx512bf16");
  add(extra.avx512fp16, "avx512fp16");
  add(extra.avxvnni, "avxvnni");
  add(extra.amx_tile, "amx-tile");
  add(extra.amx_int8, "amx-int8");
#elif defined(__aarch64__) || defined(__arm__)
  add(cpuinfo_has_arm_neon(), "neon");
  add(cpuinfo_has_arm_neon_fma(), "fma");
  add(cpuinfo_has_arm_neon_fp16_arith(), "fp16-arith");
  add(cpuinfo_has_arm_neon_dot(), "dotprod");
#if defined(__aarch64__) && defined(__linux__)
  // HWCAP2_I8MM (bit 13 of AT_HWCAP2 on arm64 Linux).
  add((getauxval(AT_HWCAP2) & (1ul << 13)) != 0, "i8mm");
#endif
  add(cpuinfo_has_arm_bf16(), "bf16");
  add(cpuinfo_has_arm_sve(), "sve");
  add(cpuinfo_has_arm_sve2(), "sve2");
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

std::string cpu_features_line(const CpuFeatures& f) {
  if (!f.detected) return f.arch + ": ISA features unknown (cpuinfo could not read this system)";
  std::string s = f.arch + " (" + std::to_string(f.logical_cpus) + " CPUs";
  if (!f.cpu.empty()) s += ", " + f.cpu;
  s += "):";
  if (f.isa.empty()) s += " baseline only";
  for (const std::string& x : f.isa) s += " " + x;
  return s;
}

}  // namespace vedge

// cpu_features.cpp: run-time ISA detection with cpuinfo. The feature names
// follow the Linux/compiler spellings (avx512vnni, dotprod, i8mm) so they can
// be matched against `-march=` flags and /proc/cpuinfo. Depends on cpuinfo
// (and, on aarch64 Linux, getauxval for i8mm, which this cpuinfo predates).
#include "runtime/cpu_features.h"

#include <cpuinfo.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace vedge {

namespace {

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

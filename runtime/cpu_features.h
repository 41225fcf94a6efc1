// cpu_features.h: the instruction-set features of the CPU this process runs
// on, detected at run time through cpuinfo (x86: AVX2, AVX-512, VNNI, AMX...;
// aarch64: NEON, dot product, FP16 arithmetic, i8mm, BF16, SVE). Reported by
// `vedge --version` and `vedge info` so a user sees what the kernels can use
// on a board, and by benchmark reports (tools/bench/machine.h). Depends on
// cpuinfo only (no graph, no kernels).
#pragma once

#include <string>
#include <vector>

namespace vedge {

struct CpuFeatures {
  std::string arch;               // "x86_64", "aarch64", or the compiler's name for others
  std::string cpu;                // processor name from cpuinfo; empty when it has none
  int logical_cpus = 0;           // 0 when cpuinfo could not initialize
  std::vector<std::string> isa;   // detected features, lower case, in a fixed order
  bool detected = false;          // false: cpuinfo failed, isa is empty
};

// Detected once (thread-safe), then cached.
const CpuFeatures& cpu_features();

// One line: "aarch64 (4 CPUs): neon fma fp16-arith dotprod", or the reason
// detection failed.
std::string cpu_features_line(const CpuFeatures& f);

}  // namespace vedge

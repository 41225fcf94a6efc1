// cpu_features(): the ISA features cpuinfo reports agree with an independent
// source: the kernel's "flags" line in /proc/cpuinfo on x86-64, the
// AT_HWCAP/AT_HWCAP2 bits on aarch64 Linux (what qemu-user emulates too).
// Depends on runtime/cpu_features.h and GoogleTest.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "runtime/cpu_features.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace {

bool has(const vedge::CpuFeatures& f, const std::string& x) {
  return std::find(f.isa.begin(), f.isa.end(), x) != f.isa.end();
}

}  // namespace

TEST(CpuFeatures, LineNamesArchAndFeatures) {
  const vedge::CpuFeatures& f = vedge::cpu_features();
  EXPECT_EQ(&f, &vedge::cpu_features());  // detected once
  const std::string line = vedge::cpu_features_line(f);
  EXPECT_EQ(line.rfind(f.arch, 0), 0u) << line;
  for (const std::string& x : f.isa) EXPECT_NE(line.find(" " + x), std::string::npos) << line;
  vedge::CpuFeatures unknown;
  unknown.arch = "aarch64";
  EXPECT_EQ(vedge::cpu_features_line(unknown), "aarch64: ISA features unknown (cpuinfo could not read this system)");
}

#if defined(__x86_64__)
TEST(CpuFeatures, X86MatchesProcCpuinfoFlags) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      std::istringstream s(line.substr(line.find(':') + 1));
      for (std::string w; s >> w;) flags.insert(w);
      break;
    }
  if (flags.empty()) GTEST_SKIP() << "/proc/cpuinfo has no flags line";
  const vedge::CpuFeatures& f = vedge::cpu_features();
  ASSERT_TRUE(f.detected);
  EXPECT_EQ(f.arch, "x86_64");
  EXPECT_GT(f.logical_cpus, 0);
  for (const char* x : {"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl"})
    EXPECT_EQ(has(f, x), flags.count(x) == 1) << x;
  EXPECT_EQ(has(f, "sse4.2"), flags.count("sse4_2") == 1);
  for (auto [ours, kernel] : {std::pair{"sse4.1", "sse4_1"}, {"avx512vnni", "avx512_vnni"},
                              {"avx512bf16", "avx512_bf16"}, {"avx512fp16", "avx512_fp16"},
                              {"avxvnni", "avx_vnni"}, {"amx-tile", "amx_tile"}, {"amx-int8", "amx_int8"}})
    EXPECT_EQ(has(f, ours), flags.count(kernel) == 1) << ours;
}
#endif

#if defined(__aarch64__) && defined(__linux__)
TEST(CpuFeatures, Aarch64MatchesHwcaps) {
  const vedge::CpuFeatures& f = vedge::cpu_features();
  if (!f.detected) GTEST_SKIP() << "cpuinfo could not initialize here";
  EXPECT_EQ(f.arch, "aarch64");
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  EXPECT_EQ(has(f, "neon"), (hw & (1ul << 1)) != 0);         // HWCAP_ASIMD
  EXPECT_EQ(has(f, "fp16-arith"), (hw & (1ul << 10)) != 0);  // HWCAP_ASIMDHP
  EXPECT_EQ(has(f, "dotprod"), (hw & (1ul << 20)) != 0);     // HWCAP_ASIMDDP
  EXPECT_EQ(has(f, "sve"), (hw & (1ul << 22)) != 0);         // HWCAP_SVE
  EXPECT_EQ(has(f, "i8mm"), (hw2 & (1ul << 13)) != 0);       // HWCAP2_I8MM
}
#endif

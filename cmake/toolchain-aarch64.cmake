# toolchain-aarch64.cmake: cross-compiles Vision-Edge's device side for
# aarch64-linux-gnu (Raspberry Pi OS 64-bit / Debian 12 arm64) from an x86
# host. libc and libstdc++ come from Debian's g++-aarch64-linux-gnu
# (/usr/aarch64-linux-gnu); every other library and header from the arm64
# sysroot that scripts/arm_sysroot.sh prepares. Host programs (protoc, python)
# stay the host's. Tests run through qemu-aarch64-static. Depends on nothing
# in the project; pass the sysroot as -DVEDGE_ARM_SYSROOT=DIR (or the
# environment variable of the same name).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT VEDGE_ARM_SYSROOT)
  set(VEDGE_ARM_SYSROOT "$ENV{VEDGE_ARM_SYSROOT}")
endif()
if(NOT VEDGE_ARM_SYSROOT OR NOT EXISTS "${VEDGE_ARM_SYSROOT}/usr/lib/aarch64-linux-gnu/libXNNPACK.so")
  message(FATAL_ERROR "aarch64 sysroot missing: '${VEDGE_ARM_SYSROOT}' has no usr/lib/aarch64-linux-gnu/libXNNPACK.so; "
                      "prepare it with scripts/arm_sysroot.sh DIR and pass -DVEDGE_ARM_SYSROOT=DIR")
endif()
get_filename_component(VEDGE_ARM_SYSROOT "${VEDGE_ARM_SYSROOT}" ABSOLUTE)
# try_compile projects re-read this file: hand them the sysroot too.
set(ENV{VEDGE_ARM_SYSROOT} "${VEDGE_ARM_SYSROOT}")
set(VEDGE_ARM_LIBDIR "${VEDGE_ARM_SYSROOT}/usr/lib/aarch64-linux-gnu")

# Libraries, headers and CMake/pkg-config packages: only from the sysroot and
# the cross toolchain's folder; programs: only from the host.
set(CMAKE_FIND_ROOT_PATH "${VEDGE_ARM_SYSROOT}" /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# GCC fuses a*b+c into FMA on aarch64 unless told not to; x86-64's baseline
# has no FMA. Without fusion the portable kernels round exactly as on x86.
set(CMAKE_C_FLAGS_INIT "-ffp-contract=off")
set(CMAKE_CXX_FLAGS_INIT "-ffp-contract=off")
# Debian puts some arch-specific headers (openssl/opensslconf.h) under
# include/aarch64-linux-gnu, which the cross compiler does not search.
set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES "${VEDGE_ARM_SYSROOT}/usr/include/aarch64-linux-gnu")
set(CMAKE_CXX_STANDARD_INCLUDE_DIRECTORIES "${VEDGE_ARM_SYSROOT}/usr/include/aarch64-linux-gnu")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${VEDGE_ARM_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${VEDGE_ARM_LIBDIR}/pkgconfig:${VEDGE_ARM_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# The sysroot's shared libraries name their own dependencies (XNNPACK ->
# pthreadpool, cpuinfo; libssl -> libcrypto): let the linker find those.
# zlib and brotli install into /lib, the rest into /usr/lib.
set(VEDGE_ARM_LIBPATH "${VEDGE_ARM_LIBDIR}:${VEDGE_ARM_SYSROOT}/lib/aarch64-linux-gnu")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${VEDGE_ARM_LIBPATH}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${VEDGE_ARM_LIBPATH}")

# ctest and gtest_discover_tests run the test executables through qemu, with
# the sysroot's libraries on the guest's library path.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /usr/aarch64-linux-gnu
    -E "LD_LIBRARY_PATH=${VEDGE_ARM_LIBPATH}")

// dispatch.cpp: see dispatch.h.
#include "cli/dispatch.h"

#include <cstdio>
#include <new>

#include "runtime/error.h"

namespace vedge::cli {
namespace {

void usage(const Tool& t, FILE* f) {
  std::fprintf(f, "usage: %s <command> [options]   (%s <command> --help for details)\n\n", t.name,
               t.name);
  for (size_t i = 0; i < t.num_commands; ++i)
    std::fprintf(f, "  %-8s %s\n", t.commands[i].name, t.commands[i].summary);
  std::fprintf(f, "\n  --version  %s\n", t.version_help);
}

}  // namespace

int dispatch(const Tool& t, int argc, char** argv) {
  if (argc < 2) {
    usage(t, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(t, stdout);
    return 0;
  }
  if (cmd == "--version") {
    t.print_version();
    return 0;
  }
  for (size_t i = 0; i < t.num_commands; ++i) {
    const Command& c = t.commands[i];
    if (cmd != c.name) continue;
    try {
      return c.fn(argc - 2, argv + 2);
    } catch (const vedge::Error& e) {
      std::fprintf(stderr, "%s %s: error: %s\n", t.name, c.name, e.what());
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "%s %s: error: out of memory\n", t.name, c.name);
    } catch (const std::exception& e) {
      const std::string msg = t.describe ? t.describe(e) : std::string(e.what());
      std::fprintf(stderr, "%s %s: error: %s\n", t.name, c.name, msg.c_str());
    }
    return 1;
  }
  std::fprintf(stderr, "%s: error: unknown command '%s'\n", t.name, cmd.c_str());
  usage(t, stderr);
  return 2;
}

}  // namespace vedge::cli

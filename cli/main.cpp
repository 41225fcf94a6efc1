// vedge: the device-side command-line tool (no LibTorch). A thin main: it
// picks the sub-command and turns a vedge::Error into one line on stderr and
// exit code 1.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "cli/commands.h"
#include "runtime/error.h"

namespace {

struct Command {
  const char* name;
  int (*fn)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"info", vedge::cli::cmd_info, "describe a model: inputs, outputs, ops, params, MACs, metadata"},
    {"detect", vedge::cli::cmd_detect, "detect objects in images, print or draw the boxes"},
    {"bench", vedge::cli::cmd_bench, "measure latency per stage (preprocess, inference, decode, NMS)"},
    {"run", vedge::cli::cmd_run, "run the network alone on .npy inputs, write every output as .npy"},
    {"eval", vedge::cli::cmd_eval, "score detections (COCO results JSON) against ground truth: COCO mAP, VOC AP"},
};

void usage(FILE* f) {
  std::fprintf(f, "usage: vedge <command> [options]   (vedge <command> --help for details)\n\n");
  for (const Command& c : kCommands) std::fprintf(f, "  %-8s %s\n", c.name, c.summary);
  std::fprintf(f, "\n  --version  print the version\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("vedge %s\n", VEDGE_VERSION);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (cmd != c.name) continue;
    try {
      return c.fn(argc - 2, argv + 2);
    } catch (const vedge::Error& e) {
      std::fprintf(stderr, "vedge %s: error: %s\n", c.name, e.what());
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "vedge %s: error: out of memory\n", c.name);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "vedge %s: error: %s\n", c.name, e.what());
    }
    return 1;
  }
  std::fprintf(stderr, "vedge: error: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}

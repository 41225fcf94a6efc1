// commands.h: one function per `vedge` sub-command, each in cmd_<name>.cpp.
// Each takes the arguments after the sub-command name, returns the process
// exit code and throws vedge::Error for bad input (main prints it).
#pragma once

namespace vedge::cli {

int cmd_info(int argc, char** argv);
int cmd_detect(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_data(int argc, char** argv);
#ifdef VEDGE_WITH_SERVE
int cmd_serve(int argc, char** argv);
#endif
int cmd_package(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_export(int argc, char** argv);

}  // namespace vedge::cli

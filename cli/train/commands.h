// commands.h: one function per `vedge-train` sub-command, each in
// cli/train/cmd_<name>.cpp. Each takes the arguments after the sub-command
// name, returns the exit code and throws vedge::Error for bad input.
#pragma once

namespace vedge::cli {

int cmd_train(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_evaluate(int argc, char** argv);
int cmd_train_bench(int argc, char** argv);
int cmd_pipeline(int argc, char** argv);

}  // namespace vedge::cli

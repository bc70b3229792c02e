// The `plumbline` command line: dispatches a subcommand (run, version, ...) and returns the
// process exit code. Output goes to the given streams so tests can capture it.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace plumbline::cli {

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Subcommands, each given the arguments after its name.
int RunCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int VersionCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int GetCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int SyncCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// suspend (true) or resume (false).
int SuspendCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   bool suspend);
// Exit 0: no changes, 1: changes, 2: an error.
int DiffCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// Exit 0: rendered, 2: an error.
int RenderCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RevertCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int HistoryCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace plumbline::cli

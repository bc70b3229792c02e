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

}  // namespace plumbline::cli

#include "cli/cli.h"

namespace plumbline::cli {
namespace {

constexpr char kUsage[] = R"(plumbline: keeps Kubernetes clusters equal to what a git repository says.

Usage: plumbline COMMAND [flags]

Commands:
  run        run the controller
  version    print the client version (and the API server's, with --server)

Run "plumbline COMMAND --help" for a command's flags.
)";

}  // namespace

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& command = args[0];
  if (command == "run") return RunCommand(rest, out, err);
  if (command == "version") return VersionCommand(rest, out, err);
  err << "plumbline: unknown command \"" << command << "\"\n\n" << kUsage;
  return 2;
}

}  // namespace plumbline::cli

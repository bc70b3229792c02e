#include "cli/cli.h"

namespace plumbline::cli {
namespace {

constexpr char kUsage[] =
    R"(plumbline: keeps Kubernetes clusters equal to what a git repository says.

Usage: plumbline COMMAND [flags]

Commands:
  run        run the controller
  get        show Applications: revision, Ready, drift
  sync       reconcile an Application now (--wait for the result)
  suspend    stop reconciling an Application
  resume     reconcile a suspended Application again
  history    the revisions an Application applied
  revert     commit and push the revert of a commit (default: the last applied), then sync
  diff       what applying git (or a local checkout) would change; exit 1 when something would
  render     print the objects an Application's path renders to (manifests, kustomize, helm)
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
  if (command == "get") return GetCommand(rest, out, err);
  if (command == "sync") return SyncCommand(rest, out, err);
  if (command == "suspend") return SuspendCommand(rest, out, err, true);
  if (command == "resume") return SuspendCommand(rest, out, err, false);
  if (command == "history") return HistoryCommand(rest, out, err);
  if (command == "diff") return DiffCommand(rest, out, err);
  if (command == "revert") return RevertCommand(rest, out, err);
  if (command == "render") return RenderCommand(rest, out, err);
  err << "plumbline: unknown command \"" << command << "\"\n\n" << kUsage;
  return 2;
}

}  // namespace plumbline::cli

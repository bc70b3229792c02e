#include "cli/cli.h"
#include "cli/kube_flags.h"

namespace plumbline::cli {

int VersionCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags("Usage: plumbline version [--server]");
  flags.Add("server", "", "also ask the API server for its version", /*is_bool=*/true);
  AddKubeFlags(flags);
  if (auto s = flags.Parse(args); !s.ok()) {
    err << "plumbline version: " << s.error().message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    out << flags.Help();
    return 0;
  }
  out << "Client Version: v" << PLUMBLINE_VERSION << "\n";
  if (!flags.GetBool("server")) return 0;
  auto client = ClientFromFlags(flags);
  if (!client.ok()) {
    err << "plumbline version: " << client.error().message() << "\n";
    return 1;
  }
  auto version = (*client)->GetPath("/version");
  if (!version.ok()) {
    err << "plumbline version: " << version.error().ToString() << "\n";
    return 1;
  }
  out << "Server Version: " << version->value("gitVersion", "unknown") << "\n";
  return 0;
}

}  // namespace plumbline::cli

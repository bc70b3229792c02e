#include "render/program.h"

namespace plumbline::render {

Result<std::string> OutputOf(Result<SubprocessResult> run, const std::string& where,
                             const std::string& program, const std::string& flag,
                             const Workspace& workspace) {
  if (!run.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 where + ": cannot run " + program + " (" + flag +
                     "): " + workspace.Relative(run.error().message()));
  }
  if (run->exit_code != 0) {
    std::string why = workspace.Relative(run->err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    // Enough to say what failed; a message is not a place for megabytes of output.
    if (why.size() > 4096) why = why.substr(0, 4096) + "...";
    return Error(ErrorCode::kInvalidArgument, where + " failed: " + why);
  }
  return std::move(run->out);
}

}  // namespace plumbline::render

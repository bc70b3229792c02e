// What a run of kustomize or helm means for a render: its output, or an error that says what
// failed, in the program's own words (at most 4 KiB) and with repository paths.
#pragma once

#include <string>

#include "common/error.h"
#include "common/subprocess.h"
#include "render/workspace.h"

namespace plumbline::render {

// `where` names the step ("overlays/prod: kustomize build"), `program` and `flag` the program
// run and the flag that chooses it.
Result<std::string> OutputOf(Result<SubprocessResult> run, const std::string& where,
                             const std::string& program, const std::string& flag,
                             const Workspace& workspace);

}  // namespace plumbline::render

// Fuzz target: push payloads (webhook/push.h) as GitHub, GitLab and generic senders post them,
// and whether a parsed push concerns an Application. The first byte picks the parser, a line
// of the input gives the Application's repository URL and revision.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "webhook/push.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int kind = in.ConsumeIntegralInRange<int>(0, 2);
  const std::string repo_url = in.ConsumeRandomLengthString(256);
  const std::string revision = in.ConsumeRandomLengthString(64);
  const std::string body = in.ConsumeRemainingBytesAsString();
  auto push = kind == 0   ? plumbline::webhook::ParseGitHub(body)
              : kind == 1 ? plumbline::webhook::ParseGitLab(body)
                          : plumbline::webhook::ParseGeneric(body);
  plumbline::webhook::NormalizeRepoUrl(repo_url);
  if (!push.ok()) return 0;
  for (const auto& url : push->repo_urls) plumbline::webhook::NormalizeRepoUrl(url);
  plumbline::webhook::Concerns(*push, repo_url, revision);
  // A push always concerns an Application that names the pushed URL itself at the pushed ref.
  if (!push->repo_urls.empty()) {
    const std::string ref = !push->tag.empty() ? push->tag : push->branch;
    if (!plumbline::webhook::Concerns(*push, push->repo_urls.front(), ref)) __builtin_trap();
  }
  return 0;
}

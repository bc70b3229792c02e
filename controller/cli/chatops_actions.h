// What the Slack commands do (chatops::Actions), the same as the CLI verbs: status and history
// read the controller's cache, sync/suspend/resume patch the Application as `plumbline sync`,
// `suspend` and `resume` do, rollback commits and pushes the same git revert as
// `plumbline revert`, authored as the Slack user. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chatops/handler.h"
#include "common/json.h"
#include "kube/client.h"
#include "source/git_source.h"

namespace plumbline::cli {

struct ChatOpsActionsOptions {
  std::string git_cache_dir;  // where the rollback's clones are kept
  std::chrono::milliseconds git_timeout{std::chrono::minutes(2)};
};

class KubeChatOpsActions : public chatops::Actions {
 public:
  // `applications` returns the controller's cached Applications; `client` writes (unfenced:
  // any replica may answer a command, the leader acts on what it wrote).
  KubeChatOpsActions(kube::Client& client, std::function<std::vector<Json>()> applications,
                     ChatOpsActionsOptions options);

  Result<std::string> Status(const std::string& ns, const std::string& name) override;
  Result<std::string> History(const std::string& ns, const std::string& name) override;
  Result<std::string> Sync(const std::string& ns, const std::string& name) override;
  Result<std::string> Rollback(const std::string& ns, const std::string& name,
                               const std::string& sha, const std::string& user_name,
                               const std::string& user_id) override;
  Result<std::string> Suspend(const std::string& ns, const std::string& name) override;
  Result<std::string> Resume(const std::string& ns, const std::string& name) override;

 private:
  Result<Json> Find(const std::string& ns, const std::string& name);
  // Server-side apply of `fields` as `field_manager`: one manager per field it sets, since an
  // apply drops what the same manager set before and leaves out now.
  Result<std::string> Patch(const std::string& ns, const std::string& name, const Json& fields,
                            const std::string& field_manager);

  kube::Client& client_;
  std::function<std::vector<Json>()> applications_;
  const ChatOpsActionsOptions options_;
  std::unique_ptr<source::GitSource> git_;
};

// The chatops rules: key `rules.yaml` of ConfigMap `ns`/`name`, read for each command (commands
// are rare; an edit applies at once). A missing ConfigMap or key is no rules: only help.
chatops::Handler::AuthorizerFn ChatOpsRules(kube::Client& client, std::string ns, std::string name);

// POSTs a message to a command's response_url, which must start with `allowed_prefix`
// (--slack-response-url-prefix, Slack's own https://hooks.slack.com/): a leaked signing secret
// must not also let its holder make the controller post to any address.
chatops::Handler::RespondFn SlackResponder(std::string allowed_prefix);

}  // namespace plumbline::cli

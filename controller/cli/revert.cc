// `plumbline revert APP [SHA]`: a rollback that lives in git (PRODUCT §4). Commits the revert of
// SHA (default: the last applied commit) on the tracked branch, pushes it with the Application's
// credentials, then syncs and waits, so automation never fights the rollback.
#include <cstdlib>

#include "app/application.h"
#include "app/reach.h"
#include "cli/app_client.h"
#include "cli/cli.h"
#include "common/duration.h"
#include "source/git_source.h"
#include "verify/sign.h"

namespace plumbline::cli {
namespace {

bool IsFullSha(const std::string& s) {
  return s.size() == 40 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// "Name <email>" from --author, else git's environment, else plumbline's.
void Author(const std::string& flag, std::string* name, std::string* email) {
  const char* env_name = std::getenv("GIT_AUTHOR_NAME");
  const char* env_email = std::getenv("GIT_AUTHOR_EMAIL");
  *name = env_name && *env_name ? env_name : "plumbline";
  *email = env_email && *env_email ? env_email : "plumbline@localhost";
  auto lt = flag.find('<');
  auto gt = flag.find('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
    *name = flag.substr(0, lt);
    while (!name->empty() && name->back() == ' ') name->pop_back();
    *email = flag.substr(lt + 1, gt - lt - 1);
  }
}

}  // namespace

int RevertCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "Usage: plumbline revert APP [SHA] [--force]\n\nCommits the revert of SHA (default: the "
      "last applied commit) on the branch the Application tracks, pushes it with the "
      "Application's credentials, then syncs and waits for the result. Refuses when the branch "
      "has moved past what the Application applied, unless --force.");
  AddAppFlags(flags);
  flags.Add("force", "false", "revert even though the branch moved past the applied commit", true)
      .Add("author", "", "\"Name <email>\" of the revert commit (default: $GIT_AUTHOR_NAME)")
      .Add("timeout", "5m", "how long the push and the sync may take")
      .Add("cache-dir", UserCacheDir("cli-git"), "where fetched repositories are cached")
      .Add("signing-key", "",
           "sign the revert commit, as `git commit -S` does, so that it verifies under "
           "spec.verify: an SSH private key file (or its .pub with the key in ssh-agent), or with "
           "--signing-format openpgp a key id, fingerprint or email that gpg knows")
      .Add("signing-format", "ssh", "ssh (ssh-keygen signs) or openpgp (gpg signs)")
      .Add("signing-program", "",
           "the program that signs, as git's gpg.ssh.program or gpg.program (default: ssh-keygen "
           "or gpg on PATH)");
  if (auto s = flags.Parse(args); !s.ok()) {
    err << "plumbline revert: " << s.error().message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    out << flags.Help();
    return 0;
  }
  if (flags.positional().empty() || flags.positional().size() > 2) {
    err << "plumbline revert: wrong arguments\n\n" << flags.Help();
    return 2;
  }
  auto timeout = ParseDuration(flags.Get("timeout"));
  if (!timeout.ok() || timeout->count() <= 0) {
    err << "plumbline revert: --timeout must be a positive duration\n";
    return 2;
  }
  auto signing_format = verify::ParseSigningFormat(flags.Get("signing-format"));
  if (!signing_format.ok())
    return Fail(err, "revert", signing_format.error().Wrap("--signing-format"));
  const std::string name = flags.positional()[0];
  auto apps = NewAppClient(flags);
  if (!apps.ok()) return Fail(err, "revert", apps.error());
  auto application = apps->Get(name);
  if (!application.ok()) return Fail(err, "revert", application.error());
  auto spec = app::ParseSpec(*application);
  if (!spec.ok()) return Fail(err, "revert", spec.error().Wrap("the Application's spec"));
  const std::string applied =
      application->value("status", Json::object()).value("lastAppliedRevision", "");
  if (applied.empty()) {
    err << "plumbline revert: Application " << apps->ns << "/" << name
        << " has applied nothing yet\n";
    return 1;
  }
  if (IsFullSha(spec->revision)) {
    err << "plumbline revert: Application " << apps->ns << "/" << name
        << " tracks a commit, not a branch: change spec.source.revision instead\n";
    return 1;
  }
  std::string sha = flags.positional().size() == 2 ? flags.positional()[1] : applied;
  if (!IsFullSha(sha)) {
    err << "plumbline revert: give the full 40-character SHA to revert\n";
    return 2;
  }

  source::RevertRequest request;
  request.url = spec->repo_url;
  request.branch = spec->revision;
  request.commit = sha;
  request.expected_head = flags.GetBool("force") ? "" : applied;
  request.timeout = *timeout;
  request.trailer = "Reverted with plumbline revert for Application " + apps->ns + "/" + name + ".";
  Author(flags.Get("author"), &request.author_name, &request.author_email);
  if (!flags.Get("signing-key").empty()) {
    verify::SigningKey key;
    key.format = *signing_format;
    key.key = flags.Get("signing-key");
    key.program = flags.Get("signing-program");
    request.sign = [key](const std::string& commit) { return verify::Sign(key, commit); };
  } else if (spec->verify) {
    err << "plumbline revert: warning: Application " << apps->ns << "/" << name
        << " verifies signatures (spec.verify) and the revert is not signed: it will be refused "
           "(give --signing-key)\n";
  }
  if (!spec->secret_name.empty()) {
    auto auth = app::ReadGitAuth(*apps->client, apps->ns, spec->secret_name);
    if (!auth.ok()) return Fail(err, "revert", auth.error());
    request.auth = *auth;
  }
  auto git = source::NewLibgit2Source(flags.Get("cache-dir"));
  auto reverted = git->Revert(request);
  if (!reverted.ok()) return Fail(err, "revert", reverted.error());
  out << "Pushed " << reverted->sha.substr(0, 12) << " to " << reverted->branch << ": "
      << reverted->message.substr(0, reverted->message.find('\n')) << "\n";

  // Then the same as `plumbline sync APP --wait`.
  std::vector<std::string> sync = {name, "--wait", "--timeout", flags.Get("timeout"),
                                   "-n", apps->ns};
  for (const char* f : {"kubeconfig", "context"}) {
    if (!flags.Get(f).empty()) sync.insert(sync.end(), {std::string("--") + f, flags.Get(f)});
  }
  return SyncCommand(sync, out, err);
}

}  // namespace plumbline::cli

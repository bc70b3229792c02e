#include "render/path.h"

#include <cstdio>
#include <deque>
#include <map>
#include <set>

#include "render/build_cache.h"
#include "render/kustomize.h"
#include "render/sops.h"
#include "render/workspace.h"
#include "yaml/yaml_json.h"

namespace plumbline::render {
namespace {

std::string Under(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// What kustomize would fetch from the network instead of reading the repository. A relative path
// ("../x?ref=y") is never one: it is judged as a path.
bool LooksRemote(const std::string& entry) {
  if (StartsWith(entry, ".") || StartsWith(entry, "/")) return false;
  return entry.find("://") != std::string::npos || StartsWith(entry, "git@") ||
         StartsWith(entry, "github.com/") || StartsWith(entry, "gitlab.com/") ||
         StartsWith(entry, "bitbucket.org/") || entry.find("?ref=") != std::string::npos ||
         entry.find("?version=") != std::string::npos;
}

// `entry`, a path relative to `dir`, as a repository path. An absolute entry is an error:
// CleanRepoPath would join it under `dir` and so never see it leave.
Result<std::string> Resolve(const std::string& dir, const std::string& entry) {
  if (!entry.empty() && entry[0] == '/') {
    return Error(ErrorCode::kInvalidArgument, "\"" + entry + "\" is absolute");
  }
  return source::CleanRepoPath(Under(dir, entry));
}

source::ReadOptions AllFiles(const RenderOptions& options) {
  source::ReadOptions read;
  read.max_file_bytes = options.max_file_bytes;
  return read;
}

// Gathers files by path, with the whole tree bounded.
class Tree {
 public:
  explicit Tree(size_t max_bytes) : max_bytes_(max_bytes) {}
  Status Add(std::vector<source::File> files) {
    for (auto& f : files) {
      if (files_.count(f.path)) continue;
      bytes_ += f.content.size();
      if (bytes_ > max_bytes_) {
        return Error(ErrorCode::kInvalidArgument, "the files to render are over " +
                                                      std::to_string(max_bytes_) + " bytes (at " +
                                                      f.path + ")");
      }
      files_.emplace(f.path, std::move(f));
    }
    return Status::Ok();
  }
  bool Has(const std::string& path) const { return files_.count(path) > 0; }
  std::vector<source::File> Files() const {
    std::vector<source::File> out;
    for (const auto& [path, f] : files_) out.push_back(f);
    return out;
  }
  std::map<std::string, source::File>& map() { return files_; }

 private:
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::map<std::string, source::File> files_;
};

// The kustomization at `dir` and every directory of the repository it builds on, each read once.
// A reference that leaves the repository is refused; one that is not in it is a remote base,
// refused unless allowed (then `remote` is set: the build depends on more than these files).
Status ReadKustomizeTree(const TreeReader& read, const std::string& dir,
                         const RenderOptions& options, Tree* tree, bool* remote) {
  auto first = read(dir, AllFiles(options));
  if (!first.ok()) return first.error();
  std::set<std::string> seen = {dir};
  std::deque<std::pair<std::string, std::vector<source::File>>> todo;
  todo.emplace_back(dir, std::move(*first));
  while (!todo.empty()) {
    auto [at, files] = std::move(todo.front());
    todo.pop_front();
    auto kustomization = KustomizationIn(files, at);
    if (auto s = tree->Add(std::move(files)); !s.ok()) return s;
    if (!kustomization) continue;  // kustomize says what a directory without one lacks
    auto docs = yaml::ParseDocumentsWithLines(kustomization->content, kustomization->path);
    if (!docs.ok()) return docs.error();
    if (docs->empty()) continue;
    for (const std::string& entry : KustomizationReferences(docs->front().value)) {
      const std::string where = kustomization->path + ": \"" + entry + "\"";
      if (StartsWith(entry, "file:")) {
        return Error(ErrorCode::kInvalidArgument,
                     where +
                         " reads the controller's disk; kustomize may read only the "
                         "repository");
      }
      const bool url = LooksRemote(entry);
      auto local = Resolve(at, entry);
      if (!local.ok() && !url) {
        return Error(ErrorCode::kInvalidArgument,
                     where + " is outside the repository; kustomize may read only the repository");
      }
      if (local.ok()) {
        if (tree->Has(*local) || seen.count(*local)) continue;  // read already
        auto probe = read(*local, AllFiles(options));
        if (probe.ok()) {
          seen.insert(*local);
          todo.emplace_back(*local, std::move(*probe));
          continue;
        }
        if (probe.error().code() != ErrorCode::kNotFound) return probe.error().Wrap(where);
      }
      if (!url) {
        return Error(ErrorCode::kInvalidArgument, where + " does not exist in the repository");
      }
      if (!options.allow_remote_bases) {
        return Error(ErrorCode::kInvalidArgument,
                     kustomization->path + ": remote base \"" + entry +
                         "\" is refused: everything a kustomization builds on must be in the "
                         "repository (the controller runs with --allow-remote-bases off)");
      }
      *remote = true;
    }
  }
  return Status::Ok();
}

// The Helm chart at `dir` and the values files, which may live elsewhere in the repository.
Status ReadHelmTree(const TreeReader& read, const std::string& dir, HelmRelease* release,
                    const RenderOptions& options, Tree* tree) {
  auto files = read(dir, AllFiles(options));
  if (!files.ok()) return files.error();
  if (auto s = tree->Add(std::move(*files)); !s.ok()) return s;
  std::vector<std::string> resolved;
  for (const auto& f : release->values_files) {
    auto path = Resolve(dir, f);
    if (!path.ok() || path->empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "spec.source.helm.valuesFiles: \"" + f + "\" is outside the repository");
    }
    if (!tree->Has(*path)) {
      const auto slash = path->rfind('/');
      const std::string parent = slash == std::string::npos ? "" : path->substr(0, slash);
      source::ReadOptions one = AllFiles(options);
      const std::string wanted = *path;
      one.wanted = [wanted](const std::string& p) { return p == wanted; };
      auto got = read(parent, one);
      if (got.ok()) {
        if (auto s = tree->Add(std::move(*got)); !s.ok()) return s;
      } else if (got.error().code() != ErrorCode::kNotFound) {
        return got.error().Wrap("spec.source.helm.valuesFiles");
      }
      if (!tree->Has(*path)) {
        return Error(ErrorCode::kInvalidArgument, "spec.source.helm.valuesFiles: \"" + *path +
                                                      "\" does not exist in the repository");
      }
    }
    resolved.push_back(*path);
  }
  release->values_files = std::move(resolved);
  return Status::Ok();
}

bool HasFile(const std::vector<source::File>& files, const std::string& path) {
  for (const auto& f : files) {
    if (f.path == path) return true;
  }
  return false;
}

// `options` with the time left until `deadline` as the bound of the next program run.
Result<RenderOptions> Bounded(const RenderOptions& options,
                              std::chrono::steady_clock::time_point deadline) {
  RenderOptions bounded = options;
  if (deadline != std::chrono::steady_clock::time_point::max()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error(ErrorCode::kTimeout, "rendering ran past the Application's spec.timeout");
    }
    bounded.tool_timeout = std::min(bounded.tool_timeout, left);
  }
  return bounded;
}

Status RefusedEncrypted(const std::string& path) {
  return Error(ErrorCode::kInvalidArgument,
               path +
                   ": encrypted with SOPS, and spec.decryption is not set; refusing to apply it "
                   "encrypted");
}

// Decrypts, in the workspace, every SOPS file among `files`; `in_place` writes the plaintext
// over the file there (for kustomize and helm, which read it), else only `files` gets it.
Status DecryptAll(std::vector<source::File>* files, Workspace* workspace,
                  const std::optional<std::string>& age_keys, bool in_place,
                  const RenderOptions& options, std::chrono::steady_clock::time_point deadline,
                  std::vector<std::string>* secrets, size_t* decrypted) {
  for (auto& f : *files) {
    if (!IsSopsEncrypted(f.path, f.content)) continue;
    if (!age_keys) return RefusedEncrypted(f.path);
    // Plain manifests keep each file's plaintext by its ciphertext and keys; a build (in_place)
    // is kept whole by RenderTool instead.
    std::string key;
    std::optional<CachedBuild> hit;
    if (!in_place && options.cache != nullptr) {
      key = KeyBuilder()
                .Add("sops")
                .Add(options.sops)
                .Add(*age_keys)
                .Add(f.path)
                .Add(f.content)
                .Hex();
      hit = options.cache->Get(key);
    }
    Result<std::string> plain = Error(ErrorCode::kInternal, "not decrypted");
    if (hit) {
      plain = std::move(hit->stream);
    } else {
      auto bounded = Bounded(options, deadline);
      if (!bounded.ok()) return bounded.error();
      plain = SopsDecrypt(f, *workspace, *age_keys, *bounded);
    }
    if (!plain.ok()) return plain.error();
    std::vector<std::string> values;
    if (hit) {
      values = std::move(hit->secrets);
    } else {
      for (const auto& v : SecretValuesOf(f.path, f.content, *plain)) {
        for (auto& form : FormsOf(v)) values.push_back(std::move(form));
      }
    }
    if (!key.empty() && !hit) options.cache->Put(key, {*plain, values, 1});
    secrets->insert(secrets->end(), values.begin(), values.end());
    if (in_place) {
      const std::string at = "repo/" + f.path;
      std::remove((workspace->root() + "/" + at).c_str());
      if (auto s = workspace->WriteAt(at, *plain); !s.ok()) return s;
    }
    f.content = std::move(*plain);
    ++*decrypted;
  }
  return Status::Ok();
}

Result<RenderedPath> Parse(const std::string& label, std::string stream, Renderer renderer,
                           const RenderOptions& options) {
  RenderOptions parse = options;
  parse.max_file_bytes = options.max_tool_output_bytes;
  auto objects = RenderStream({label, std::move(stream)}, parse);
  if (!objects.ok()) return objects.error();
  for (const auto& o : *objects) {
    if (o.object.contains("sops")) {
      return Error(ErrorCode::kInvalidArgument,
                   o.source +
                       ": still encrypted with SOPS after the build (a file sops did not "
                       "decrypt); refusing to apply it");
    }
  }
  return RenderedPath{renderer, std::move(*objects), 0, {}};
}

// Everything a build reads, so that equal keys mean equal output.
std::string BuildKey(Renderer renderer, const PathRequest& request, const HelmRelease& release,
                     const RenderOptions& options, Tree& tree) {
  KeyBuilder key;
  key.Add(ToString(renderer)).Add(request.path);
  key.Add(renderer == Renderer::kHelm ? options.helm : options.kustomize).Add(options.sops);
  key.Add(options.allow_remote_bases ? "remote" : "local");
  if (renderer == Renderer::kHelm) {
    key.Add(release.release_name).Add(release.ns).Add(release.values.dump());
    for (const auto& f : release.values_files) key.Add(f);
  }
  key.Add(request.age_keys ? "keys:" + *request.age_keys : "no keys");
  for (const auto& [path, file] : tree.map()) key.Add(path).Add(file.content);
  return key.Hex();
}

Result<RenderedPath> RenderTool(const TreeReader& read, const PathRequest& request,
                                Renderer renderer, const RenderOptions& options,
                                std::vector<std::string>* secrets) {
  Tree tree(options.max_tree_bytes);
  HelmRelease release = request.helm;
  bool remote = false;
  Status s = renderer == Renderer::kHelm
                 ? ReadHelmTree(read, request.path, &release, options, &tree)
                 : ReadKustomizeTree(read, request.path, options, &tree, &remote);
  if (!s.ok()) return s.error();
  const std::string label =
      (request.path.empty() ? "." : request.path) +
      (renderer == Renderer::kHelm ? " (helm template)" : " (kustomize build)");
  std::string key;
  // A build with remote bases reads what the key cannot see: never kept.
  BuildCache* cache = remote ? nullptr : options.cache;
  if (cache != nullptr) {
    key = BuildKey(renderer, request, release, options, tree);
    if (auto hit = cache->Get(key)) {
      secrets->insert(secrets->end(), hit->secrets.begin(), hit->secrets.end());
      auto parsed = Parse(label, std::move(hit->stream), renderer, options);
      if (parsed.ok()) parsed->decrypted_files = hit->decrypted_files;
      return parsed;
    }
  }
  auto workspace = Workspace::Create(options.temp_dir);
  if (!workspace.ok()) return workspace.error();
  std::vector<source::File> files = tree.Files();
  if (auto w = (*workspace)->Write(files); !w.ok()) return w.error();
  size_t decrypted = 0;
  const size_t secrets_before = secrets->size();
  if (auto d = DecryptAll(&files, workspace->get(), request.age_keys, /*in_place=*/true, options,
                          request.deadline, secrets, &decrypted);
      !d.ok()) {
    return d.error();
  }
  auto bounded = Bounded(options, request.deadline);
  if (!bounded.ok()) return bounded.error();
  auto stream = renderer == Renderer::kHelm ? RunHelm(**workspace, request.path, release, *bounded)
                                            : RunKustomize(**workspace, request.path, *bounded);
  if (!stream.ok()) return stream.error();
  if (options.cache != nullptr) {
    options.cache->Put(
        key, {*stream, std::vector<std::string>(secrets->begin() + secrets_before, secrets->end()),
              decrypted});
  }
  auto parsed = Parse(label, std::move(*stream), renderer, options);
  if (parsed.ok()) parsed->decrypted_files = decrypted;
  return parsed;
}

}  // namespace

const char* ToString(Renderer renderer) {
  switch (renderer) {
    case Renderer::kKustomize:
      return "kustomize";
    case Renderer::kHelm:
      return "helm";
    case Renderer::kManifests:
      break;
  }
  return "manifests";
}

Result<RenderedPath> RenderPath(const TreeReader& read, const PathRequest& request,
                                const RenderOptions& options) {
  auto files = DeletedPathAsEmpty(read(request.path, ReadOptionsFor(options)), request.allow_empty);
  if (!files.ok()) return files.error();
  std::vector<std::string> secrets;  // decrypted values, kept out of every message
  if (request.age_keys) {
    for (auto& line : FormsOf(*request.age_keys)) secrets.push_back(std::move(line));
  }
  auto scrubbed = [&secrets](Result<RenderedPath> r) -> Result<RenderedPath> {
    if (r.ok()) {
      r->secret_values = std::move(secrets);
      return r;
    }
    if (secrets.empty()) return r;
    return Error(r.error().code(), Scrub(r.error().message(), secrets));
  };

  const bool chart = HasFile(*files, Under(request.path, "Chart.yaml"));
  if (request.helm_required && !chart) {
    return Error(ErrorCode::kInvalidArgument,
                 "spec.source.helm is set, but path \"" + request.path + "\" holds no Chart.yaml");
  }
  if (chart) return scrubbed(RenderTool(read, request, Renderer::kHelm, options, &secrets));
  if (KustomizationIn(*files, request.path)) {
    return scrubbed(RenderTool(read, request, Renderer::kKustomize, options, &secrets));
  }

  // Plain manifests: only the encrypted ones go through a workspace, and their plaintext comes
  // back through sops' output, never written.
  size_t decrypted = 0;
  std::vector<source::File> encrypted;
  for (const auto& f : *files) {
    if (IsSopsEncrypted(f.path, f.content)) encrypted.push_back(f);
  }
  if (!encrypted.empty()) {
    if (!request.age_keys) return RefusedEncrypted(encrypted.front().path).error();
    auto workspace = Workspace::Create(options.temp_dir);
    if (!workspace.ok()) return workspace.error();
    if (auto w = (*workspace)->Write(encrypted); !w.ok()) return w.error();
    if (auto d = DecryptAll(&*files, workspace->get(), request.age_keys, /*in_place=*/false,
                            options, request.deadline, &secrets, &decrypted);
        !d.ok()) {
      return scrubbed(d.error());
    }
  }
  auto objects = Render(*files, options);
  if (!objects.ok()) return scrubbed(objects.error());
  return scrubbed(RenderedPath{Renderer::kManifests, std::move(*objects), decrypted, {}});
}

}  // namespace plumbline::render

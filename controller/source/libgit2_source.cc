// GitSource on libgit2. Every libgit2 handle is owned by a unique_ptr with its free function, and
// every libgit2 error becomes an Error naming the URL.
#include <git2.h>
#include <git2/sys/repository.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "common/mutex.h"
#include "source/git_source.h"
#include "source/known_hosts.h"

namespace plumbline::source {
namespace {

namespace fs = std::filesystem;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using RepoPtr = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, Deleter<git_remote, git_remote_free>>;
using CommitPtr = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>>;
using EntryPtr = std::unique_ptr<git_tree_entry, Deleter<git_tree_entry, git_tree_entry_free>>;
using BlobPtr = std::unique_ptr<git_blob, Deleter<git_blob, git_blob_free>>;
using OdbPtr = std::unique_ptr<git_odb, Deleter<git_odb, git_odb_free>>;
using ObjectPtr = std::unique_ptr<git_object, Deleter<git_object, git_object_free>>;
using ReferencePtr = std::unique_ptr<git_reference, Deleter<git_reference, git_reference_free>>;

std::string LastGitError() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

void InitLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

std::string OidString(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

// "%2F" -> "/"; a malformed escape stays as it is.
std::string PercentDecoded(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += char(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsFullSha(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The host and port an ssh URL points at ("ssh://git@h:2222/x", "git@h:x").
void SshHostPort(const std::string& url, std::string* host, int* port) {
  *port = 22;
  std::string rest = url;
  if (rest.rfind("ssh://", 0) == 0) {
    rest = rest.substr(6);
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    auto at = authority.rfind('@');
    if (at != std::string::npos) authority = authority.substr(at + 1);
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']') == std::string::npos) {
      *port = std::atoi(authority.substr(colon + 1).c_str());
      authority = authority.substr(0, colon);
    }
    *host = authority;
    return;
  }
  auto at = rest.find('@');
  if (at != std::string::npos) rest = rest.substr(at + 1);
  *host = rest.substr(0, rest.find(':'));
}

// What the libgit2 callbacks need during one fetch.
struct FetchContext {
  const FetchRequest* request;
  std::chrono::steady_clock::time_point deadline;
  std::string key_file;  // ssh private key written for libssh2
  int credential_calls = 0;
  std::string failure;  // why a callback refused

  bool Expired() {
    if (std::chrono::steady_clock::now() < deadline) return false;
    failure =
        "timed out after " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(request->timeout).count()) +
        "s";
    return true;
  }
};

int Credentials(git_credential** out, const char* url, const char* username_from_url,
                unsigned int allowed, void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  const GitAuth& auth = ctx->request->auth;
  // libgit2 asks again after a refused credential; asking twice means the first was wrong.
  if (++ctx->credential_calls > 1) {
    ctx->failure = "authentication failed";
    return GIT_EUSER;
  }
  std::string user =
      auth.username.empty() ? (username_from_url ? username_from_url : "git") : auth.username;
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !ctx->key_file.empty()) {
    return git_credential_ssh_key_new(out, user.c_str(), nullptr, ctx->key_file.c_str(), nullptr);
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !auth.password.empty()) {
    return git_credential_userpass_plaintext_new(out, user.c_str(), auth.password.c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
  ctx->failure = std::string("the server asked for credentials that the secret does not hold (") +
                 (url ? url : "") + ")";
  return GIT_EUSER;
}

// Verifies an https server certificate against the Application's own CA.
bool VerifyWithCa(const git_cert_x509* cert, const std::string& ca_pem, const std::string& host) {
  const unsigned char* der = static_cast<const unsigned char*>(cert->data);
  std::unique_ptr<X509, decltype(&X509_free)> leaf(d2i_X509(nullptr, &der, long(cert->len)),
                                                   X509_free);
  if (!leaf) return false;
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(ca_pem.data(), int(ca_pem.size())),
                                                BIO_free);
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store.get(), ca);
    X509_free(ca);
  }
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx(X509_STORE_CTX_new(),
                                                                       X509_STORE_CTX_free);
  X509_STORE_CTX_init(vctx.get(), store.get(), leaf.get(), nullptr);
  if (X509_verify_cert(vctx.get()) != 1) return false;
  return X509_check_host(leaf.get(), host.c_str(), host.size(), 0, nullptr) == 1 ||
         X509_check_ip_asc(leaf.get(), host.c_str(), 0) == 1;
}

int CertificateCheck(git_cert* cert, int valid, const char* host, void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
    auto* key = reinterpret_cast<git_cert_hostkey*>(cert);
    std::string h;
    int port;
    SshHostPort(ctx->request->url, &h, &port);
    if (!(key->type & GIT_CERT_SSH_RAW)) {
      ctx->failure = "the ssh server's host key cannot be checked";
      return GIT_ECERTIFICATE;
    }
    if (ctx->request->auth.known_hosts.empty()) {
      ctx->failure = "no known_hosts given: refusing to trust the host key of " + h;
      return GIT_ECERTIFICATE;
    }
    if (!KnownHostsAccepts(ctx->request->auth.known_hosts, h, port,
                           std::string(key->hostkey, key->hostkey_len))) {
      ctx->failure = "host key verification failed: the key of " + h + ":" + std::to_string(port) +
                     " is not in known_hosts";
      return GIT_ECERTIFICATE;
    }
    return 0;
  }
  if (cert->cert_type == GIT_CERT_X509 && !ctx->request->auth.ca_pem.empty()) {
    if (VerifyWithCa(reinterpret_cast<git_cert_x509*>(cert), ctx->request->auth.ca_pem,
                     host ? host : "")) {
      return 0;
    }
    ctx->failure = std::string("the TLS certificate of ") + (host ? host : "") +
                   " is not signed by the given CA";
    return GIT_ECERTIFICATE;
  }
  return valid ? 0 : GIT_PASSTHROUGH;
}

int TransferProgress(const git_indexer_progress*, void* payload) {
  return static_cast<FetchContext*>(payload)->Expired() ? GIT_EUSER : 0;
}

int SidebandProgress(const char*, int, void* payload) {
  return static_cast<FetchContext*>(payload)->Expired() ? GIT_EUSER : 0;
}

class Libgit2Snapshot : public Snapshot {
 public:
  Libgit2Snapshot(std::string repo_path, git_oid tree, Commit commit)
      : repo_path_(std::move(repo_path)), tree_(tree), commit_(std::move(commit)) {}

  const Commit& commit() const override { return commit_; }

  Result<std::vector<File>> ReadDir(const std::string& dir,
                                    const ReadOptions& options) const override {
    auto clean = CleanRepoPath(dir);
    if (!clean.ok()) return clean.error();
    MutexLock lock(mu_);
    git_repository* raw = nullptr;
    if (git_repository_open_bare(&raw, repo_path_.c_str()) != 0) {
      return Error(ErrorCode::kInternal, "cannot open the git cache: " + LastGitError());
    }
    RepoPtr repo(raw);
    git_tree* root_raw = nullptr;
    if (git_tree_lookup(&root_raw, repo.get(), &tree_) != 0) {
      return Error(ErrorCode::kInternal, "cannot read the commit's tree: " + LastGitError());
    }
    TreePtr root(root_raw);
    TreePtr start;
    if (clean->empty()) {
      start = std::move(root);
    } else {
      // Walk down one component at a time so a symlinked directory on the way is caught.
      std::string walked;
      TreePtr current = std::move(root);
      std::stringstream parts(*clean);
      for (std::string part; std::getline(parts, part, '/');) {
        walked += (walked.empty() ? "" : "/") + part;
        const git_tree_entry* e = git_tree_entry_byname(current.get(), part.c_str());
        if (!e) {
          // NotFound, apart from the other path errors: an app whose last file was removed has
          // no directory left in git, which allowEmpty accepts.
          return Error(ErrorCode::kNotFound,
                       "path \"" + *clean + "\" does not exist at commit " + commit_.sha);
        }
        if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
          return Error(ErrorCode::kInvalidArgument,
                       "path \"" + walked + "\" is a symlink; symlinks are not followed");
        }
        if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
          return Error(ErrorCode::kInvalidArgument, "path \"" + walked + "\" is not a directory");
        }
        git_tree* next = nullptr;
        if (git_tree_lookup(&next, repo.get(), git_tree_entry_id(e)) != 0) {
          return Error(ErrorCode::kInternal, LastGitError());
        }
        current.reset(next);
      }
      start = std::move(current);
    }
    git_odb* raw_odb = nullptr;
    if (git_repository_odb(&raw_odb, repo.get()) != 0) {
      return Error(ErrorCode::kInternal, "cannot open the git cache: " + LastGitError());
    }
    OdbPtr odb(raw_odb);
    std::vector<File> files;
    // Paths stay relative to the repository root, so messages point at the file a person edits.
    auto walked = Walk(repo.get(), odb.get(), start.get(), clean->empty() ? "" : *clean + "/",
                       options, &files);
    if (!walked.ok()) return walked.error();
    std::sort(files.begin(), files.end(),
              [](const File& a, const File& b) { return a.path < b.path; });
    return files;
  }

 private:
  Status Walk(git_repository* repo, git_odb* odb, git_tree* tree, const std::string& prefix,
              const ReadOptions& options, std::vector<File>* out) const {
    size_t n = git_tree_entrycount(tree);
    for (size_t i = 0; i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree, i);
      std::string path = prefix + git_tree_entry_name(e);
      git_filemode_t mode = git_tree_entry_filemode(e);
      if (mode == GIT_FILEMODE_LINK) {
        return Error(ErrorCode::kInvalidArgument,
                     "\"" + path + "\" is a symlink; symlinks are not followed");
      }
      if (mode == GIT_FILEMODE_COMMIT) continue;  // a submodule: not ours to read
      if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
        git_tree* sub = nullptr;
        if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) != 0) {
          return Error(ErrorCode::kInternal, LastGitError());
        }
        TreePtr owned(sub);
        if (auto s = Walk(repo, odb, owned.get(), path + "/", options, out); !s.ok()) return s;
        continue;
      }
      if (options.wanted && !options.wanted(path)) continue;
      // The size from the object's header: a large blob is refused without being loaded.
      size_t size = 0;
      git_object_t type = GIT_OBJECT_INVALID;
      if (git_odb_read_header(&size, &type, odb, git_tree_entry_id(e)) != 0) {
        return Error(ErrorCode::kInternal, path + ": " + LastGitError());
      }
      if (size > options.max_file_bytes) {
        return Error(ErrorCode::kInvalidArgument, path + ": file is " + std::to_string(size) +
                                                      " bytes, over the limit of " +
                                                      std::to_string(options.max_file_bytes));
      }
      git_blob* blob = nullptr;
      if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) != 0) {
        return Error(ErrorCode::kInternal, LastGitError());
      }
      BlobPtr owned(blob);
      out->push_back(File{path, std::string(static_cast<const char*>(git_blob_rawcontent(blob)),
                                            size_t(git_blob_rawsize(blob)))});
    }
    return Status::Ok();
  }

  const std::string repo_path_;
  const git_oid tree_;
  const Commit commit_;
  mutable Mutex mu_;  // libgit2 handles are not shared between threads
};

// The raw content of object `oid` (a commit or a tag), as git hashes it.
Result<std::string> ReadRaw(git_repository* repo, const git_oid* oid) {
  git_odb* raw_odb = nullptr;
  if (git_repository_odb(&raw_odb, repo) != 0) {
    return Error(ErrorCode::kInternal, "cannot open the object database: " + LastGitError());
  }
  OdbPtr odb(raw_odb);
  git_odb_object* raw = nullptr;
  if (git_odb_read(&raw, odb.get(), oid) != 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "cannot read object " + OidString(oid) + ": " + LastGitError());
  }
  std::unique_ptr<git_odb_object, Deleter<git_odb_object, git_odb_object_free>> object(raw);
  return std::string(static_cast<const char*>(git_odb_object_data(object.get())),
                     git_odb_object_size(object.get()));
}

// The annotated tag `target` names, with its signature split off as git does.
Result<Tag> ReadTag(git_repository* repo, const git_oid* target, const std::string& name) {
  auto content = ReadRaw(repo, target);
  if (!content.ok()) return content.error();
  Tag tag;
  tag.name = name;
  tag.sha = OidString(target);
  tag.declared_name = TagObjectName(*content);
  tag.signed_object = SplitTagSignature(*content);
  return tag;
}

// The commit `revision` names; `*tag` is set when it names an annotated tag (not a branch).
Result<CommitPtr> Resolve(git_repository* repo, const std::string& revision,
                          std::optional<Tag>* tag = nullptr) {
  git_oid oid;
  if (IsFullSha(revision)) {
    git_oid_fromstr(&oid, revision.c_str());
  } else {
    git_reference* ref = nullptr;
    std::string branch = "refs/remotes/origin/" + revision;
    std::string tag_ref = "refs/tags/" + revision;
    bool is_tag = false;
    if (git_reference_lookup(&ref, repo, branch.c_str()) != 0) {
      if (git_reference_lookup(&ref, repo, tag_ref.c_str()) != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "revision \"" + revision + "\" is neither a branch nor a tag of the remote");
      }
      is_tag = true;
    }
    ReferencePtr owned(ref);
    if (is_tag && tag != nullptr && git_reference_type(ref) == GIT_REFERENCE_DIRECT) {
      git_object* raw_target = nullptr;
      if (git_object_lookup(&raw_target, repo, git_reference_target(ref), GIT_OBJECT_ANY) == 0) {
        ObjectPtr target(raw_target);
        if (git_object_type(raw_target) == GIT_OBJECT_TAG) {
          auto read = ReadTag(repo, git_object_id(raw_target), revision);
          if (!read.ok()) return read.error();
          *tag = std::move(*read);
        }
      }
    }
    git_object* peeled = nullptr;
    if (git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) != 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "revision \"" + revision + "\" does not point at a commit");
    }
    ObjectPtr obj(peeled);
    git_oid_cpy(&oid, git_object_id(peeled));
  }
  git_commit* c = nullptr;
  if (git_commit_lookup(&c, repo, &oid) != 0) {
    return Error(ErrorCode::kInvalidArgument, "commit " + revision + " is not in the repository");
  }
  return CommitPtr(c);
}

Result<std::shared_ptr<const Snapshot>> MakeSnapshot(const std::string& path, git_commit* commit,
                                                     std::optional<Tag> tag = std::nullopt) {
  Commit info;
  info.sha = OidString(git_commit_id(commit));
  const git_signature* author = git_commit_author(commit);
  info.author = std::string(author->name ? author->name : "") + " <" +
                (author->email ? author->email : "") + ">";
  info.time = std::chrono::system_clock::from_time_t(author->when.time);
  info.message = git_commit_message(commit) ? git_commit_message(commit) : "";
  // Read and split here, not by libgit2 (which also searches the message, takes the first of two
  // signature headers and keeps gpgsig-sha256 in what is signed): as git verifies it.
  auto raw = ReadRaw(git_commit_owner(commit), git_commit_id(commit));
  if (raw.ok()) {
    info.signed_object = SplitCommitSignature(*raw);
  } else {
    info.signed_object.error = raw.error().message();
  }
  info.tag = std::move(tag);
  return std::shared_ptr<const Snapshot>(
      std::make_shared<Libgit2Snapshot>(path, *git_commit_tree_id(commit), std::move(info)));
}

// Opens (or creates) a bare cache repository. The cache needs no configuration, and must not
// pick up the host's (~/.gitconfig url rewrites). An empty config also avoids a libgit2 1.5 leak:
// its regexp matcher leaks on every config entry that a remote's URL rewriting scans without a
// match.
Result<RepoPtr> OpenCache(const std::string& path, bool create) {
  git_repository* raw_repo = nullptr;
  if (git_repository_open_bare(&raw_repo, path.c_str()) != 0 &&
      (!create || git_repository_init(&raw_repo, path.c_str(), /*is_bare=*/1) != 0)) {
    return Error(ErrorCode::kInternal, "cannot open the git cache: " + LastGitError());
  }
  RepoPtr repo(raw_repo);
  git_config* raw_config = nullptr;
  if (git_config_new(&raw_config) != 0) {
    return Error(ErrorCode::kInternal, "cannot create a git config: " + LastGitError());
  }
  git_repository_set_config(repo.get(), raw_config);
  git_config_free(raw_config);  // the repository holds its own reference
  return repo;
}

// An anonymous remote with explicit refspecs: nothing about it is written to the repository.
Result<RemotePtr> AnonymousRemote(git_repository* repo, const std::string& url) {
  git_remote* raw = nullptr;
  if (git_remote_create_anonymous(&raw, repo, url.c_str()) != 0) {
    return Error(ErrorCode::kInvalidArgument, "invalid repository URL: " + LastGitError());
  }
  return RemotePtr(raw);
}

// What libgit2's remote callbacks need for one connection (credentials, host checks, the
// deadline), with an ssh key written to a private file for as long as it lives.
struct RemoteAccess {
  FetchContext ctx;
  std::string bearer;
  char* header_list[1] = {nullptr};
  git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
  git_strarray headers = {nullptr, 0};

  ~RemoteAccess() {
    if (!ctx.key_file.empty()) unlink(ctx.key_file.c_str());
  }

  static Result<std::unique_ptr<RemoteAccess>> Open(const FetchRequest& request,
                                                    const std::string& cache_dir) {
    auto a = std::make_unique<RemoteAccess>();
    a->ctx = FetchContext{&request, std::chrono::steady_clock::now() + request.timeout, "", 0, ""};
    if (!request.auth.ssh_private_key.empty()) {
      // libssh2 reads keys from files; keep it private and short-lived.
      std::string tmpl = cache_dir + "/.key-XXXXXX";
      int fd = mkstemp(tmpl.data());
      if (fd < 0) return Error(ErrorCode::kInternal, "cannot write the ssh key");
      std::string key = request.auth.ssh_private_key;
      if (key.back() != '\n') key += '\n';
      bool written = write(fd, key.data(), key.size()) == ssize_t(key.size());
      close(fd);
      a->ctx.key_file = tmpl;
      if (!written) return Error(ErrorCode::kInternal, "cannot write the ssh key");
    }
    a->callbacks.credentials = Credentials;
    a->callbacks.certificate_check = CertificateCheck;
    a->callbacks.transfer_progress = TransferProgress;
    a->callbacks.sideband_progress = SidebandProgress;
    a->callbacks.payload = &a->ctx;
    a->bearer = "Authorization: Bearer " + request.auth.bearer_token;
    a->header_list[0] = a->bearer.data();
    a->headers = {a->header_list, request.auth.bearer_token.empty() ? 0u : 1u};
    return a;
  }
};

// Connects to the remote without downloading: it answers only when it accepts the request's
// credentials (and, over https or ssh, when its certificate or host key checks out).
Status CheckAccess(git_repository* repo, const FetchRequest& request,
                   const std::string& cache_dir) {
  auto anonymous = AnonymousRemote(repo, request.url);
  if (!anonymous.ok()) return anonymous.error();
  RemotePtr remote = std::move(*anonymous);
  auto access = RemoteAccess::Open(request, cache_dir);
  if (!access.ok()) return access.error();
  if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &(*access)->callbacks, nullptr,
                         &(*access)->headers) != 0) {
    const std::string& failure = (*access)->ctx.failure;
    return Error(ErrorCode::kUnavailable,
                 "cannot fetch: " + (failure.empty() ? LastGitError() : failure));
  }
  git_remote_disconnect(remote.get());
  return Status::Ok();
}

// A lock older than this has no live owner: git holds one for the milliseconds of a write.
constexpr std::chrono::seconds kStaleLockAge{60};

// Failure classes that come from reading the cache repository itself (a truncated pack, a
// corrupt object or ref), not from the remote: fetching anew into an empty repository mends them.
bool IsCacheDamage(int error_class) {
  return error_class == GIT_ERROR_ODB || error_class == GIT_ERROR_ZLIB ||
         error_class == GIT_ERROR_OBJECT || error_class == GIT_ERROR_REFERENCE;
}

// One fetch into the cache repository at `path`. On failure, `*error_class` is libgit2's class
// of the failure (0 when it did not come from libgit2).
Result<std::shared_ptr<const Snapshot>> FetchOnce(const FetchRequest& request,
                                                  const std::string& path,
                                                  const std::string& cache_dir, int* error_class) {
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  auto opened = OpenCache(path, /*create=*/true);
  if (!opened.ok()) return opened.error();
  RepoPtr repo = std::move(*opened);

  // A commit SHA never moves: once it is here, there is nothing to download. But the remote
  // must still accept these credentials now (they may have been revoked, the server may be
  // gone): the cache serves no one the server would refuse.
  if (IsFullSha(request.revision)) {
    git_oid oid;
    git_oid_fromstr(&oid, request.revision.c_str());
    git_commit* c = nullptr;
    if (git_commit_lookup(&c, repo.get(), &oid) == 0) {
      CommitPtr commit(c);
      if (Status s = CheckAccess(repo.get(), request, cache_dir); !s.ok()) return s.error();
      return MakeSnapshot(path, commit.get());
    }
  }

  auto anonymous = AnonymousRemote(repo.get(), request.url);
  if (!anonymous.ok()) return anonymous.error();
  RemotePtr remote = std::move(*anonymous);

  auto access = RemoteAccess::Open(request, cache_dir);
  if (!access.ok()) return access.error();
  FetchContext& ctx = (*access)->ctx;
  git_remote_callbacks& callbacks = (*access)->callbacks;
  git_strarray& headers = (*access)->headers;

  auto fail = [&](const char* what) {
    const git_error* e = git_error_last();
    *error_class = ctx.failure.empty() && e ? e->klass : 0;
    std::string why = ctx.failure.empty() ? LastGitError() : ctx.failure;
    return Error(ErrorCode::kUnavailable, std::string(what) + ": " + why);
  };
  char spec_heads[] = "+refs/heads/*:refs/remotes/origin/*";
  char spec_tags[] = "+refs/tags/*:refs/tags/*";
  char* specs[] = {spec_heads, spec_tags};
  git_strarray refspecs = {specs, 2};
  git_fetch_options fetch = GIT_FETCH_OPTIONS_INIT;
  fetch.callbacks = callbacks;
  fetch.custom_headers = headers;
  fetch.prune = GIT_FETCH_PRUNE;
  fetch.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
  // Download connects by itself and stays connected, so the remote's HEAD can be read after.
  // (Connecting first and downloading after makes libgit2 1.5 copy the options again and leak
  // them.)
  int rc = git_remote_download(remote.get(), &refspecs, &fetch);
  std::string revision = request.revision;
  if (rc == 0 && revision.empty()) {
    git_buf head = GIT_BUF_INIT;
    rc = git_remote_default_branch(&head, remote.get());
    if (rc != 0) {
      git_remote_disconnect(remote.get());
      return fail("cannot find the remote's HEAD branch");
    }
    revision = std::string(head.ptr, head.size);
    git_buf_dispose(&head);
    if (revision.rfind("refs/heads/", 0) == 0) revision = revision.substr(11);
  }
  if (rc == 0) {
    rc = git_remote_update_tips(remote.get(), &callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_ALL,
                                "plumbline fetch");
  }
  if (rc == 0) rc = git_remote_prune(remote.get(), &callbacks);
  git_remote_disconnect(remote.get());
  if (rc != 0) return fail("cannot fetch");

  std::optional<Tag> tag;
  auto commit = Resolve(repo.get(), revision, &tag);
  if (!commit.ok()) return commit.error();
  return MakeSnapshot(path, commit->get(), std::move(tag));
}

// A fetch that recovers from what a killed process or a damaged disk leaves in the cache.
Result<std::shared_ptr<const Snapshot>> FetchLocked(const FetchRequest& request,
                                                    const std::string& path,
                                                    const std::string& cache_dir) {
  int error_class = 0;
  auto fetched = FetchOnce(request, path, cache_dir, &error_class);
  if (fetched.ok()) return fetched;
  // A lock file with no live owner (a fetch killed mid-write) fails every fetch after it: remove
  // it and try once more. A younger lock may be another process's; that one is reported.
  // (libgit2 reports a lock from update_tips as a plain error, not GIT_ELOCKED.)
  if (RemoveStaleLocks(path, kStaleLockAge) > 0) {
    fetched = FetchOnce(request, path, cache_dir, &error_class);
    if (fetched.ok()) return fetched;
  }
  // The cache repository is damaged: it is only a cache, so start it again from the remote.
  if (IsCacheDamage(error_class)) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) return fetched;
    auto again = FetchOnce(request, path, cache_dir, &error_class);
    if (again.ok()) return again;
    return again.error().Wrap("after refetching a damaged cache (" + fetched.error().message() +
                              ")");
  }
  return fetched;
}

int PushUpdate(const char* refname, const char* status, void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  if (status != nullptr) {
    ctx->failure = std::string("the server refused to update ") + refname + ": " + status;
  }
  return 0;
}

std::string Subject(const std::string& message) { return message.substr(0, message.find('\n')); }

// The remote's HEAD branch, by connecting without downloading.
Result<std::string> DefaultBranch(git_repository* repo, const FetchRequest& request,
                                  const std::string& cache_dir) {
  auto anonymous = AnonymousRemote(repo, request.url);
  if (!anonymous.ok()) return anonymous.error();
  RemotePtr remote = std::move(*anonymous);
  auto access = RemoteAccess::Open(request, cache_dir);
  if (!access.ok()) return access.error();
  if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &(*access)->callbacks, nullptr,
                         &(*access)->headers) != 0) {
    return Error(ErrorCode::kUnavailable, "cannot connect: " + LastGitError());
  }
  git_buf head = GIT_BUF_INIT;
  int rc = git_remote_default_branch(&head, remote.get());
  git_remote_disconnect(remote.get());
  if (rc != 0) return Error(ErrorCode::kUnavailable, "cannot find the remote's HEAD branch");
  std::string branch(head.ptr, head.size);
  git_buf_dispose(&head);
  if (branch.rfind("refs/heads/", 0) == 0) branch = branch.substr(11);
  return branch;
}

Result<RevertResult> RevertLocked(const RevertRequest& request, const std::string& path,
                                  const std::string& cache_dir) {
  FetchRequest fetch{request.url, request.branch, request.auth, request.timeout};
  std::string branch = request.branch;
  if (branch.empty()) {
    // The cache repository to connect from; the branch's fetch below fills it.
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    auto repo = OpenCache(path, /*create=*/true);
    if (!repo.ok()) return repo.error();
    auto head = DefaultBranch(repo->get(), fetch, cache_dir);
    if (!head.ok()) return head.error();
    branch = fetch.revision = *head;
  }
  auto tip = FetchLocked(fetch, path, cache_dir);
  if (!tip.ok()) return tip.error();
  const std::string head_sha = (*tip)->commit().sha;
  if (!request.expected_head.empty() && head_sha != request.expected_head) {
    return Error(ErrorCode::kConflict,
                 "branch " + branch + " is at " + head_sha.substr(0, 12) + ", past " +
                     request.expected_head.substr(0, 12) +
                     " that the Application applied: someone pushed since (--force reverts "
                     "anyway)");
  }

  auto opened = OpenCache(path, /*create=*/false);
  if (!opened.ok()) return opened.error();
  RepoPtr repo = std::move(*opened);
  auto target = Resolve(repo.get(), request.commit);
  if (!target.ok()) return target.error();
  auto head = Resolve(repo.get(), head_sha);
  if (!head.ok()) return head.error();
  const unsigned parents_of_target = git_commit_parentcount(target->get());
  if (parents_of_target == 0) {
    return Error(ErrorCode::kInvalidArgument, "commit " + request.commit.substr(0, 12) +
                                                  " is the first commit: there is nothing before "
                                                  "it to go back to");
  }
  // A merged pull request is undone against its first parent, the branch it was merged into
  // (`git revert -m 1`, what a forge's revert button does).
  const unsigned mainline = parents_of_target > 1 ? 1 : 0;
  git_index* raw_index = nullptr;
  if (git_revert_commit(&raw_index, repo.get(), target->get(), head->get(), mainline, nullptr) !=
      0) {
    return Error(ErrorCode::kInternal, "cannot revert: " + LastGitError());
  }
  std::unique_ptr<git_index, Deleter<git_index, git_index_free>> index(raw_index);
  if (git_index_has_conflicts(index.get())) {
    return Error(ErrorCode::kConflict, "reverting " + request.commit.substr(0, 12) +
                                           " conflicts with later commits on " + branch);
  }
  git_oid tree_oid;
  if (git_index_write_tree_to(&tree_oid, index.get(), repo.get()) != 0) {
    return Error(ErrorCode::kInternal, "cannot write the tree: " + LastGitError());
  }
  if (git_oid_equal(&tree_oid, git_commit_tree_id(head->get()))) {
    return Error(ErrorCode::kConflict, "reverting " + request.commit.substr(0, 12) +
                                           " changes nothing on " + branch +
                                           " (reverted already?)");
  }
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo.get(), &tree_oid) != 0) {
    return Error(ErrorCode::kInternal, "cannot read the tree: " + LastGitError());
  }
  std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>> tree(raw_tree);
  git_signature* raw_sig = nullptr;
  if (git_signature_now(&raw_sig, request.author_name.c_str(), request.author_email.c_str()) != 0) {
    return Error(ErrorCode::kInvalidArgument, "bad author: " + LastGitError());
  }
  std::unique_ptr<git_signature, Deleter<git_signature, git_signature_free>> sig(raw_sig);
  const char* target_message = git_commit_message(target->get());
  RevertResult result;
  result.branch = branch;
  result.message = "Revert \"" + Subject(target_message ? target_message : "") +
                   "\"\n\nThis reverts commit " + request.commit;
  if (mainline != 0) {
    result.message += ", reversing\nchanges made to " +
                      OidString(git_commit_parent_id(target->get(), mainline - 1));
  }
  result.message += ".\n";
  if (!request.trailer.empty()) result.message += "\n" + request.trailer + "\n";
  const git_commit* parents[] = {head->get()};
  git_oid commit_oid;
  if (!request.sign) {
    if (git_commit_create(&commit_oid, repo.get(), nullptr, sig.get(), sig.get(), nullptr,
                          result.message.c_str(), tree.get(), 1, parents) != 0) {
      return Error(ErrorCode::kInternal, "cannot commit: " + LastGitError());
    }
  } else {
    // Under spec.verify a rollback must be signed too, or the controller refuses it.
    git_buf buffer = GIT_BUF_INIT;
    if (git_commit_create_buffer(&buffer, repo.get(), sig.get(), sig.get(), nullptr,
                                 result.message.c_str(), tree.get(), 1, parents) != 0) {
      return Error(ErrorCode::kInternal, "cannot commit: " + LastGitError());
    }
    std::string content(buffer.ptr, buffer.size);
    git_buf_dispose(&buffer);
    auto signature = request.sign(content);
    if (!signature.ok()) return signature.error().Wrap("cannot sign the revert commit");
    if (git_commit_create_with_signature(&commit_oid, repo.get(), content.c_str(),
                                         signature->c_str(), "gpgsig") != 0) {
      return Error(ErrorCode::kInternal, "cannot commit: " + LastGitError());
    }
  }
  result.sha = OidString(&commit_oid);
  constexpr char kLocalRef[] = "refs/plumbline/revert";
  git_reference* raw_ref = nullptr;
  if (git_reference_create(&raw_ref, repo.get(), kLocalRef, &commit_oid, 1, "plumbline revert") !=
      0) {
    return Error(ErrorCode::kInternal, "cannot create a ref: " + LastGitError());
  }
  ReferencePtr ref(raw_ref);

  // Push without force: if the branch moved meanwhile, the server refuses.
  auto anonymous = AnonymousRemote(repo.get(), request.url);
  if (!anonymous.ok()) return anonymous.error();
  RemotePtr remote = std::move(*anonymous);
  auto access = RemoteAccess::Open(fetch, cache_dir);
  if (!access.ok()) return access.error();
  (*access)->callbacks.push_update_reference = PushUpdate;
  git_push_options push = GIT_PUSH_OPTIONS_INIT;
  push.callbacks = (*access)->callbacks;
  push.custom_headers = (*access)->headers;
  std::string spec = std::string(kLocalRef) + ":refs/heads/" + branch;
  char* specs[] = {spec.data()};
  git_strarray refspecs = {specs, 1};
  int rc = git_remote_push(remote.get(), &refspecs, &push);
  const std::string& failure = (*access)->ctx.failure;
  if (rc != 0 || !failure.empty()) {
    return Error(ErrorCode::kUnavailable,
                 "cannot push to " + branch + ": " + (failure.empty() ? LastGitError() : failure));
  }
  return result;
}

// One fetch, run on its own thread so that a server that stops answering cannot hold a worker
// past the timeout: libgit2 1.5 has no socket timeouts, and its progress callbacks only run while
// data flows. A fetch that overstays is abandoned; it keeps its repository locked until the
// connection dies, and later fetches of that repository time out waiting for the lock.
struct FetchJob {
  Mutex mu;
  CondVar done_cv;
  bool done GUARDED_BY(mu) = false;
  std::optional<Result<std::shared_ptr<const Snapshot>>> result GUARDED_BY(mu);
};

class Libgit2Source : public GitSource {
 public:
  Libgit2Source(std::string cache_dir, const SourceOptions& options)
      : cache_dir_(std::move(cache_dir)), options_(options) {
    InitLibgit2();
  }

  Result<std::shared_ptr<const Snapshot>> Fetch(const FetchRequest& request) override {
    if (Status s = CheckUrl(request.url); !s.ok()) return s.error().Wrap("git " + request.url);
    std::string path = RepoPathFor(request.url, request.auth);
    std::shared_ptr<std::timed_mutex> repo_lock;
    {
      MutexLock lock(mu_);
      auto& m = repo_locks_[path];
      if (!m) m = std::make_shared<std::timed_mutex>();
      repo_lock = m;
    }
    auto job = std::make_shared<FetchJob>();
    // The thread owns copies of everything it touches: it may outlive this call and this source.
    std::thread([job, repo_lock, request, path, cache_dir = cache_dir_] {
      Result<std::shared_ptr<const Snapshot>> result =
          Error(ErrorCode::kTimeout, "timed out waiting for an earlier fetch of this repository");
      if (repo_lock->try_lock_for(request.timeout)) {
        result = FetchLocked(request, path, cache_dir);
        repo_lock->unlock();
      }
      MutexLock lock(job->mu);
      job->result = std::move(result);
      job->done = true;
      job->done_cv.notify_all();
    }).detach();
    MutexLock lock(job->mu);
    // The fetch enforces the timeout itself while data flows; the margin covers a silent server.
    const auto until = std::chrono::steady_clock::now() + request.timeout + std::chrono::seconds(2);
    while (!job->done && job->done_cv.wait_until(lock, until) == std::cv_status::no_timeout) {
    }
    const bool finished = job->done;
    if (!finished) {
      return Error(
          ErrorCode::kTimeout,
          "git " + request.url + ": fetch timed out after " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::seconds>(request.timeout).count()) +
              "s (the server stopped answering)");
    }
    if (!job->result->ok()) return job->result->error().Wrap("git " + request.url);
    return *job->result;
  }

 private:
  // One repository per URL and credentials: what one tenant's credentials fetched is never in
  // another's repository, and the name cannot be guessed without the credentials.
  std::string RepoPathFor(const std::string& url, const GitAuth& auth) const {
    const std::string key = Sha256Hex(url + '\0' + AuthFingerprint(auth));
    return cache_dir_ + "/" + key.substr(0, 32) + ".git";
  }

  // Local repositories only when allowed, and the cache itself never.
  Status CheckUrl(const std::string& url) const {
    if (!IsLocalRepoUrl(url)) return Status::Ok();
    if (!options_.allow_local_repos) {
      return Error(ErrorCode::kInvalidArgument,
                   "file:// URLs and local paths are refused: the controller reads them from "
                   "its own disk (plumbline run --allow-local-repos allows them)");
    }
    std::string local = url;
    if (local.size() >= 7 && strncasecmp(local.c_str(), "file://", 7) == 0) {
      local = PercentDecoded(local.substr(7));  // as libgit2 reads it
      // file://host/path: only the path matters here (libgit2 reads it locally).
      if (!local.empty() && local[0] != '/') {
        const auto slash = local.find('/');
        local = slash == std::string::npos ? "" : local.substr(slash);
      }
    }
    // Compared as resolved absolute paths, symlinks followed, as libgit2 will open it.
    auto resolved = [](const std::string& p) {
      std::error_code ec;
      std::string out = fs::weakly_canonical(fs::absolute(p, ec), ec).string();
      while (out.size() > 1 && out.back() == '/') out.pop_back();
      return out;
    };
    const std::string repo = resolved(local);
    const std::string cache = resolved(cache_dir_);
    if (repo == cache || repo.rfind(cache + "/", 0) == 0 || cache.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "the repository is inside the git cache, which holds other Applications' "
                   "repositories: refused");
    }
    return Status::Ok();
  }

  const std::string cache_dir_;
  const SourceOptions options_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<std::timed_mutex>> repo_locks_ GUARDED_BY(mu_);

 public:
  Result<RevertResult> Revert(const RevertRequest& request) override {
    if (Status s = CheckUrl(request.url); !s.ok()) return s.error().Wrap("git " + request.url);
    std::string path = RepoPathFor(request.url, request.auth);
    std::shared_ptr<std::timed_mutex> repo_lock;
    {
      MutexLock lock(mu_);
      auto& m = repo_locks_[path];
      if (!m) m = std::make_shared<std::timed_mutex>();
      repo_lock = m;
    }
    if (!repo_lock->try_lock_for(request.timeout)) {
      return Error(ErrorCode::kTimeout, "git " + request.url + ": the repository stayed locked");
    }
    auto result = RevertLocked(request, path, cache_dir_);
    repo_lock->unlock();
    if (!result.ok()) return result.error().Wrap("git " + request.url);
    return result;
  }
};

}  // namespace

std::unique_ptr<GitSource> NewLibgit2Source(const std::string& cache_dir,
                                            const SourceOptions& options) {
  return std::make_unique<Libgit2Source>(cache_dir, options);
}

int RemoveStaleLocks(const std::string& cache_dir, std::chrono::seconds older_than) {
  int removed = 0;
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - older_than;
  fs::recursive_directory_iterator it(cache_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code stat_ec;
    // Object files are written to temporary names, never locked: skip the bulk of the cache.
    if (p.filename() == "objects" && it->is_directory(stat_ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (p.extension() != ".lock" || !it->is_regular_file(stat_ec)) continue;
    if (older_than.count() > 0 && fs::last_write_time(p, stat_ec) > cutoff) continue;
    if (!stat_ec && fs::remove(p, stat_ec)) ++removed;
  }
  return removed;
}

bool IsLocalRepoUrl(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    return scheme_end == 4 && strncasecmp(url.c_str(), "file", 4) == 0;
  }
  const auto colon = url.find(':');
  return colon == std::string::npos || url.find('/') < colon;
}

std::string AuthFingerprint(const GitAuth& auth) {
  return Sha256Hex(auth.username + '\0' + auth.password + '\0' + auth.bearer_token + '\0' +
                   auth.ssh_private_key + '\0' + auth.known_hosts + '\0' + auth.ca_pem);
}

Result<std::string> CleanRepoPath(const std::string& path) {
  if (!path.empty() && path[0] == '/') {
    return Error(ErrorCode::kInvalidArgument,
                 "path \"" + path + "\" must be relative to the repository");
  }
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '/');) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return Error(ErrorCode::kInvalidArgument, "path \"" + path + "\" leaves the repository");
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

}  // namespace plumbline::source

#include "render/sops.h"

#include <algorithm>
#include <functional>
#include <map>

#include "common/base64.h"
#include "common/subprocess.h"
#include "yaml/yaml_json.h"

namespace plumbline::render {
namespace {

bool HasSuffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsSopsMetadata(const Json& doc) {
  return doc.is_object() && doc.contains("sops") && doc["sops"].is_object() &&
         doc["sops"].contains("mac") && doc["sops"]["mac"].is_string();
}

void CollectLeaves(const Json& value, std::vector<std::string>* out) {
  if (value.is_string()) {
    out->push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const auto& v : value) CollectLeaves(v, out);
  }
}

// sops explains a failure over many indented lines, ending with where else it looked for keys
// (which the controller never offers): one line, without that list.
std::string OneLine(const std::string& text) {
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.empty() || word == "|" || word == "-") {
      word.clear();
      return;
    }
    if (!out.empty()) out += ' ';
    out += word;
    word.clear();
  };
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') {
      flush();
    } else {
      word += c;
    }
  }
  flush();
  if (auto noise = out.find(" Did not find keys in locations"); noise != std::string::npos) {
    auto end = out.find(". ", noise + 1);
    out.erase(noise, end == std::string::npos ? std::string::npos : end + 1 - noise);
  }
  if (out.size() > 600) {
    out.resize(600);
    out.append("...");
  }
  return out;
}

}  // namespace

std::string SopsFormatOf(const std::string& path, const std::string& content) {
  if (content.find("sops") == std::string::npos || content.find("mac") == std::string::npos) {
    return "";
  }
  const bool yaml = HasSuffix(path, ".yaml") || HasSuffix(path, ".yml");
  const bool json = HasSuffix(path, ".json");
  if (!yaml && !json) {
    if (content.rfind("sops_mac=", 0) == 0 || content.find("\nsops_mac=") != std::string::npos) {
      return "dotenv";
    }
    if ((content.rfind("[sops]", 0) == 0 || content.find("\n[sops]") != std::string::npos) &&
        content.find("\nmac") != std::string::npos) {
      return "ini";
    }
  }
  auto docs = yaml::ParseDocumentsWithLines(content, path);
  if (!docs.ok()) return "";  // not ours to judge: the renderer reports it
  for (const auto& doc : *docs) {
    if (!IsSopsMetadata(doc.value)) continue;
    if (yaml) return "yaml";
    if (json) return "json";
    if (doc.value.contains("data") && doc.value["data"].is_string()) return "binary";
  }
  return "";
}

Status CheckAgeOnly(const std::string& path, const std::string& content,
                    const std::string& format) {
  static const char* kOthers[] = {"kms", "gcp_kms", "azure_kv", "hc_vault", "pgp"};
  std::vector<std::string> found;
  if (format == "dotenv" || format == "ini") {
    // Flattened metadata: sops_kms__list_0__map_arn=... or kms__list_0__map_arn = ...
    for (const char* other : kOthers) {
      const std::string flat = std::string(other) + "__list_";
      for (size_t at = content.find(flat); at != std::string::npos;
           at = content.find(flat, at + 1)) {
        // The whole name, not the tail of another ("gcp_kms__list" holds "kms__list").
        if (at == 0 || content[at - 1] == '_' || content[at - 1] == '\n') {
          if (at >= 1 && content[at - 1] == '_' && at >= 4 &&
              content.compare(at - 4, 4, "gcp_") == 0 && std::string(other) == "kms") {
            continue;
          }
          found.push_back(other);
          break;
        }
      }
    }
  } else {
    auto docs = yaml::ParseDocumentsWithLines(content, path);
    if (!docs.ok()) return Status::Ok();
    for (const auto& doc : *docs) {
      if (!IsSopsMetadata(doc.value)) continue;
      std::vector<const Json*> groups = {&doc.value["sops"]};
      const Json& sops = doc.value["sops"];
      if (sops.contains("key_groups") && sops["key_groups"].is_array()) {
        for (const auto& g : sops["key_groups"]) groups.push_back(&g);
      }
      for (const Json* g : groups) {
        if (!g->is_object()) continue;
        for (const char* other : kOthers) {
          if (g->contains(other) && !(*g)[other].is_null() && !(*g)[other].empty()) {
            found.push_back(other);
          }
        }
      }
    }
  }
  if (found.empty()) return Status::Ok();
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  std::string names;
  for (const auto& f : found) names += (names.empty() ? "" : ", ") + f;
  return Error(ErrorCode::kInvalidArgument,
               path + ": encrypted for " + names +
                   " keys; the controller decrypts only with the age keys of spec.decryption");
}

Result<std::string> SopsDecrypt(const source::File& file, const Workspace& workspace,
                                const std::string& age_keys, const RenderOptions& options) {
  const std::string format = SopsFormatOf(file.path, file.content);
  if (auto s = CheckAgeOnly(file.path, file.content, format); !s.ok()) return s.error();
  SubprocessOptions run;
  // Only the Application's keys: no HOME with key files, no cloud credentials of ours.
  run.inherit_env = false;
  run.extra_env = {{"SOPS_AGE_KEY", age_keys},
                   {"HOME", workspace.home()},
                   {"XDG_CONFIG_HOME", workspace.home()},
                   {"SOPS_DISABLE_VERSION_CHECK", "1"},
                   // Age needs no network; nothing else may use it.
                   {"HTTPS_PROXY", "http://127.0.0.1:9"},
                   {"HTTP_PROXY", "http://127.0.0.1:9"}};
  run.timeout = options.tool_timeout;
  run.max_output_bytes = options.max_tool_output_bytes;
  auto result = RunSubprocess({options.sops, "--decrypt", "--input-type", format, "--output-type",
                               format, workspace.repo() + "/" + file.path},
                              run);
  if (!result.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 file.path + ": cannot run sops (" + options.sops +
                     ", --sops-path): " + workspace.Relative(result.error().message()));
  }
  if (result->exit_code != 0) {
    return Error(ErrorCode::kInvalidArgument,
                 file.path + ": sops cannot decrypt it with the keys of spec.decryption: " +
                     OneLine(workspace.Relative(result->err)));
  }
  return std::move(result->out);
}

std::vector<std::string> SecretValuesOf(const std::string& path, const std::string& encrypted,
                                        const std::string& plaintext) {
  std::vector<std::string> out;
  auto is_cipher = [](const std::string& v) { return v.rfind("ENC[", 0) == 0; };
  const std::string format = SopsFormatOf(path, encrypted);
  if (format == "binary") return {plaintext};  // one opaque value
  if (format == "dotenv" || format == "ini") {
    std::map<std::string, bool> encrypted_keys;
    auto lines = [](const std::string& text,
                    const std::function<void(std::string, std::string)>& f) {
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        if (auto eq = line.find('=');
            eq != std::string::npos && !line.empty() && line[0] != '#' && line[0] != ';') {
          auto trim = [](std::string t) {
            while (!t.empty() && t.back() == ' ') t.pop_back();
            while (!t.empty() && t.front() == ' ') t.erase(0, 1);
            return t;
          };
          f(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
        }
        start = end + 1;
      }
    };
    lines(encrypted, [&](std::string k, std::string v) { encrypted_keys[k] = is_cipher(v); });
    lines(plaintext, [&](std::string k, std::string v) {
      if (encrypted_keys[k]) out.push_back(std::move(v));
    });
    return out;
  }
  auto before = yaml::ParseDocumentsWithLines(encrypted, path);
  auto after = yaml::ParseDocumentsWithLines(plaintext, path);
  if (!before.ok() || !after.ok()) return out;
  // Walks both trees together; sops keeps the shape and drops only the `sops` metadata.
  std::function<void(const Json&, const Json&)> walk = [&](const Json& e, const Json& p) {
    if (e.is_string() && p.is_string()) {
      if (is_cipher(e.get<std::string>())) out.push_back(p.get<std::string>());
    } else if (e.is_object() && p.is_object()) {
      for (const auto& [k, v] : p.items()) {
        if (e.contains(k)) walk(e[k], v);
      }
    } else if (e.is_array() && p.is_array()) {
      for (size_t i = 0; i < std::min(e.size(), p.size()); ++i) walk(e[i], p[i]);
    } else if (e.is_string() && is_cipher(e.get<std::string>())) {
      CollectLeaves(p, &out);  // a number or bool that was encrypted
      if (!p.is_structured()) out.push_back(p.dump());
    }
  };
  for (size_t i = 0; i < std::min(before->size(), after->size()); ++i) {
    walk((*before)[i].value, (*after)[i].value);
  }
  return out;
}

std::vector<std::string> FormsOf(const std::string& value) {
  std::vector<std::string> out = {value};
  size_t start = 0;
  while (value.find('\n') != std::string::npos && start < value.size()) {
    size_t end = value.find('\n', start);
    if (end == std::string::npos) end = value.size();
    std::string line = value.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
    if (!line.empty()) out.push_back(line);
    start = end + 1;
  }
  std::string escaped = Json(value).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (escaped.size() >= 2) escaped = escaped.substr(1, escaped.size() - 2);
  if (escaped != value) out.push_back(escaped);
  out.push_back(Base64Encode(value));
  return out;
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  std::vector<std::string> sorted;
  for (const auto& s : secrets) {
    if (s.size() >= 3) sorted.push_back(s);
  }
  // Longest first, so a value containing another is replaced whole.
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& s : sorted) {
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 3)) {
      text.replace(at, s.size(), "***");
    }
  }
  return text;
}

void ScrubAll(Json* value, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return;
  if (value->is_string()) {
    *value = Scrub(value->get<std::string>(), secrets);
  } else if (value->is_structured()) {
    for (auto& v : *value) ScrubAll(&v, secrets);
  }
}

}  // namespace plumbline::render

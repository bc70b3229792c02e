#include "render/sops.h"

#include <algorithm>
#include <functional>
#include <map>

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

std::string SopsFormatOf(const std::string& path) {
  if (HasSuffix(path, ".yaml") || HasSuffix(path, ".yml")) return "yaml";
  if (HasSuffix(path, ".json")) return "json";
  if (HasSuffix(path, ".env")) return "dotenv";
  return "";
}

bool IsSopsEncrypted(const std::string& path, const std::string& content) {
  const std::string format = SopsFormatOf(path);
  if (format.empty() || content.find("sops") == std::string::npos ||
      content.find("mac") == std::string::npos) {
    return false;
  }
  if (format == "dotenv") {
    return content.rfind("sops_mac=", 0) == 0 || content.find("\nsops_mac=") != std::string::npos;
  }
  auto docs = yaml::ParseDocumentsWithLines(content, path);
  if (!docs.ok()) return false;  // not ours to judge: the renderer reports it
  return std::any_of(docs->begin(), docs->end(),
                     [](const auto& doc) { return IsSopsMetadata(doc.value); });
}

Result<std::string> SopsDecrypt(const source::File& file, const Workspace& workspace,
                                const std::string& age_keys, const RenderOptions& options) {
  const std::string format = SopsFormatOf(file.path);
  SubprocessOptions run;
  // Only the Application's keys: no HOME with key files, no cloud credentials of ours.
  run.inherit_env = false;
  run.extra_env = {{"SOPS_AGE_KEY", age_keys},
                   {"HOME", workspace.home()},
                   {"XDG_CONFIG_HOME", workspace.home()},
                   {"SOPS_DISABLE_VERSION_CHECK", "1"}};
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
  if (SopsFormatOf(path) == "dotenv") {
    std::map<std::string, bool> encrypted_keys;
    auto lines = [](const std::string& text,
                    const std::function<void(std::string, std::string)>& f) {
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        if (auto eq = line.find('='); eq != std::string::npos && !line.empty() && line[0] != '#') {
          f(line.substr(0, eq), line.substr(eq + 1));
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

}  // namespace plumbline::render

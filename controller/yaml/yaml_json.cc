#include "yaml/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace plumbline::yaml {
namespace {

constexpr char kStrTag[] = "tag:yaml.org,2002:str";

std::string Where(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

bool OneOf(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (s == o) return true;
  }
  return false;
}

// Integers as go-yaml v2 reads them: optional sign, 0x/0o/0b/leading-0 octal, '_' ignored.
bool ParseInt(std::string s, Json* out) {
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return false;
  bool negative = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i = 1;
  }
  int base = 10;
  if (s.size() > i + 1 && s[i] == '0') {
    char p = s[i + 1];
    if (p == 'x' || p == 'X') base = 16, i += 2;
    else if (p == 'o' || p == 'O') base = 8, i += 2;
    else if (p == 'b' || p == 'B') base = 2, i += 2;
    else base = 8, i += 1;
  }
  std::string digits = s.substr(i);
  if (digits.empty()) return false;
  for (char c : digits) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : std::isxdigit(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10
                                                          : 99;
    if (d >= base) return false;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long magnitude = std::strtoull(digits.c_str(), &end, base);
  if (errno == ERANGE || *end != '\0') return false;
  if (negative) {
    if (magnitude > 9223372036854775808ULL) return false;
    *out = magnitude == 9223372036854775808ULL ? INT64_MIN : -static_cast<int64_t>(magnitude);
  } else if (magnitude <= INT64_MAX) {
    *out = static_cast<int64_t>(magnitude);
  } else {
    *out = static_cast<uint64_t>(magnitude);
  }
  return true;
}

bool ParseFloat(std::string s, double* out) {
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return false;
  // Only decimal forms; strtod would also take "inf", "nan" and hex.
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && !OneOf(std::string(1, c), {".", "e", "E", "+", "-"})) {
      return false;
    }
  }
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return *end == '\0' && errno != ERANGE;
}

Result<Json> ResolvePlainScalar(const std::string& s, const std::string& where) {
  if (OneOf(s, {"", "~", "null", "Null", "NULL"})) return Json(nullptr);
  if (OneOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})) {
    return Json(true);
  }
  if (OneOf(s, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})) {
    return Json(false);
  }
  char first = s[0];
  bool numeric_hint = std::isdigit(static_cast<unsigned char>(first)) || first == '+' ||
                      first == '-' || first == '.';
  if (!numeric_hint) return Json(s);
  if (OneOf(s, {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                "-.inf", "-.Inf", "-.INF"})) {
    return Error(ErrorCode::kInvalidArgument, where + ": " + s + " cannot be represented in JSON");
  }
  Json number;
  if (ParseInt(s, &number)) return number;
  double d;
  if (ParseFloat(s, &d)) {
    // JSON has one number type; an integral float is written as an integer, as Go does.
    if (std::floor(d) == d && std::fabs(d) < 9.007199254740992e15) {
      return Json(static_cast<int64_t>(d));
    }
    return Json(d);
  }
  return Json(s);
}

class Converter {
 public:
  explicit Converter(const std::string& source) : source_(source) {}

  Result<Json> Convert(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        return ConvertScalar(node);
      case YAML::NodeType::Sequence: {
        Json array = Json::array();
        for (const auto& item : node) {
          auto converted = Convert(item);
          if (!converted.ok()) return converted;
          array.push_back(std::move(*converted));
        }
        return array;
      }
      case YAML::NodeType::Map:
        return ConvertMap(node);
    }
    return Json(nullptr);
  }

 private:
  Result<Json> ConvertScalar(const YAML::Node& node) {
    const std::string& tag = node.Tag();
    // "!" marks quoted and block scalars: always strings.
    if (tag == "!" || tag == kStrTag) return Json(node.Scalar());
    return ResolvePlainScalar(node.Scalar(), Where(source_, node.Mark()));
  }

  Result<Json> ConvertMap(const YAML::Node& node) {
    Json object = Json::object();
    std::vector<YAML::Node> keep;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        return Error(ErrorCode::kInvalidArgument,
                     Where(source_, key.Mark()) + ": map keys must be scalars");
      }
      if (key.Tag() == "?" && key.Scalar() == "<<") {
        keep.push_back(entry.second);
        continue;
      }
      auto value = Convert(entry.second);
      if (!value.ok()) return value;
      std::string name = key.Scalar();
      if (key.Tag() == "?") {
        // Non-string keys become their JSON text, as sigs.k8s.io/yaml does.
        auto resolved = ResolvePlainScalar(name, Where(source_, key.Mark()));
        if (resolved.ok() && !resolved->is_string()) {
          name = resolved->is_null() ? "null" : resolved->dump();
        }
      }
      if (object.contains(name)) {
        return Error(ErrorCode::kInvalidArgument,
                     Where(source_, key.Mark()) + ": duplicate key \"" + name + "\"");
      }
      object[name] = std::move(*value);
    }
    // Merge keys fill in what the map does not set itself.
    for (const auto& merge : keep) {
      std::vector<YAML::Node> sources;
      if (merge.IsMap()) sources.push_back(merge);
      else if (merge.IsSequence()) for (const auto& m : merge) sources.push_back(m);
      for (const auto& src : sources) {
        if (!src.IsMap()) {
          return Error(ErrorCode::kInvalidArgument,
                       Where(source_, src.Mark()) + ": merge key value must be a map");
        }
        auto converted = ConvertMap(src);
        if (!converted.ok()) return converted;
        for (auto& [k, v] : converted->items()) {
          if (!object.contains(k)) object[k] = v;
        }
      }
    }
    return object;
  }

  const std::string& source_;
};

}  // namespace

Result<std::vector<Document>> ParseDocumentsWithLines(std::string_view text,
                                                      const std::string& source_name) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 Where(source_name, e.mark) + ": invalid YAML: " + e.msg);
  }
  std::vector<Document> out;
  Converter converter(source_name);
  for (const auto& doc : docs) {
    if (doc.IsNull() || !doc.IsDefined()) continue;
    try {
      auto converted = converter.Convert(doc);
      if (!converted.ok()) return converted.error();
      out.push_back({std::move(*converted), doc.Mark().is_null() ? 0 : doc.Mark().line + 1});
    } catch (const YAML::Exception& e) {
      return Error(ErrorCode::kInvalidArgument,
                   Where(source_name, e.mark) + ": invalid YAML: " + e.msg);
    }
  }
  return out;
}

Result<std::vector<Json>> ParseDocuments(std::string_view text, const std::string& source_name) {
  auto docs = ParseDocumentsWithLines(text, source_name);
  if (!docs.ok()) return docs.error();
  std::vector<Json> out;
  for (auto& d : *docs) out.push_back(std::move(d.value));
  return out;
}

Result<Json> ParseDocument(std::string_view text, const std::string& source_name) {
  auto docs = ParseDocuments(text, source_name);
  if (!docs.ok()) return docs.error();
  if (docs->empty()) return Json::object();
  if (docs->size() > 1) {
    return Error(ErrorCode::kInvalidArgument,
                 source_name + ": expected one YAML document, found " +
                     std::to_string(docs->size()));
  }
  return std::move(docs->front());
}

namespace {

void Emit(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = v.begin(); it != v.end(); ++it) {
        out << YAML::Key;
        Emit(out, Json(it.key()));
        out << YAML::Value;
        Emit(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      auto plain = ResolvePlainScalar(s, "");
      const bool reads_back = plain.ok() && plain->is_string() && *plain == s;
      if (reads_back) {
        out << s;
      } else {
        out << YAML::DoubleQuoted << s;
      }
      break;
    }
    case Json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();  // numbers and booleans as JSON writes them
  }
}

}  // namespace

std::string ToYaml(const Json& value) {
  YAML::Emitter out;
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace plumbline::yaml

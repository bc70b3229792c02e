#include "yaml/yaml_json.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>

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
    if (p == 'x' || p == 'X')
      base = 16, i += 2;
    else if (p == 'o' || p == 'O')
      base = 8, i += 2;
    else if (p == 'b' || p == 'B')
      base = 2, i += 2;
    else
      base = 8, i += 1;
  }
  std::string digits = s.substr(i);
  if (digits.empty()) return false;
  for (char c : digits) {
    int d = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
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
    if (!std::isdigit(static_cast<unsigned char>(c)) &&
        !OneOf(std::string(1, c), {".", "e", "E", "+", "-"})) {
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
  if (OneOf(s, {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
                "-.Inf", "-.INF"})) {
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

// Limits that keep a small file from becoming a large value (CVE-2019-11253 and its relatives).
//
// Aliases follow go-yaml's rule, the one kubectl reads manifests with: once more than 100 of
// more than 1,000 nodes come from aliases, the share that aliases may produce falls from 99% for
// up to 400,000 nodes to 10% at 4,000,000, so aliases add at most about 400,000 nodes. The same
// rule bounds the scalar bytes that aliases copy (99% up to 4 MiB, 10% at 40 MiB, checked past
// 256 KiB), which node counts miss when one large string is repeated. Both count the whole stream,
// not each document, so splitting a bomb into documents gains nothing.
constexpr uint64_t kAliasNodesLow = 400000;
constexpr uint64_t kAliasNodesHigh = 4000000;
constexpr uint64_t kAliasBytesLow = 4 << 20;
constexpr uint64_t kAliasBytesHigh = 40 << 20;
constexpr uint64_t kAliasBytesFloor = 256 << 10;
// Nesting, counted in collections and including what aliases bring in. Kubernetes objects stay
// within a few dozen levels (deep CRD schemas included); yaml-cpp's own parser gives up near 500
// with a bare "bad file", so this limit, met first, is the one people see, with the line. It also
// bounds the recursion of the conversion below.
constexpr size_t kMaxDepth = 400;
// Every node the parser reports stands for some of the input's bytes (an empty value for at least
// a ':', '-', '?' or ','), so more nodes than this bound mean the parser is looping: yaml-cpp 0.7
// reports null nodes forever for `{},` (found by test/fuzz).
constexpr size_t kNodesPerInputByte = 4;

double AllowedAliasShare(uint64_t total, uint64_t low, uint64_t high) {
  if (total <= low) return 0.99;
  if (total >= high) return 0.10;
  return 0.99 - 0.89 * static_cast<double>(total - low) / static_cast<double>(high - low);
}

// One parsed node. An alias keeps the index of the node it names, so expanding it is a choice
// made (and paid for) by the converter, never by the parser.
struct Node {
  enum class Kind : uint8_t { kNull, kScalar, kSequence, kMap, kAlias };
  Kind kind = Kind::kNull;
  YAML::Mark mark;
  std::string tag;               // scalars
  std::string value;             // scalars
  std::vector<size_t> children;  // sequence items; map keys and values alternating
  size_t target = 0;             // aliases
};

// What a node becomes once its aliases are expanded.
struct Size {
  uint64_t nodes = 0;
  uint64_t bytes = 0;
  size_t depth = 0;  // collections on the deepest path
};

// Thrown from inside yaml-cpp's parser to stop it at the first refused event.
struct Refused {
  Error error;
};

// Builds the node graph from yaml-cpp's events, checking cycles, expansion and depth as each
// alias and collection arrives. One instance per stream; not thread-safe.
class GraphBuilder : public YAML::EventHandler {
 public:
  GraphBuilder(const std::string& source, size_t input_bytes)
      : source_(source), max_nodes_(kNodesPerInputByte * input_bytes + 16) {}

  std::vector<Node>& nodes() { return nodes_; }
  // Per document, the index of its root node (absent for an empty document).
  std::vector<std::optional<size_t>>& roots() { return roots_; }

  void OnDocumentStart(const YAML::Mark&) override {
    anchors_.clear();  // anchors are scoped to their document
    roots_.emplace_back();
  }
  void OnDocumentEnd() override {}

  void OnAnchor(const YAML::Mark&, const std::string& name) override { anchor_name_ = name; }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    size_t i = Add(Node::Kind::kNull, mark);
    Leaf(i, anchor, {1, 0, 0}, false);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    size_t i = Add(Node::Kind::kScalar, mark);
    nodes_[i].tag = tag;
    nodes_[i].value = value;
    Leaf(i, anchor, {1, value.size(), 0}, false);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) Refuse(mark, "alias to an unknown anchor");
    const Anchor& target = it->second;
    if (!target.closed) {
      Refuse(mark, "alias *" + target.name + " is inside its own anchor &" + target.name +
                       ": a cycle cannot be expanded");
    }
    if (open_.size() + target.size.depth > kMaxDepth) {
      Refuse(mark, "alias *" + target.name + " nests deeper than " + std::to_string(kMaxDepth) +
                       " levels");
    }
    alias_nodes_ += target.size.nodes;
    alias_bytes_ += target.size.bytes;
    total_nodes_ += target.size.nodes;
    total_bytes_ += target.size.bytes;
    CheckExpansion(mark);
    size_t i = Add(Node::Kind::kAlias, mark);
    nodes_[i].target = target.node;
    Leaf(i, YAML::NullAnchor, target.size, true);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(Add(Node::Kind::kSequence, mark), anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(Add(Node::Kind::kMap, mark), anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Anchor {
    size_t node = 0;
    std::string name;
    bool closed = false;
    Size size;
  };
  struct Frame {
    size_t node;
    YAML::anchor_t anchor;
    Size size;  // of the children so far
  };

  [[noreturn]] void Refuse(const YAML::Mark& mark, const std::string& what) {
    throw Refused{Error(ErrorCode::kInvalidArgument, Where(source_, mark) + ": " + what)};
  }

  size_t Add(Node::Kind kind, const YAML::Mark& mark) {
    size_t i = nodes_.size();
    if (i >= max_nodes_) {
      Refuse(mark, "the YAML parser reported more nodes than the file can hold (a parser loop)");
    }
    nodes_.push_back(Node{kind, mark, {}, {}, {}, 0});
    if (!open_.empty()) {
      nodes_[open_.back().node].children.push_back(i);
    } else if (!roots_.empty() && !roots_.back()) {
      roots_.back() = i;
    }
    return i;
  }

  void NameAnchor(YAML::anchor_t anchor, size_t node) {
    if (anchor == YAML::NullAnchor) return;
    anchors_[anchor] = Anchor{node, std::move(anchor_name_), false, {}};
    anchor_name_.clear();
  }

  void Leaf(size_t node, YAML::anchor_t anchor, Size size, bool from_alias) {
    if (!from_alias) {
      ++total_nodes_;
      total_bytes_ += size.bytes;
    }
    NameAnchor(anchor, node);
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor].closed = true;
      anchors_[anchor].size = size;
    }
    AddToParent(size);
  }

  void Open(size_t node, YAML::anchor_t anchor) {
    ++total_nodes_;
    NameAnchor(anchor, node);
    open_.push_back({node, anchor, {}});
    if (open_.size() > kMaxDepth) {
      Refuse(nodes_[node].mark, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
  }

  void Close() {
    Frame frame = open_.back();
    open_.pop_back();
    Size size{frame.size.nodes + 1, frame.size.bytes, frame.size.depth + 1};
    if (frame.anchor != YAML::NullAnchor) {
      anchors_[frame.anchor].closed = true;
      anchors_[frame.anchor].size = size;
    }
    AddToParent(size);
  }

  void AddToParent(const Size& size) {
    if (open_.empty()) return;
    Size& parent = open_.back().size;
    parent.nodes += size.nodes;
    parent.bytes += size.bytes;
    parent.depth = std::max(parent.depth, size.depth);
  }

  void CheckExpansion(const YAML::Mark& mark) {
    if (alias_nodes_ > 100 && total_nodes_ > 1000 &&
        static_cast<double>(alias_nodes_) / static_cast<double>(total_nodes_) >
            AllowedAliasShare(total_nodes_, kAliasNodesLow, kAliasNodesHigh)) {
      Refuse(mark, "aliases expand too far: " + std::to_string(alias_nodes_) + " of " +
                       std::to_string(total_nodes_) + " nodes would come from aliases");
    }
    if (alias_bytes_ > kAliasBytesFloor &&
        static_cast<double>(alias_bytes_) / static_cast<double>(total_bytes_) >
            AllowedAliasShare(total_bytes_, kAliasBytesLow, kAliasBytesHigh)) {
      Refuse(mark, "aliases expand too far: " + std::to_string(alias_bytes_) + " of " +
                       std::to_string(total_bytes_) + " bytes would come from aliases");
    }
  }

  const std::string& source_;
  const size_t max_nodes_;
  std::vector<Node> nodes_;
  std::vector<std::optional<size_t>> roots_;
  std::vector<Frame> open_;
  std::map<YAML::anchor_t, Anchor> anchors_;
  std::string anchor_name_;
  uint64_t total_nodes_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t alias_nodes_ = 0;
  uint64_t alias_bytes_ = 0;
};

// Turns the checked node graph into JSON. Recursion is bounded by kMaxDepth, and expansion by
// the builder's checks.
class Converter {
 public:
  Converter(const std::vector<Node>& nodes, const std::string& source)
      : nodes_(nodes), source_(source) {}

  Result<Json> Convert(size_t index) {
    const Node& node = Resolve(index);
    switch (node.kind) {
      case Node::Kind::kNull:
      case Node::Kind::kAlias:
        return Json(nullptr);
      case Node::Kind::kScalar:
        return ConvertScalar(node);
      case Node::Kind::kSequence: {
        Json array = Json::array();
        for (size_t item : node.children) {
          auto converted = Convert(item);
          if (!converted.ok()) return converted;
          array.push_back(std::move(*converted));
        }
        return array;
      }
      case Node::Kind::kMap:
        return ConvertMap(node);
    }
    return Json(nullptr);
  }

 private:
  // Aliases point at earlier nodes, so this ends.
  const Node& Resolve(size_t index) const {
    while (nodes_[index].kind == Node::Kind::kAlias) index = nodes_[index].target;
    return nodes_[index];
  }

  Result<Json> ConvertScalar(const Node& node) {
    // "!" marks quoted and block scalars: always strings.
    if (node.tag == "!" || node.tag == kStrTag) return Json(node.value);
    return ResolvePlainScalar(node.value, Where(source_, node.mark));
  }

  Result<Json> ConvertMap(const Node& node) {
    Json object = Json::object();
    std::vector<const Node*> keep;
    for (size_t i = 0; i + 1 < node.children.size(); i += 2) {
      const Node& key = Resolve(node.children[i]);
      const Node& value_node = Resolve(node.children[i + 1]);
      if (key.kind != Node::Kind::kScalar) {
        return Error(ErrorCode::kInvalidArgument,
                     Where(source_, nodes_[node.children[i]].mark) + ": map keys must be scalars");
      }
      if (key.tag == "?" && key.value == "<<") {
        keep.push_back(&value_node);
        continue;
      }
      auto value = Convert(node.children[i + 1]);
      if (!value.ok()) return value;
      std::string name = key.value;
      if (key.tag == "?") {
        // Non-string keys become their JSON text, as sigs.k8s.io/yaml does.
        auto resolved = ResolvePlainScalar(name, Where(source_, key.mark));
        if (resolved.ok() && !resolved->is_string()) {
          name = resolved->is_null() ? "null" : resolved->dump();
        }
      }
      if (object.contains(name)) {
        return Error(ErrorCode::kInvalidArgument, Where(source_, nodes_[node.children[i]].mark) +
                                                      ": duplicate key \"" + name + "\"");
      }
      object[name] = std::move(*value);
    }
    // Merge keys fill in what the map does not set itself.
    for (const Node* merge : keep) {
      std::vector<const Node*> sources;
      if (merge->kind == Node::Kind::kMap) {
        sources.push_back(merge);
      } else if (merge->kind == Node::Kind::kSequence) {
        for (size_t m : merge->children) sources.push_back(&Resolve(m));
      }
      for (const Node* src : sources) {
        if (src->kind != Node::Kind::kMap) {
          return Error(ErrorCode::kInvalidArgument,
                       Where(source_, src->mark) + ": merge key value must be a map");
        }
        auto converted = ConvertMap(*src);
        if (!converted.ok()) return converted;
        for (auto& [k, v] : converted->items()) {
          if (!object.contains(k)) object[k] = std::move(v);
        }
      }
    }
    return object;
  }

  const std::vector<Node>& nodes_;
  const std::string& source_;
};

}  // namespace

Result<std::vector<Document>> ParseDocumentsWithLines(std::string_view text,
                                                      const std::string& source_name) {
  GraphBuilder builder(source_name, text.size());
  try {
    std::istringstream input{std::string(text)};
    YAML::Parser parser(input);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const Refused& refused) {
    return refused.error;
  } catch (const YAML::Exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 Where(source_name, e.mark) + ": invalid YAML: " + e.msg);
  }
  std::vector<Document> out;
  Converter converter(builder.nodes(), source_name);
  for (const auto& root : builder.roots()) {
    if (!root || builder.nodes()[*root].kind == Node::Kind::kNull) continue;
    auto converted = converter.Convert(*root);
    if (!converted.ok()) return converted.error();
    // A tagged empty scalar ("!x") is null too: skipped like any empty document, so that what
    // ToYaml writes for it reads back the same.
    if (converted->is_null()) continue;
    const YAML::Mark& mark = builder.nodes()[*root].mark;
    out.push_back({std::move(*converted), mark.is_null() ? 0 : mark.line + 1});
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
    return Error(ErrorCode::kInvalidArgument, source_name + ": expected one YAML document, found " +
                                                  std::to_string(docs->size()));
  }
  return std::move(docs->front());
}

namespace {

// Whether `s` can be written as a plain scalar and read back as the same characters. yaml-cpp's
// emitter writes some strings plain that do not read back ("--- x" starts a document, a '\r' is
// lost), so only a conservative shape is written plain: no control characters, no space at
// either end, a first character that starts no YAML syntax, no flow indicators, and no ": " or
// " #". Everything else is double-quoted.
bool SafePlain(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  const unsigned char first = s.front();
  if (!(std::isalnum(first) || first == '/' || first == '_' || first >= 0x80)) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) return false;
    if (std::strchr("[]{},|>`", c) != nullptr) return false;
    if (c == ':' && i + 1 < s.size() && s[i + 1] == ' ') return false;
    if (c == '#' && s[i - 1] == ' ') return false;
  }
  return true;
}

void Emit(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = v.begin(); it != v.end(); ++it) {
        // YAML reads an implicit key of at most 1,024 characters; longer ones (escaping can
        // double a key) are written as explicit "? key" entries.
        if (it.key().size() > 256) out << YAML::LongKey;
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
      const bool reads_back = SafePlain(s) && plain.ok() && plain->is_string() && *plain == s;
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

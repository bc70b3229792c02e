#include "render/render.h"

#include "yaml/yaml_json.h"

namespace plumbline::render {
namespace {

bool HasSuffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Status CheckObject(const Json& obj, const std::string& where) {
  if (!obj.is_object()) {
    return Error(ErrorCode::kInvalidArgument, where + ": a manifest must be a map");
  }
  for (const char* field : {"apiVersion", "kind"}) {
    if (!obj.contains(field) || obj[field].is_null()) {
      return Error(ErrorCode::kInvalidArgument, where + ": object has no " + field);
    }
    if (!obj[field].is_string() || obj[field].get<std::string>().empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   where + ": " + field + " must be a non-empty string");
    }
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object() ||
      !obj["metadata"].contains("name") || !obj["metadata"]["name"].is_string() ||
      obj["metadata"]["name"].get<std::string>().empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 where + ": " + obj["kind"].get<std::string>() + " has no metadata.name");
  }
  if (obj["metadata"].contains("namespace") && !obj["metadata"]["namespace"].is_string()) {
    return Error(ErrorCode::kInvalidArgument, where + ": metadata.namespace must be a string");
  }
  return Status::Ok();
}

bool IsKustomization(const std::string& base) {
  return base == "kustomization.yaml" || base == "kustomization.yml" || base == "Kustomization";
}

// Appends the objects of one YAML (or JSON) stream, counting its documents into `documents`.
Status AppendObjects(const source::File& file, const RenderOptions& options, size_t* documents_seen,
                     std::vector<RenderedObject>* out_objects) {
  size_t& documents = *documents_seen;
  std::vector<RenderedObject>& out = *out_objects;
  if (file.content.size() > options.max_file_bytes) {
    return Error(ErrorCode::kInvalidArgument,
                 file.path + ": file is " + std::to_string(file.content.size()) +
                     " bytes, over the limit of " + std::to_string(options.max_file_bytes));
  }
  // JSON is YAML, so one parser reads both, with the same line numbers in errors.
  auto docs = yaml::ParseDocumentsWithLines(file.content, file.path);
  if (!docs.ok()) return docs.error();
  documents += docs->size();
  if (documents > options.max_documents) {
    return Error(ErrorCode::kInvalidArgument, file.path + ": more than " +
                                                  std::to_string(options.max_documents) +
                                                  " YAML documents under the path");
  }
  for (auto& doc : *docs) {
    std::string where = file.path + ":" + std::to_string(doc.line);
    if (doc.value.is_null()) continue;
    // A v1 List holds objects: flatten it, as kubectl does.
    // Any document may hold anything: compare without value(), which throws on a non-string.
    if (doc.value.is_object() && doc.value.contains("kind") && doc.value["kind"] == "List" &&
        doc.value.contains("items")) {
      if (!doc.value["items"].is_array()) {
        return Error(ErrorCode::kInvalidArgument, where + ": List items must be a list");
      }
      for (auto& item : doc.value["items"]) {
        if (auto s = CheckObject(item, where); !s.ok()) return s;
        out.push_back({std::move(item), where});
      }
    } else {
      if (auto s = CheckObject(doc.value, where); !s.ok()) return s;
      out.push_back({std::move(doc.value), where});
    }
    if (out.size() > options.max_objects) {
      return Error(
          ErrorCode::kInvalidArgument,
          where + ": more than " + std::to_string(options.max_objects) + " objects under the path");
    }
  }
  return Status::Ok();
}

}  // namespace

bool Reads(const std::string& path) {
  const std::string base = BaseName(path);
  return IsKustomization(base) || HasSuffix(base, ".yaml") || HasSuffix(base, ".yml") ||
         HasSuffix(base, ".json");
}

source::ReadOptions ReadOptionsFor(const RenderOptions& options) {
  source::ReadOptions read;
  read.wanted = Reads;
  read.max_file_bytes = options.max_file_bytes;
  return read;
}

Result<std::vector<RenderedObject>> Render(const std::vector<source::File>& files,
                                           const RenderOptions& options) {
  std::vector<RenderedObject> out;
  size_t documents = 0;
  for (const auto& file : files) {
    std::string base = BaseName(file.path);
    if (IsKustomization(base)) {
      return Error(ErrorCode::kInvalidArgument,
                   file.path +
                       ": a kustomization below the Application's path; set spec.source.path to "
                       "its directory to build it with kustomize");
    }
    if (base == "Chart.yaml") {
      return Error(ErrorCode::kInvalidArgument,
                   file.path +
                       ": a Helm chart below the Application's path; set spec.source.path to its "
                       "directory to render it with helm");
    }
    bool yaml = HasSuffix(base, ".yaml") || HasSuffix(base, ".yml");
    bool json = HasSuffix(base, ".json");
    if (!yaml && !json) continue;
    if (auto s = AppendObjects(file, options, &documents, &out); !s.ok()) return s.error();
  }
  return out;
}

Result<std::vector<RenderedObject>> RenderStream(const source::File& stream,
                                                 const RenderOptions& options) {
  std::vector<RenderedObject> out;
  size_t documents = 0;
  if (auto s = AppendObjects(stream, options, &documents, &out); !s.ok()) return s.error();
  return out;
}

Result<std::vector<source::File>> DeletedPathAsEmpty(Result<std::vector<source::File>> read,
                                                     bool allow_empty) {
  if (allow_empty && !read.ok() && read.error().code() == ErrorCode::kNotFound) {
    return std::vector<source::File>{};
  }
  return read;
}

}  // namespace plumbline::render

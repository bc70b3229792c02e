// The YAML seam: turns YAML text into JSON values the way kubectl reads manifests
// (YAML 1.1 plain scalars: `yes`, `on`, `off` are booleans; quoted scalars stay strings;
// merge keys `<<` are resolved; duplicate keys are rejected). yaml-cpp stays behind this file.
// Input comes from any committer, so it is bounded: an alias inside its own anchor (a cycle),
// aliases that expand far beyond the file (go-yaml's rule, as kubectl has it since
// CVE-2019-11253, on nodes and on bytes) and nesting deeper than 400 levels are errors naming
// the file and line, found before anything is expanded.
// Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json.h"

namespace plumbline::yaml {

// One JSON value per document of a multi-document stream; empty and comment-only documents are
// skipped. Errors name `source_name` and the 1-based line and column.
Result<std::vector<Json>> ParseDocuments(std::string_view text, const std::string& source_name);

struct Document {
  Json value;
  int line = 0;  // 1-based line where the document starts
};
// As ParseDocuments, keeping where each document starts.
Result<std::vector<Document>> ParseDocumentsWithLines(std::string_view text,
                                                      const std::string& source_name);

// Exactly one document (an empty stream gives an empty object).
Result<Json> ParseDocument(std::string_view text, const std::string& source_name);

// Block-style YAML for people (`plumbline get -o yaml`, diffs): map keys in JSON's order (sorted),
// strings quoted wherever a plain scalar would read back as something else.
std::string ToYaml(const Json& value);

}  // namespace plumbline::yaml

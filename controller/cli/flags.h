// A small command-line flag parser: `--name value`, `--name=value` and boolean `--name`; a
// one-letter flag takes one dash (`-n value`, `-A`).
// Each command declares its flags with defaults and help text; `--help` prints them.
// Not thread-safe; used once per process.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace plumbline::cli {

class Flags {
 public:
  explicit Flags(std::string usage) : usage_(std::move(usage)) {}

  // Declares a flag. `is_bool` flags take no value on the command line.
  Flags& Add(const std::string& name, std::string default_value, std::string help,
             bool is_bool = false);
  // Parses argv; positional arguments are kept in order. Unknown flags are an error.
  Status Parse(const std::vector<std::string>& args);

  const std::string& Get(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  Result<double> GetDouble(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help_requested() const { return help_; }
  std::string Help() const;

 private:
  struct Flag {
    std::string value;
    std::string default_value;
    std::string help;
    bool is_bool = false;
  };
  std::string usage_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace plumbline::cli

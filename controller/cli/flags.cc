#include "cli/flags.h"

#include <cstdlib>

namespace plumbline::cli {

Flags& Flags::Add(const std::string& name, std::string default_value, std::string help,
                  bool is_bool) {
  flags_[name] = Flag{default_value, default_value, std::move(help), is_bool};
  order_.push_back(name);
  return *this;
}

Status Flags::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      continue;
    }
    // One-letter flags take one dash (-n NS, -A, -o json), as in kubectl.
    const bool short_flag =
        arg.size() >= 2 && arg[0] == '-' && arg[1] != '-' && (arg.size() == 2 || arg[2] == '=');
    if (!short_flag && (arg.rfind("--", 0) != 0 || arg == "--")) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(short_flag ? 1 : 2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      return Error(ErrorCode::kInvalidArgument, "unknown flag " + arg.substr(0, arg.find('=')));
    }
    if (it->second.is_bool) {
      if (has_value && value != "true" && value != "false") {
        return Error(ErrorCode::kInvalidArgument,
                     "flag --" + name + " is true or false, not \"" + value + "\"");
      }
      it->second.value = has_value ? value : "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return Error(ErrorCode::kInvalidArgument, "flag --" + name + " needs a value");
      }
      value = args[++i];
    }
    it->second.value = value;
  }
  return Status::Ok();
}

const std::string& Flags::Get(const std::string& name) const { return flags_.at(name).value; }

bool Flags::GetBool(const std::string& name) const {
  const std::string& v = Get(name);
  return v == "true" || v == "1" || v == "yes";
}

Result<double> Flags::GetDouble(const std::string& name) const {
  const std::string& v = Get(name);
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') {
    return Error(ErrorCode::kInvalidArgument, "flag --" + name + ": \"" + v + "\" is not a number");
  }
  return d;
}

std::string Flags::Help() const {
  std::string out = usage_ + "\n";
  if (!order_.empty()) out += "\nFlags:\n";
  for (const auto& name : order_) {
    const Flag& f = flags_.at(name);
    std::string left = (name.size() == 1 ? "  -" : "  --") + name + (f.is_bool ? "" : " VALUE");
    if (left.size() < 30) left.resize(30, ' ');
    out += left + " " + f.help;
    if (!f.default_value.empty()) out += " (default \"" + f.default_value + "\")";
    out += "\n";
  }
  return out;
}

}  // namespace plumbline::cli

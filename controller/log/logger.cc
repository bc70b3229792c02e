#include "log/logger.h"

#include <chrono>
#include <sstream>

#include "common/json.h"
#include "common/mutex.h"
#include "common/redact.h"
#include "common/rfc3339.h"

namespace plumbline::log {
namespace {

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

// Quotes a text-format value when it has spaces or quotes, so `key=value` stays parseable.
std::string TextValue(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \"=\n\t") == std::string::npos) return v;
  return Json(v).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

void Logger::Log(Level level, const std::string& msg, std::initializer_list<Field> fields) {
  if (level < min_level_) return;
  std::string ts = FormatRfc3339(std::chrono::system_clock::now());
  std::string line;
  // Errors from git and the API may quote a repository URL with its credentials.
  if (format_ == Format::kJson) {
    Json j = {{"ts", ts}, {"level", LevelName(level)}, {"msg", SafeText(msg)}};
    for (const auto& [k, v] : fields) j[k] = SafeText(v);
    line = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  } else {
    line = ts + " " + LevelName(level) + " " + SafeText(msg);
    for (const auto& [k, v] : fields) line += " " + k + "=" + TextValue(SafeText(v));
  }
  line += '\n';
  MutexLock lock(mu_);
  out_ << line << std::flush;
}

}  // namespace plumbline::log

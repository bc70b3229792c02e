// Structured logs: one line per event, as JSON (`{"ts":...,"level":"info","msg":...,"app":...}`)
// or as text (`ts level msg key=value ...`). Credentials in URLs are redacted and bytes that are
// not UTF-8 replaced, in the message and every field. Thread-safe; lines are written whole.
#pragma once

#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>

#include "common/mutex.h"

namespace plumbline::log {

enum class Format { kJson, kText };
enum class Level { kDebug, kInfo, kWarn, kError };

using Field = std::pair<std::string, std::string>;

class Logger {
 public:
  Logger(std::ostream& out, Format format, Level min_level = Level::kInfo)
      : out_(out), format_(format), min_level_(min_level) {}

  void Log(Level level, const std::string& msg, std::initializer_list<Field> fields = {});
  void Info(const std::string& msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kInfo, msg, fields);
  }
  void Warn(const std::string& msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kWarn, msg, fields);
  }
  void Error(const std::string& msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kError, msg, fields);
  }
  void Debug(const std::string& msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kDebug, msg, fields);
  }

 private:
  std::ostream& out_;
  const Format format_;
  const Level min_level_;
  Mutex mu_;
};

}  // namespace plumbline::log

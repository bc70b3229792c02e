// Errors are values: every fallible call returns an Error or a Result<T>, never throws.
//
// An Error carries a code (what kind of failure, so callers can branch on it), a message for
// people, and for Kubernetes API failures the HTTP status and the API's machine-readable reason.
// Immutable once built; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace plumbline {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // bad input: a malformed file, flag or object
  kNotFound,
  kAlreadyExists,
  kConflict,
  kGone,  // a watch resourceVersion too old: re-list
  kForbidden,
  kUnauthorized,
  kInvalid,  // the API server rejected an object (422)
  kTimeout,
  kUnavailable,  // could not reach a server, or it answered 5xx
  kCancelled,
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error() = default;
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  // For failures that come from an HTTP API: the status (0 when no response came) and the
  // reason the server gave (e.g. "NotFound", "AlreadyExists", "Invalid").
  Error& WithHttp(int status, std::string reason) {
    http_status_ = status;
    reason_ = std::move(reason);
    return *this;
  }

  // Returns a copy whose message starts with `context: `, e.g. "Deployment web/api: ...".
  Error Wrap(const std::string& context) const;

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  int http_status() const { return http_status_; }
  const std::string& reason() const { return reason_; }
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kInternal;
  std::string message_;
  int http_status_ = 0;
  std::string reason_;
};

// Either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : value_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(value_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& { return std::get<T>(value_); }
  T& value() & { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const { return std::get<Error>(value_); }

 private:
  std::variant<T, Error> value_;
};

// The result of an operation that returns nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace plumbline

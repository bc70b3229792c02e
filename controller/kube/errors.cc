#include "kube/errors.h"

#include "common/json.h"

namespace plumbline::kube {
namespace {

ErrorCode CodeFor(int status, const std::string& reason) {
  if (reason == "NotFound") return ErrorCode::kNotFound;
  if (reason == "AlreadyExists") return ErrorCode::kAlreadyExists;
  if (reason == "Conflict") return ErrorCode::kConflict;
  if (reason == "Gone" || reason == "Expired") return ErrorCode::kGone;
  if (reason == "Forbidden") return ErrorCode::kForbidden;
  if (reason == "Unauthorized") return ErrorCode::kUnauthorized;
  if (reason == "Invalid") return ErrorCode::kInvalid;
  if (reason == "Timeout" || reason == "ServerTimeout") return ErrorCode::kTimeout;
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthorized;
    case 403:
      return ErrorCode::kForbidden;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 410:
      return ErrorCode::kGone;
    case 422:
      return ErrorCode::kInvalid;
    case 408:
    case 504:
      return ErrorCode::kTimeout;
    case 429:
      return ErrorCode::kUnavailable;
    default:
      break;
  }
  if (status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

std::string ReasonForStatus(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace

Error ErrorFromResponse(int http_status, const std::string& body, const std::string& context) {
  std::string reason;
  std::string message;
  Json status = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    reason = status.value("reason", "");
    message = status.value("message", "");
  }
  if (reason.empty()) reason = ReasonForStatus(http_status);
  if (message.empty()) {
    constexpr size_t kMaxBody = 512;
    message = body.empty() ? "the server responded with HTTP " + std::to_string(http_status)
                           : body.substr(0, kMaxBody);
  }
  Error error(CodeFor(http_status, reason), context.empty() ? message : context + ": " + message);
  error.WithHttp(http_status, reason);
  return error;
}

std::string ObjectContext(const std::string& kind, const std::string& ns, const std::string& name) {
  std::string s = kind.empty() ? "object" : kind;
  s += " ";
  if (!ns.empty()) s += ns + "/";
  return s + name;
}

}  // namespace plumbline::kube

// Mapping API responses to errors callers can tell apart.
#include "kube/errors.h"

#include <gtest/gtest.h>

namespace plumbline::kube {
namespace {

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":")" + message +
         R"(","reason":")" + reason + R"(","code":)" + std::to_string(code) + "}";
}

TEST(ErrorFromResponse, TellsTheCommonFailuresApart) {
  struct Case {
    int status;
    const char* reason;
    ErrorCode code;
  } cases[] = {
      {404, "NotFound", ErrorCode::kNotFound},
      {409, "AlreadyExists", ErrorCode::kAlreadyExists},
      {409, "Conflict", ErrorCode::kConflict},
      {410, "Expired", ErrorCode::kGone},
      {410, "Gone", ErrorCode::kGone},
      {403, "Forbidden", ErrorCode::kForbidden},
      {401, "Unauthorized", ErrorCode::kUnauthorized},
      {422, "Invalid", ErrorCode::kInvalid},
      {504, "Timeout", ErrorCode::kTimeout},
      {500, "InternalError", ErrorCode::kUnavailable},
      {429, "TooManyRequests", ErrorCode::kUnavailable},
      {400, "BadRequest", ErrorCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    Error e = ErrorFromResponse(c.status, StatusBody(c.status, c.reason, "msg"), "");
    EXPECT_EQ(e.code(), c.code) << c.status << " " << c.reason;
    EXPECT_EQ(e.http_status(), c.status);
    EXPECT_EQ(e.reason(), c.reason);
  }
}

TEST(ErrorFromResponse, KeepsTheApisMessageAndNamesTheObject) {
  Error e =
      ErrorFromResponse(404, StatusBody(404, "NotFound", "deployments.apps \\\"api\\\" not found"),
                        ObjectContext("Deployment", "web", "api"));
  EXPECT_TRUE(IsNotFound(e));
  EXPECT_EQ(e.message(), "Deployment web/api: deployments.apps \"api\" not found");
}

TEST(ErrorFromResponse, FallsBackToTheStatusCodeWithoutAStatusBody) {
  Error e = ErrorFromResponse(503, "upstream connect error", "");
  EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(e.reason(), "ServiceUnavailable");
  EXPECT_EQ(e.message(), "upstream connect error");
  Error empty = ErrorFromResponse(404, "", "ConfigMap a/b");
  EXPECT_TRUE(IsNotFound(empty));
  EXPECT_EQ(empty.message(), "ConfigMap a/b: the server responded with HTTP 404");
}

TEST(ObjectContext, NamesClusterScopedObjectsWithoutANamespace) {
  EXPECT_EQ(ObjectContext("Namespace", "", "web"), "Namespace web");
  EXPECT_EQ(ObjectContext("ConfigMap", "web", "c"), "ConfigMap web/c");
}

}  // namespace
}  // namespace plumbline::kube

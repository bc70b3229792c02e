// Turns Kubernetes API responses into Errors that callers can branch on: NotFound, Conflict,
// AlreadyExists, Gone, Forbidden, Invalid... The message is the API's own `Status.message`,
// prefixed with the object it concerns ("Deployment web/api: ...").
#pragma once

#include <string>

#include "common/error.h"

namespace plumbline::kube {

// `body` is the response body (usually a metav1.Status); `context` names the object or request.
Error ErrorFromResponse(int http_status, const std::string& body, const std::string& context);

// Builds the "Kind namespace/name" context used in messages.
std::string ObjectContext(const std::string& kind, const std::string& ns, const std::string& name);

inline bool IsNotFound(const Error& e) { return e.code() == ErrorCode::kNotFound; }
inline bool IsConflict(const Error& e) { return e.code() == ErrorCode::kConflict; }
inline bool IsAlreadyExists(const Error& e) { return e.code() == ErrorCode::kAlreadyExists; }
inline bool IsGone(const Error& e) { return e.code() == ErrorCode::kGone; }
inline bool IsForbidden(const Error& e) { return e.code() == ErrorCode::kForbidden; }
inline bool IsInvalid(const Error& e) { return e.code() == ErrorCode::kInvalid; }

}  // namespace plumbline::kube

// Fuzz target: what an unauthenticated client or a tenant controls on the way in to ChatOps and
// tracing: a Slack request's signature headers and form body, the command text, the rules
// ConfigMap's YAML, and a W3C traceparent header. The first byte picks the parser.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "chatops/authz.h"
#include "chatops/command.h"
#include "chatops/slack.h"
#include "trace/context.h"

namespace chatops = plumbline::chatops;
namespace trace = plumbline::trace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: {
      // A signed form: whatever it holds, a command parsed from it names valid Kubernetes names.
      const std::string default_ns = in.ConsumeBool() ? "default" : "";
      auto command =
          chatops::ParseCommand(chatops::ParseForm(in.ConsumeRemainingBytesAsString()), default_ns);
      if (command.ok() && command->verb != chatops::Verb::kHelp) {
        if (!chatops::IsNamespaceName(command->ns) || !chatops::IsApplicationName(command->name))
          __builtin_trap();
        (void)chatops::CommandLine(*command);
      }
      break;
    }
    case 1: {
      // The rules, then a command judged by them.
      const std::string user = in.ConsumeRandomLengthString(16);
      const std::string app = in.ConsumeRandomLengthString(32);
      auto rules = chatops::Authorizer::Parse(in.ConsumeRemainingBytesAsString());
      if (!rules.ok()) break;
      chatops::Command c;
      c.verb = chatops::Verb::kRollback;
      c.user_id = user;
      c.channel_id = "C1";
      c.ns = app.substr(0, app.find('/'));
      c.name = app.find('/') == std::string::npos ? "" : app.substr(app.find('/') + 1);
      (void)rules->Allows(c);
      // No rules grant nothing.
      if (rules->rules().empty() && rules->Allows(c)) __builtin_trap();
      break;
    }
    case 2: {
      const std::string secret = in.ConsumeRandomLengthString(32);
      std::map<std::string, std::string> headers;
      headers["x-slack-request-timestamp"] = in.ConsumeRandomLengthString(24);
      headers["x-slack-signature"] = in.ConsumeRandomLengthString(80);
      const std::string body = in.ConsumeRemainingBytesAsString();
      (void)chatops::VerifySlackRequest(
          secret, headers, body,
          std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
      break;
    }
    default: {
      // A traceparent that parses survives formatting and parsing again unchanged.
      auto parsed = trace::ParseTraceparent(in.ConsumeRemainingBytesAsString());
      if (!parsed) break;
      if (!parsed->valid()) __builtin_trap();
      auto again = trace::ParseTraceparent(trace::FormatTraceparent(*parsed));
      if (!again || again->trace_id != parsed->trace_id || again->span_id != parsed->span_id)
        __builtin_trap();
      break;
    }
  }
  return 0;
}

#include "cli/kube_flags.h"

namespace plumbline::cli {

void AddKubeFlags(Flags& flags) {
  flags.Add("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
      .Add("context", "", "kubeconfig context to use instead of current-context")
      // A safety net against a runaway loop, not the pace of normal work: the API server's
      // priority and fairness decide that, and its 429 answers (with Retry-After) are honoured.
      .Add("kube-qps", "500", "client-side limit on API requests per second (a safety net)")
      .Add("kube-burst", "1000", "burst allowed above --kube-qps")
      .Add("kube-timeout", "30", "seconds to wait for one API request");
}

Result<std::unique_ptr<kube::Client>> ClientFromFlags(const Flags& flags,
                                                      kube::ClientOptions options) {
  auto config = kube::LoadDefaultConfig(flags.Get("kubeconfig"), flags.Get("context"));
  if (!config.ok()) return config.error();
  auto qps = flags.GetDouble("kube-qps");
  auto burst = flags.GetDouble("kube-burst");
  auto timeout = flags.GetDouble("kube-timeout");
  for (const auto* r : {&qps, &burst, &timeout}) {
    if (!r->ok()) return r->error();
  }
  options.qps = *qps;
  options.burst = static_cast<int>(*burst);
  options.request_timeout = std::chrono::milliseconds(static_cast<int64_t>(*timeout * 1000));
  return kube::Client::Create(*config, options);
}

}  // namespace plumbline::cli

#!/usr/bin/env bash
# `helm lint --strict` of helm/plumbline: with the default values, with every toggle on, and with
# every toggle off. Also checks that values the chart refuses are refused with a message.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
chart=$root/helm/plumbline

fail() { echo "FAIL: $*" >&2; exit 1; }

helm=$("$root/hack/build-helm.sh" | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_CACHE_HOME=$work/cache HELM_CONFIG_HOME=$work/config HELM_DATA_HOME=$work/data

lint() {
  local what=$1; shift
  echo "--- helm lint --strict ($what)"
  "$helm" lint --strict --namespace plumbline-system "$chart" "$@" ||
    fail "helm lint --strict helm/plumbline ($what)"
}
lint "default values"
lint "every toggle on" \
  --set serviceMonitor.enabled=true,prometheusRule.enabled=true,webhook.enabled=true
lint "every toggle off" \
  --set serviceMonitor.enabled=false,prometheusRule.enabled=false,webhook.enabled=false \
  --set metrics.enabled=false,leaderElection.enabled=false,replicaCount=1

# refused MESSAGE ARGS...: rendering with ARGS fails, saying MESSAGE.
refused() {
  local message=$1; shift
  if "$helm" template plumbline "$chart" "$@" >/dev/null 2>"$work/err"; then
    fail "helm template $* rendered; it should have failed with '$message'"
  fi
  grep -qF -- "$message" "$work/err" ||
    fail "helm template $* failed without saying '$message': $(cat "$work/err")"
}
echo "--- values the chart refuses"
refused "replicaCount > 1 needs leaderElection.enabled" --set leaderElection.enabled=false
refused "serviceMonitor.enabled needs metrics.enabled" --set metrics.enabled=false
refused "value must be one of 'json', 'text'" --set logFormat=xml
refused "additional properties 'replicas' not allowed" --set replicas=3

echo "PASS: helm lint --strict helm/plumbline"

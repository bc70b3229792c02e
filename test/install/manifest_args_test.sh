#!/usr/bin/env bash
# The controller binary accepts the arguments that deploy/ and the Helm chart give it: every flag
# name is known and every value parses. A renamed flag would otherwise only show in a cluster,
# as a crash-looping pod.
#
#   manifest_args_test.sh PLUMBLINE_BINARY
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
binary=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

kubectl=$("$root/hack/build-control-plane.sh" --with-kubectl | tail -n 1)/kubectl
helm=$("$root/hack/build-helm.sh" | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_CACHE_HOME=$work/cache HELM_CONFIG_HOME=$work/config HELM_DATA_HOME=$work/data

# check WHAT FILE: the args of the plumbline container of the Deployment in FILE (a YAML stream).
check() {
  local what=$1 file=$2
  python3 - "$file" >"$work/args" <<'PY' || fail "$what: no Deployment with a plumbline container"
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "Deployment":
        for c in doc["spec"]["template"]["spec"]["containers"]:
            if c["name"] == "plumbline":
                # $(VAR) is expanded by the kubelet; any value will do for parsing.
                print("\n".join(a.replace("$(POD_NAMESPACE)", "plumbline-system") for a in c["args"]))
                sys.exit(0)
sys.exit(1)
PY
  mapfile -t args <"$work/args"
  [ "${#args[@]}" -gt 0 ] || fail "$what: the container has no args"
  # --check-flags parses and validates every flag, then exits without starting anything.
  "$binary" run "${args[@]}" --check-flags >"$work/out" 2>&1 ||
    fail "$what: plumbline run ${args[*]}: $(cat "$work/out")"
  echo "ok: $what (${#args[@]} args)"
}

"$kubectl" kustomize "$root/deploy" >"$work/deploy.yaml"
check "deploy/" "$work/deploy.yaml"
"$helm" template plumbline "$root/helm/plumbline" --namespace plumbline-system >"$work/chart.yaml"
check "helm chart, default values" "$work/chart.yaml"
"$helm" template plumbline "$root/helm/plumbline" --namespace plumbline-system \
  --set metrics.enabled=false,serviceMonitor.enabled=false,logFormat=text,defaultInterval=30s \
  >"$work/chart-off.yaml"
check "helm chart, metrics off, text logs, 30s interval" "$work/chart-off.yaml"
"$helm" template plumbline "$root/helm/plumbline" --namespace plumbline-system \
  --set webhook.enabled=true >"$work/chart-webhook.yaml"
check "helm chart, webhooks on" "$work/chart-webhook.yaml"
"$helm" template plumbline "$root/helm/plumbline" --namespace plumbline-system \
  --set multiTenancy.defaultServiceAccount=deployer,multiTenancy.noCrossNamespaceRefs=true \
  >"$work/chart-tenancy.yaml"
grep -q -- '--default-service-account=deployer' "$work/chart-tenancy.yaml" ||
  fail "helm chart, multi-tenant: no --default-service-account"
grep -q -- '--no-cross-namespace-refs=true' "$work/chart-tenancy.yaml" ||
  fail "helm chart, multi-tenant: no --no-cross-namespace-refs"
check "helm chart, multi-tenant lockdown" "$work/chart-tenancy.yaml"

# The thread-count flags: a typo is refused at start, not a million threads.
for bad in "--apply-concurrency=0" "--apply-concurrency=5000" "--workers=100000"; do
  if "$binary" run "$bad" --check-flags >"$work/out" 2>&1; then
    fail "plumbline run $bad was accepted"
  fi
done
"$binary" run --apply-concurrency=64 --workers=8 --check-flags >"$work/out" 2>&1 ||
  fail "plumbline run --apply-concurrency=64 --workers=8: $(cat "$work/out")"
echo "ok: thread-count flags bounded"

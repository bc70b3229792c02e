#!/usr/bin/env bash
# The in-cluster install against a real API server (PRODUCT §8):
#  1. deploy/ (kubectl kustomize) and helm/plumbline (helm template, default values) are the same
#     install: same objects, same RBAC rules, same container (same_install.py);
#  2. every object of deploy/ and of the chart (default values, every toggle on, every toggle off)
#     passes a server-side dry-run apply with strict field validation and no warnings (the
#     Namespace enforces and warns about Pod Security "restricted"), with the Application CRD and
#     the prometheus-operator CRDs installed;
#  3. deploy/ applied for real gives the controller's ServiceAccount exactly the rights it needs
#     (a list of allowed and denied requests), and it can impersonate an Application's
#     ServiceAccount without any right to impersonate groups.
# Starts its own control plane (with kube-controller-manager, which aggregates the manager
# ClusterRole) and stops it on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/test/install
ns=plumbline-system
sa=system:serviceaccount:$ns:plumbline

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

kubectl=$("$root/hack/build-control-plane.sh" --with-kubectl | tail -n 1)/kubectl
helm=$("$root/hack/build-helm.sh" | tail -n 1)
po_crds=$("$root/hack/prometheus-operator-crds.sh" | tail -n 1)

work=$(mktemp -d)
cluster=$(mktemp -d)
cleanup() {
  "$root/hack/local-cluster.sh" down --dir "$cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# helm writes nothing for `template`, but keep it away from the user's helm config anyway.
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config
export HELM_DATA_HOME=$work/helm/data

step "rendering deploy/ and helm/plumbline"
"$kubectl" kustomize "$root/deploy" >"$work/deploy.yaml" || fail "kubectl kustomize deploy/ failed"
render_chart() {
  local out=$1; shift
  "$helm" template plumbline "$root/helm/plumbline" --namespace "$ns" --include-crds "$@" \
    >"$out" || fail "helm template $* failed"
}
render_chart "$work/chart-default.yaml"
render_chart "$work/chart-all-on.yaml" \
  --set serviceMonitor.enabled=true,prometheusRule.enabled=true,webhook.enabled=true
render_chart "$work/chart-all-off.yaml" \
  --set serviceMonitor.enabled=false,prometheusRule.enabled=false,webhook.enabled=false \
  --set metrics.enabled=false,leaderElection.enabled=false,replicaCount=1
grep -q -- '--webhook-addr=:9292' "$work/chart-all-on.yaml" ||
  fail "webhook.enabled=true does not add --webhook-addr=:9292"
grep -q -- '--webhook-secret=plumbline-webhook' "$work/chart-all-on.yaml" ||
  fail "webhook.enabled=true does not add --webhook-secret"

step "deploy/ and the chart are the same install"
python3 "$here/same_install.py" "$work/deploy.yaml" "$work/chart-default.yaml" ||
  fail "deploy/ and helm/plumbline differ (see above)"

step "starting a control plane"
# shellcheck disable=SC1090
eval "$("$root/hack/local-cluster.sh" up --dir "$cluster" --with-controller-manager \
          --owner-pid $$ | tail -n 1)"
k() { "$kubectl" "$@"; }

# Runs kubectl apply --server-side; fails on an error or on any warning (unknown or duplicate
# fields, deprecated APIs, Pod Security violations).
apply() {
  local what=$1; shift
  local err=$work/apply.err
  if ! k apply --server-side --field-manager=plumbline-install-test --validate=strict "$@" \
      >"$work/apply.out" 2>"$err"; then
    cat "$work/apply.out" "$err" >&2
    fail "$what: kubectl apply failed"
  fi
  if grep -q '^Warning' "$err"; then
    cat "$err" >&2
    fail "$what: the API server warned"
  fi
  sed 's/^/    /' "$work/apply.out"
}

step "installing the prometheus-operator CRDs ($po_crds), the Namespace and the Application CRD"
apply "prometheus-operator CRDs" -f "$po_crds/monitoring.coreos.com_servicemonitors.yaml" \
  -f "$po_crds/monitoring.coreos.com_prometheusrules.yaml"
apply "Namespace and CRD" -f "$root/deploy/namespace.yaml" -f "$root/crds/application.yaml" \
  -f "$root/crds/notifier.yaml"
k wait --for=condition=Established --timeout=60s crd/servicemonitors.monitoring.coreos.com \
  crd/prometheusrules.monitoring.coreos.com crd/applications.plumbline.dev \
  crd/notifiers.plumbline.dev >/dev/null ||
  fail "the CRDs did not become Established"

for f in deploy chart-default chart-all-on chart-all-off; do
  step "server-side dry-run of every object of $f"
  apply "$f" --dry-run=server -f "$work/$f.yaml"
done

# Helm's own install path against this API server (it also renders NOTES.txt), before deploy/
# owns the objects for real.
for values in "" "--set=webhook.enabled=true"; do
  step "helm install --dry-run=server ${values:-(default values)}"
  # shellcheck disable=SC2086
  "$helm" install plumbline "$root/helm/plumbline" --namespace "$ns" --dry-run=server \
    $values >"$work/helm-install.out" 2>&1 || {
    cat "$work/helm-install.out" >&2
    fail "helm install --dry-run=server $values failed"
  }
  grep -q '^NOTES:' "$work/helm-install.out" || fail "helm install printed no NOTES"
done

step "applying deploy/ for real"
apply "deploy/" -f "$work/deploy.yaml"

step "the controller's rights"
# The manager ClusterRole gets its rules from kube-controller-manager's aggregation controller.
for _ in $(seq 1 150); do
  [ -n "$(k get clusterrole plumbline-manager -o jsonpath='{.rules}')" ] && break
  sleep 0.2
done
[ -n "$(k get clusterrole plumbline-manager -o jsonpath='{.rules}')" ] ||
  fail "ClusterRole plumbline-manager was not aggregated within 30 s"

# can EXPECTED VERB RESOURCE [ARGS...]: `kubectl auth can-i` as the controller says EXPECTED.
can() {
  local want=$1; shift
  local got
  got=$(k auth can-i --as="$sa" "$@" 2>/dev/null) || true
  [ "$got" = "$want" ] || fail "can the controller $*? expected $want, got ${got:-an error}"
}
# Its own API, Events, credentials, impersonation, its Lease.
can yes list applications.plumbline.dev --all-namespaces
can yes watch applications.plumbline.dev --all-namespaces
can yes patch applications.plumbline.dev -n team-a
can yes update applications.plumbline.dev -n team-a --subresource=status
can yes update applications.plumbline.dev -n team-a --subresource=finalizers
can yes create events -n team-a
can yes watch secrets --all-namespaces
can yes impersonate serviceaccounts -n team-a
can yes create leases.coordination.k8s.io -n "$ns"
can yes update leases.coordination.k8s.io/plumbline-leader -n "$ns"
# What it applies (the aggregated manager role).
can yes patch deployments.apps -n team-a
can yes delete configmaps -n team-a
can yes create namespaces
can yes watch horizontalpodautoscalers.autoscaling --all-namespaces
# And no more.
can no create applications.plumbline.dev -n team-a
can no delete applications.plumbline.dev -n team-a
can no patch events -n team-a
can no update leases.coordination.k8s.io/plumbline-leader -n team-a
can no update leases.coordination.k8s.io/another-lease -n "$ns"
can no list leases.coordination.k8s.io -n "$ns"
can no impersonate users
can no impersonate groups
can no create pods -n team-a
can no create roles.rbac.authorization.k8s.io -n team-a
can no create clusterrolebindings.rbac.authorization.k8s.io
can no create customresourcedefinitions.apiextensions.k8s.io

step "impersonating an Application's ServiceAccount with the controller's own token"
k create namespace team-a >/dev/null
k -n team-a create serviceaccount deployer >/dev/null
token=$(k -n "$ns" create token plumbline --duration=10m) ||
  fail "could not get a token for ServiceAccount $ns/plumbline"
k config set-credentials plumbline-controller --token="$token" >/dev/null
as_app() {
  k --user=plumbline-controller --as=system:serviceaccount:team-a:deployer "$@"
}
who=$(as_app auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}') ||
  fail "the controller cannot impersonate system:serviceaccount:team-a:deployer"
case "$who" in
  "system:serviceaccount:team-a:deployer "*system:serviceaccounts:team-a*) ;;
  *) fail "impersonated identity is '$who', expected the ServiceAccount with its groups" ;;
esac
# The impersonated identity has only its own rights (none yet), not the controller's.
[ "$(as_app auth can-i create configmaps -n team-a 2>/dev/null || true)" = no ] ||
  fail "impersonating team-a:deployer still has the controller's rights"
k -n team-a create role configmaps --verb=create --resource=configmaps >/dev/null
k -n team-a create rolebinding deployer-configmaps --role=configmaps \
  --serviceaccount=team-a:deployer >/dev/null
[ "$(as_app auth can-i create configmaps -n team-a 2>/dev/null || true)" = yes ] ||
  fail "impersonating team-a:deployer does not get the rights bound to it"

echo "PASS: deploy/ and helm/plumbline are the same valid install, with least-privilege RBAC"

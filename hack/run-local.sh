#!/usr/bin/env bash
# The local default, on a fresh machine: installs the dependencies, builds Plumbline, starts a
# local control plane (etcd + kube-apiserver + kube-controller-manager on loopback), creates a
# sample deployment repository served by `git daemon`, installs the CRD and an Application, and
# runs the controller in the foreground. Ctrl-C stops everything it started.
#
#   hack/run-local.sh [--dir DIR]     (DIR defaults to .local in the repository)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.local
if [ "${1:-}" = --dir ]; then dir=$2; fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

"$root/hack/install-deps.sh"
"$root/hack/build.sh" --no-tests
bin=$("$root/hack/build-control-plane.sh" --with-controller-manager --with-kubectl | tail -n 1)
# kustomize, helm and sops, for Applications whose path holds a kustomization, a chart or
# SOPS-encrypted files.
tools=$("$root/hack/build-render-tools.sh")
kustomize=$(sed -n 1p <<<"$tools"); helm=$(sed -n 2p <<<"$tools"); sops=$(sed -n 3p <<<"$tools")
kubectl=$bin/kubectl

daemon_pid=
controller_pid=
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$controller_pid" ]; then
    kill -TERM "$controller_pid" 2>/dev/null || true
    wait "$controller_pid" 2>/dev/null || true
  fi
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  "$root/hack/local-cluster.sh" down --dir "$dir/cluster" >/dev/null 2>&1 || true
  echo "stopped the controller, the git daemon and the control plane" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

line=$("$root/hack/local-cluster.sh" up --dir "$dir/cluster" --with-controller-manager | tail -n 1)
export KUBECONFIG=${line#export KUBECONFIG=}

# The sample deployment repository, served on loopback.
repos=$dir/repos
repo=$repos/deploy
if [ ! -d "$repo/.git" ]; then
  mkdir -p "$repo"
  cp -r "$root/hack/demo/app" "$repo/"
  git -C "$repo" init -q -b main
  git -C "$repo" add -A
  git -C "$repo" -c user.name=Demo -c user.email=demo@example.com commit -q -m "demo: first deploy"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --reuseaddr --export-all --listen=127.0.0.1 --port="$port" --base-path="$repos" \
  "$repos" >"$dir/git-daemon.log" 2>&1 &
daemon_pid=$!
url=git://127.0.0.1:$port/deploy

"$kubectl" apply -f "$root/crds/application.yaml" -f "$root/crds/notifier.yaml" >/dev/null
"$kubectl" wait --for=condition=Established crd/applications.plumbline.dev --timeout=60s >/dev/null
"$kubectl" create namespace plumbline-system --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
sed "s|REPO_URL|$url|" "$root/hack/demo/application.yaml" | "$kubectl" apply -f - >/dev/null
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat <<MSG

Plumbline is running against a local control plane, deploying $url
(a working copy is at $repo). In another shell:

  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$kubectl
  kubectl get applications -A                 # URL, revision, Ready, Drifted
  kubectl get configmap web-config -n demo -o yaml

  # Deploy: commit a change
  cd $repo
  sed -i 's/greeting: hello/greeting: bonjour/' app/config.yaml
  git commit -qam "say bonjour"               # applied within the 10s interval

  # Roll back: revert it
  git revert --no-edit HEAD

  kubectl get application demo -n plumbline-system -o jsonpath='{.status.history}'

  # Drift: edit a managed object; the controller puts it back within moments
  kubectl patch configmap web-config -n demo --type merge -p '{"data":{"greeting":"hacked"}}'
  kubectl get configmap web-config -n demo -o jsonpath='{.data.greeting}'
  kubectl get events -n plumbline-system --field-selector reason=DriftCorrected

  # Metrics
  curl -s http://127.0.0.1:$metrics_port/metrics | grep '^plumbline_'

The Deployment stays Progressing: this control plane has no kubelet to run its Pods.
Press Ctrl-C to stop everything.

MSG
# In the background so that a signal reaches this script's trap at once; the trap stops it.
"$root/build/plumbline" run --kubeconfig "$KUBECONFIG" --controller-namespace plumbline-system \
  --cache-dir "$dir/git-cache" --metrics-addr "127.0.0.1:$metrics_port" \
  --kustomize-path "$kustomize" --helm-path "$helm" --sops-path "$sops" &
controller_pid=$!
wait "$controller_pid"

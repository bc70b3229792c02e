#!/usr/bin/env bash
# The local default: installs the dependencies, builds Plumbline, starts a local control plane
# (etcd + kube-apiserver + kube-controller-manager on loopback) and shows how to reach it.
# Ctrl-C stops everything it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/hack/install-deps.sh"
"$root/hack/build.sh" --no-tests

dir=$root/.cluster
cleanup() { "$root/hack/local-cluster.sh" down --dir "$dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

kubeconfig_line=$("$root/hack/local-cluster.sh" up --dir "$dir" --with-controller-manager | tail -n 1)
export KUBECONFIG=${kubeconfig_line#export KUBECONFIG=}

"$root/build/plumbline" version --server
cat <<MSG

A local control plane is running. In another shell:

  export KUBECONFIG=$KUBECONFIG
  $root/build/plumbline version --server

Press Ctrl-C to stop it.
MSG
while "$root/hack/local-cluster.sh" status --dir "$dir" >/dev/null; do sleep 2; done
echo "the control plane stopped" >&2
exit 1

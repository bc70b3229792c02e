#!/usr/bin/env bash
# Finds the prometheus-operator CRDs (ServiceMonitor, PrometheusRule, ...) at the version pinned in
# hack/versions.env, by downloading the prometheus-operator Go module into the Go module cache
# (nothing is written to the repo). The install tests load them into their control plane.
#
#   hack/prometheus-operator-crds.sh
#
# Prints the directory holding the CRD YAML files as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

if [ $# -gt 0 ]; then
  echo "usage: $0" >&2
  exit 2
fi

log() { echo "prometheus-operator-crds: $*" >&2; }
command -v go >/dev/null || { log "needs Go (1.26 or newer) on PATH"; exit 1; }

module=github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION
# `go mod download` reuses the module cache; outside a module it needs no go.mod.
dir=$(cd / && GOFLAGS=-mod=mod go mod download -json "$module" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  log "could not download $module"
  exit 1
fi
crds=$dir/example/prometheus-operator-crd
for kind in servicemonitors prometheusrules; do
  if [ ! -f "$crds/monitoring.coreos.com_$kind.yaml" ]; then
    log "$module has no $kind CRD under example/prometheus-operator-crd"
    exit 1
  fi
done
echo "$crds"

#!/usr/bin/env bash
# Builds the helm CLI from the Go module proxy (helm.sh/helm/v3 at HELM_VERSION, pinned in
# hack/versions.env) into a cache directory outside the repo, for the chart tests in test/install.
# A binary already in the cache is not rebuilt.
#
#   hack/build-helm.sh
#
# Prints the path of the helm binary as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

if [ $# -gt 0 ]; then
  echo "usage: $0" >&2
  exit 2
fi

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/plumbline
# Bump when the build recipe below changes, so a binary built by an older recipe is not reused.
recipe=1
bin_dir=$cache_root/bin/helm-$HELM_VERSION-r$recipe
helm=$bin_dir/helm

log() { echo "build-helm: $*" >&2; }

if [ ! -x "$helm" ]; then
  command -v go >/dev/null || { log "needs Go (1.26 or newer) on PATH"; exit 1; }
  mkdir -p "$bin_dir"
  log "building helm $HELM_VERSION"
  work=$(mktemp -d "$cache_root/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init plumbline.local/tools >/dev/null 2>&1
    go get "helm.sh/helm/v3@$HELM_VERSION" >&2
    # What helm's own release build stamps and a module build does not: the version `helm
    # version` reports, and the Kubernetes version that `helm template` and `helm lint` assume
    # (the one of the client-go it is built with, as helm's Makefile derives it).
    client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go)  # v0.MINOR.PATCH
    minor=${client_go#v0.}; minor=${minor%%.*}
    ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
      ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
    done
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" \
      -o "$helm.tmp.$$" helm.sh/helm/v3/cmd/helm
    mv "$helm.tmp.$$" "$helm"  # atomic: a concurrent build may race us
  )
fi
echo "$helm"

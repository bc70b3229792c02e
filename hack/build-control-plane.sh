#!/usr/bin/env bash
# Builds etcd, kube-apiserver, and on request kube-controller-manager and kubectl, from
# the Go module proxy at the versions pinned in hack/versions.env, into a cache directory outside
# the repo. A binary already in the cache is not rebuilt.
#
# Prints the directory holding the binaries as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/plumbline
# Bump when the build recipe below changes, so caches built by an older recipe are not reused.
recipe=2
bin_dir=$cache_root/bin/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-r$recipe
with_kcm=false
with_kubectl=false
for arg in "$@"; do
  case "$arg" in
    --with-controller-manager) with_kcm=true ;;
    --with-kubectl) with_kubectl=true ;;
    *) echo "usage: $0 [--with-controller-manager] [--with-kubectl]" >&2; exit 2 ;;
  esac
done

log() { echo "build-control-plane: $*" >&2; }
command -v go >/dev/null || { log "needs Go (1.26 or newer) on PATH"; exit 1; }
mkdir -p "$bin_dir"

# Builds main package $2 of a throwaway module whose go.mod is prepared by function $1.
build_in_module() {
  local prepare=$1 pkg=$2 out=$3 ldflags=${4:-}
  local work
  work=$(mktemp -d "$cache_root/build.XXXXXX")
  (
    cd "$work"
    go mod init plumbline.local/tools >/dev/null 2>&1
    "$prepare"
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" -o "$out.tmp" "$pkg"
    mv "$out.tmp" "$out"
  )
  rm -rf "$work"
}

prepare_etcd() {
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
}

prepare_kubernetes() {
  # Replace each staging module that k8s.io/kubernetes points at ./staging by its release.
  local mod staging
  mod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
        sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$mod")
  [ -n "$staging" ] || { log "no staging modules found in k8s.io/kubernetes go.mod"; exit 1; }
  for m in $staging; do
    go mod edit -replace "$m=$m@$KUBERNETES_STAGING_VERSION"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" \
         "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBERNETES_VERSION" \
         "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION" >&2
}

if [ ! -x "$bin_dir/etcd" ]; then
  log "building etcd $ETCD_VERSION"
  build_in_module prepare_etcd go.etcd.io/etcd/server/v3 "$bin_dir/etcd"
fi
# What `kubectl version` reports; a module build does not stamp it by itself.
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
  -X k8s.io/component-base/version.gitTreeState=clean \
  -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION \
  -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
if [ ! -x "$bin_dir/kube-apiserver" ]; then
  log "building kube-apiserver $KUBERNETES_VERSION"
  build_in_module prepare_kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$bin_dir/kube-apiserver" \
    "$kube_ldflags"
fi
if $with_kcm && [ ! -x "$bin_dir/kube-controller-manager" ]; then
  log "building kube-controller-manager $KUBERNETES_VERSION"
  build_in_module prepare_kubernetes k8s.io/kubernetes/cmd/kube-controller-manager \
    "$bin_dir/kube-controller-manager" "$kube_ldflags"
fi
if $with_kubectl && [ ! -x "$bin_dir/kubectl" ]; then
  log "building kubectl $KUBERNETES_VERSION"
  build_in_module prepare_kubernetes k8s.io/kubernetes/cmd/kubectl "$bin_dir/kubectl" "$kube_ldflags"
fi
echo "$bin_dir"

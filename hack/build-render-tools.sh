#!/usr/bin/env bash
# Builds the programs Plumbline runs to render and decrypt a commit (kustomize, helm, sops), and
# age-keygen, which the tests use to make age keys. Each comes from the Go module proxy at the
# version pinned in hack/versions.env, into a cache directory outside the repo; a binary already
# in the cache is not rebuilt.
#
#   hack/build-render-tools.sh [--print-env | --install DIR]
#
# Prints the four paths, one per line. With --print-env, prints PLUMBLINE_KUSTOMIZE=...,
# PLUMBLINE_HELM=..., PLUMBLINE_SOPS=... and PLUMBLINE_AGE_KEYGEN=... lines instead (what the
# tests read). With --install DIR, copies kustomize, helm and sops into DIR (the Docker image
# does this) and prints nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

print_env=0
install_dir=
case "${1:-}" in
  --print-env) print_env=1 ;;
  --install)
    [ $# -eq 2 ] || { echo "usage: $0 [--print-env | --install DIR]" >&2; exit 2; }
    install_dir=$2 ;;
  "") ;;
  *) echo "usage: $0 [--print-env | --install DIR]" >&2; exit 2 ;;
esac

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/plumbline
# Bump when the build recipe below changes, so a binary built by an older recipe is not reused.
recipe=1

log() { echo "build-render-tools: $*" >&2; }

# build NAME MODULE VERSION PACKAGE [LDFLAGS]: prints the binary's path.
build() {
  local name=$1 module=$2 version=$3 package=$4 ldflags=${5:-}
  local bin_dir=$cache_root/bin/$name-$version-r$recipe
  local bin=$bin_dir/$name
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || { log "needs Go (1.26 or newer) on PATH"; exit 1; }
    mkdir -p "$bin_dir"
    log "building $name $version"
    local work
    work=$(mktemp -d "$cache_root/build.XXXXXX")
    (
      cd "$work"
      go mod init plumbline.local/tools >/dev/null 2>&1
      go get "$module@$version" >&2
      GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" \
        -o "$bin.tmp.$$" "$package"
      mv "$bin.tmp.$$" "$bin"  # atomic: a concurrent build may race us
    )
    rm -rf "$work"
  fi
  echo "$bin"
}

kustomize=$(build kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" \
  sigs.k8s.io/kustomize/kustomize/v5 \
  "-X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION")
sops=$(build sops github.com/getsops/sops/v3 "$SOPS_VERSION" github.com/getsops/sops/v3/cmd/sops)
age_keygen=$(build age-keygen filippo.io/age "$AGE_VERSION" filippo.io/age/cmd/age-keygen)
helm=$("$here/build-helm.sh" | tail -1)

if [ -n "$install_dir" ]; then
  mkdir -p "$install_dir"
  install -m 0755 "$kustomize" "$install_dir/kustomize"
  install -m 0755 "$helm" "$install_dir/helm"
  install -m 0755 "$sops" "$install_dir/sops"
elif [ "$print_env" = 1 ]; then
  echo "PLUMBLINE_KUSTOMIZE=$kustomize"
  echo "PLUMBLINE_HELM=$helm"
  echo "PLUMBLINE_SOPS=$sops"
  echo "PLUMBLINE_AGE_KEYGEN=$age_keygen"
else
  printf '%s\n' "$kustomize" "$helm" "$sops" "$age_keygen"
fi

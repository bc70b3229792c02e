#!/usr/bin/env bash
# The runtime image ships kustomize, helm and sops at the versions pinned in hack/versions.env:
#   1. the Dockerfile has a stage that builds them with hack/build-render-tools.sh --install,
#      copying in exactly the files that script reads, and the final stage copies all three
#      onto PATH (/usr/local/bin, where the --kustomize-path, --helm-path and --sops-path
#      defaults find them);
#   2. that script's --install puts the three programs in a directory, and each reports the
#      pinned version.
# Docker itself is not needed: the stage runs the same script.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
dockerfile=$root/Dockerfile
# shellcheck source=../../hack/versions.env
source "$root/hack/versions.env"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Continuation lines joined, comments dropped.
flat=$(sed -e 's/#.*$//' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')

stage=$(awk '/^FROM /{name=$NF} name=="tools"' <<<"$flat")
[ -n "$stage" ] || fail "no stage named tools in the Dockerfile"
grep -Eq '^RUN .*hack/build-render-tools\.sh --install /out *$' <<<"$stage" ||
  fail "the tools stage does not run hack/build-render-tools.sh --install /out"
copied=$(grep -E '^COPY ' <<<"$stage")
for f in hack/versions.env hack/build-render-tools.sh hack/build-helm.sh; do
  grep -q " $f" <<<"$copied" || fail "the tools stage does not copy $f, which the build reads"
done
final=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' <<<"$flat")
grep -Eq '^COPY --from=tools /out/kustomize /out/helm /out/sops /usr/local/bin/ *$' <<<"$final" ||
  fail "the final stage does not copy kustomize, helm and sops from the tools stage to /usr/local/bin/"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/hack/build-render-tools.sh" --install "$work/bin" >/dev/null
for tool in kustomize helm sops; do
  [ -x "$work/bin/$tool" ] || fail "--install did not install $tool"
done
[ ! -e "$work/bin/age-keygen" ] || fail "--install ships age-keygen, which only the tests use"

got=$("$work/bin/kustomize" version)
[ "$got" = "$KUSTOMIZE_VERSION" ] || fail "kustomize reports $got, pinned $KUSTOMIZE_VERSION"
got=$(HOME=$work "$work/bin/helm" version --template '{{.Version}}')
[ "$got" = "$HELM_VERSION" ] || fail "helm reports $got, pinned $HELM_VERSION"
got=$("$work/bin/sops" --version --disable-version-check 2>/dev/null | head -n 1)
grep -q "^sops ${SOPS_VERSION#v}\b" <<<"$got" || fail "sops reports '$got', pinned $SOPS_VERSION"
echo "PASS: the image ships kustomize $KUSTOMIZE_VERSION, helm $HELM_VERSION, sops $SOPS_VERSION"

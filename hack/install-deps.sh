#!/usr/bin/env bash
# Installs every Debian package that building and testing Plumbline needs.
# Idempotent; runs as root (or through sudo when not root).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl python3
  # libraries behind our seams (see shared DEPS notes)
  libcpprest-dev libboost-dev libyaml-cpp-dev libgit2-dev nlohmann-json3-dev prometheus-cpp-dev
  libssl-dev zlib1g-dev
  # tests
  libgtest-dev libgmock-dev
  # end-to-end tests: a real git daemon and sshd
  openssh-server openssh-client
  # signed commits (spec.verify): gpgv verifies OpenPGP signatures at run time; the tests sign
  # with gpg and ssh-keygen (openssh-client)
  gpg gpgv gpg-agent
  # alert rules: promtool, and a real Prometheus scraping the controller
  prometheus
  # install tests: comparing deploy/ with the Helm chart (test/install/same_install.py)
  python3-yaml
  # fuzzing (hack/fuzz.sh): clang and its libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # formatting (.clang-format; hack/check-format.sh in CI)
  clang-format
)

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

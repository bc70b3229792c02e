# Builds the same binary as CI, with the same scripts, then ships it on Debian slim.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN hack/install-deps.sh && hack/build.sh --no-tests

# What the controller runs to render and decrypt: kustomize, helm and sops at the versions pinned
# in hack/versions.env, built from the Go module proxy by the same script the tests use.
# test/install/dockerfile_tools_test.sh checks this stage and the COPY below.
FROM golang:1.26-bookworm AS tools
WORKDIR /src
COPY hack/versions.env hack/build-render-tools.sh hack/build-helm.sh hack/
RUN XDG_CACHE_HOME=/cache hack/build-render-tools.sh --install /out

FROM debian:bookworm-slim
# Exactly the packages of the shared libraries build/plumbline needs directly (`readelf -d`), plus
# CA certificates and gpgv (it verifies OpenPGP-signed commits, spec.verify); what those
# libraries need (libssh2, mbedTLS, civetweb, Brotli, zlib, ...) comes with their packages'
# dependencies. test/install/dockerfile_libs_test.sh checks this list against the binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libc6 libgcc-s1 libstdc++6 \
      libssl3 libcpprest2.10 libyaml-cpp0.7 libgit2-1.5 libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 gpgv \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/plumbline /usr/local/bin/plumbline
# Found on PATH: the defaults of --kustomize-path, --helm-path and --sops-path.
COPY --from=tools /out/kustomize /out/helm /out/sops /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/plumbline", "run"]

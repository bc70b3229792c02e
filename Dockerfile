# Builds the same binary as CI, with the same scripts, then ships it on Debian slim.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN hack/install-deps.sh && hack/build.sh --no-tests

FROM debian:bookworm-slim
# Exactly the packages of the shared libraries build/plumbline needs directly (`readelf -d`), plus
# CA certificates; what those libraries need (libssh2, mbedTLS, civetweb, Brotli, zlib, ...) comes
# with their packages' dependencies. test/install/dockerfile_libs_test.sh checks this list
# against the binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libc6 libgcc-s1 libstdc++6 \
      libssl3 libcpprest2.10 libyaml-cpp0.7 libgit2-1.5 libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/plumbline /usr/local/bin/plumbline
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/plumbline", "run"]

# Builds the same binary as CI, with the same scripts, then ships it on Debian slim.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN hack/install-deps.sh && hack/build.sh --no-tests

FROM debian:bookworm-slim
# The shared libraries build/plumbline links against (see `ldd build/plumbline`); libgit2 brings
# libssh2, mbedTLS and pcre2 as its own dependencies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcpprest2.10 libyaml-cpp0.7 \
      libgit2-1.5 libssl3 libstdc++6 libbrotli1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/plumbline /usr/local/bin/plumbline
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/plumbline", "run"]

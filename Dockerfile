# syntax=docker/dockerfile:1
# The package-registry image, laid out as upstream's (docker.elastic.co/package-registry):
# the binary and config.yml in /package-registry, packages expected under
# /packages/package-registry, listening on 0.0.0.0:8080 as uid 1000.
#
#   docker build -t package-registry .
#   docker run -p 8080:8080 -v /my/packages:/packages/package-registry package-registry
#
# docs/DEPLOYMENT.md explains it; scripts/check_deploy.py runs this file's build and
# start commands outside a container.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
# The slim image has gcc and libc6-dev. tikv-jemalloc-sys runs jemalloc's configure
# script and make. aws-lc-sys (rustls's crypto, via aws-lc-rs) needs only the C
# compiler on x86_64 and aarch64 Linux: it compiles with the cc crate and ships
# pregenerated bindings, so neither cmake nor clang (bindgen) is needed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole workspace (minus .dockerignore): cargo resolves every member, and
# .cargo/config.toml sets the allocator's options at build time.
COPY . .
# The release profile keeps line tables for backtraces; the image keeps the symbols
# (backtraces still name functions) but not the debug info: 124 MB -> 28 MB.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked -p package-registry \
    && strip --strip-debug target/release/package-registry

# Debian slim rather than distroless: the binary links glibc (built on the same Debian
# release above), HTTPS to S3 and GCS needs the system CA store (ca-certificates), and
# both this HEALTHCHECK and elastic-package's compose healthcheck run curl inside the
# container; distroless has no curl and no shell. Content types come from a table in
# the binary, so upstream's mailcap is not needed.
FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 package-registry \
    && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /package-registry \
        --shell /usr/sbin/nologin package-registry \
    && mkdir -p /packages/package-registry

COPY --from=builder /src/target/release/package-registry /package-registry/package-registry
WORKDIR /package-registry
# config.yml expects packages in /packages/package-registry.
COPY deploy/config.docker.yml /package-registry/config.yml

# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000

EXPOSE 8080
ENTRYPOINT ["./package-registry"]
# Reachable from outside the container.
ENV EPR_ADDRESS=0.0.0.0:8080

HEALTHCHECK --interval=1s --retries=30 CMD curl --silent --fail localhost:8080/health || exit 1

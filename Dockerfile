# syntax=docker/dockerfile:1.7
# render-pilot's release image.
# Build stage: one static musl binary (rustls for HTTP; libgit2 and OpenSSL
# vendored). Runtime stage: Node.js, because recover runs pnpm (pinned, and
# through corepack for the version a project's packageManager names), plus
# CA certificates for libgit2's HTTPS. It runs as root: the Actions runner
# requires it for container actions (the workspace belongs to another user).
ARG RUST_VERSION=1.95
ARG NODE_VERSION=22

FROM rust:${RUST_VERSION}-slim-bookworm AS build
ARG TARGETARCH=amd64
# Pinning Debian package versions breaks on every point release; the base
# image tag pins the distribution instead.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools perl make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG GIT_COMMIT=unknown
RUN case "${TARGETARCH}" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && rustup target add "${target}" \
 && GIT_COMMIT="${GIT_COMMIT}" cargo build --release --locked --features vendored \
      --target "${target}" --bin render-pilot \
 && cp "target/${target}/release/render-pilot" /render-pilot

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g --no-fund --no-audit pnpm@10.34.9 \
 && npm cache clean --force
COPY --from=build /render-pilot /usr/local/bin/render-pilot
# Exec form: a shell would drop the hyphenated INPUT_* variables.
ENTRYPOINT ["/usr/local/bin/render-pilot"]

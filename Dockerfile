# syntax=docker/dockerfile:1.7
# render-pilot's images, two targets from one binary:
# - `static`: deploy and monitor. The static musl binary and CA certificates
#   (for libgit2's HTTPS) on scratch: no shell, no Node.js.
# - `recover` (the last stage, so `image: Dockerfile` builds it): the same
#   binary on Node.js with corepack, because the lockfile fix runs the pnpm
#   version each project declares.
# Both run as root: the Actions runner requires it for container actions
# (the workspace belongs to another user).
#
# The binary comes from the `build` stage (the release), or, with
# `--build-arg BINARY=prebuilt`, from dist/<arch>/render-pilot and
# dist/ca-certificates.crt in the build context: tests/container.sh builds
# it with cargo first, so the image it tests builds offline, from the same
# `static` stage the release publishes.
ARG RUST_VERSION=1.95
ARG NODE_VERSION=22
ARG BINARY=build

FROM rust:${RUST_VERSION}-slim-bookworm AS build
# BuildKit sets TARGETARCH from --platform; a default here would win over
# it and build the amd64 binary into the arm64 image. The legacy builder
# sets nothing: amd64.
ARG TARGETARCH
# Pinning Debian package versions breaks on every point release; the base
# image tag pins the distribution instead.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates musl-tools perl make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG GIT_COMMIT=unknown
RUN case "${TARGETARCH:-amd64}" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && rustup target add "${target}" \
 && GIT_COMMIT="${GIT_COMMIT}" cargo build --release --locked --features vendored \
      --target "${target}" --bin render-pilot \
 && cp "target/${target}/release/render-pilot" /render-pilot \
 && cp /etc/ssl/certs/ca-certificates.crt /ca-certificates.crt

FROM scratch AS prebuilt
ARG TARGETARCH
COPY dist/${TARGETARCH}/render-pilot /render-pilot
COPY dist/ca-certificates.crt /ca-certificates.crt

# hadolint ignore=DL3006
FROM ${BINARY} AS binary

FROM scratch AS static
COPY --from=binary /ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /render-pilot /usr/local/bin/render-pilot
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# Exec form: a shell would drop the hyphenated INPUT_* variables.
ENTRYPOINT ["/usr/local/bin/render-pilot"]

FROM node:${NODE_VERSION}-bookworm-slim AS recover
COPY --from=binary /ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /render-pilot /usr/local/bin/render-pilot
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# corepack fetches and verifies the exact pnpm a project's packageManager
# names; its cache lives in HOME, which the runner mounts per job.
RUN corepack enable
ENTRYPOINT ["/usr/local/bin/render-pilot"]

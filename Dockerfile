# syntax=docker/dockerfile:1.7@sha256:a57df69d0ea827fb7266491f2813635de6f17269be881f696fbfdf2d83dda33e
# render-pilot's images, two targets from one binary:
# - `static`: deploy and monitor. The static musl binary and CA certificates
#   (for libgit2's HTTPS) on scratch: no shell, no Node.js.
# - `recover` (the last stage, so `image: Dockerfile` builds it): the same
#   binary on Node.js with corepack, because the lockfile fix runs the pnpm
#   version each project declares.
# GitHub builds a Dockerfile's last stage and cannot be told another, so
# deploy and monitor build Dockerfile.static: this file without the recover
# stage, written by scripts/actions.
# Both run as root: the Actions runner requires it for container actions
# (the workspace belongs to another user).
#
# Every base is pinned by digest, with the tag it had beside it (in the
# syntax line, whose tag BuildKit ignores when a digest is given, and in the
# comment above each other pin): `uses: ./` and `@main` build from the same
# bases every day, and a new base comes only through a change here. The
# release checks that each pin still resolves.
#
# The binary comes from the `build` stage (the release), or, with
# `--build-arg BINARY=prebuilt`, from dist/<arch>/render-pilot and
# dist/ca-certificates.crt in the build context: tests/container.sh builds
# it with cargo first, so the image it tests builds offline, from the same
# stages the release publishes.
ARG BINARY=build
# node:22-bookworm-slim (Node.js 22.23.2). tests/container.sh passes a
# stand-in that tests/node-base.sh makes, as our machines cannot pull it.
ARG NODE_BASE=node@sha256:48e4b67d85f87bd551df43704e24d252f56cc5f8e9718841aace50f19948f0f9

# rust:1.95-slim-bookworm
FROM rust@sha256:2f38914f22d4428179ca09eff59ea3b17e8e03d738fdaea9bf3051b97583d32d AS build
# BuildKit sets TARGETARCH from --platform; a default here would win over
# it and build the amd64 binary into the arm64 image. The legacy builder
# sets nothing: amd64.
ARG TARGETARCH
# Pinning Debian package versions breaks on every point release; the base
# image's digest pins the distribution instead.
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

# hadolint ignore=DL3006
FROM ${NODE_BASE} AS recover
COPY --from=binary /ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /render-pilot /usr/local/bin/render-pilot
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# corepack fetches and verifies the exact pnpm a project's packageManager
# names; its cache lives in HOME, which the runner mounts per job.
RUN corepack enable
ENTRYPOINT ["/usr/local/bin/render-pilot"]

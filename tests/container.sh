#!/usr/bin/env bash
# Builds the static binary with cargo, then both images as GitHub builds
# them for `uses: ./` and `@main`, each Dockerfile's last stage:
# Dockerfile.static for deploy and monitor, Dockerfile for recover. The
# binary comes in prebuilt (nothing is compiled or pulled), and recover's
# base is a stand-in for node:22-bookworm-slim made here by
# tests/node-base.sh. Runs deploy, monitor and recover in them exactly as the
# Actions runner does (see tests/integration/container.rs) and prints their
# sizes, compressed as a registry stores them.
#
# Recover's test runs the project's pnpm from the corepack cache that
# ./scripts/test fills: run that first (.ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

# corepack and the cache, as ./scripts/test sets them up.
tools="$PWD/target/tools"
export COREPACK_HOME="$tools/corepack" COREPACK_ENABLE_NETWORK=0
export PATH="$tools/bin:$tools/npm/node_modules/.bin:$PATH"
if ! compgen -G "$COREPACK_HOME/v1/pnpm/*/.corepack" >/dev/null; then
  echo "no pnpm in corepack's cache at $COREPACK_HOME: run ./scripts/test first" >&2
  exit 1
fi

start=$(date +%s%N)
base=$(tests/node-base.sh)
echo "stand-in base $base ready in $(( ($(date +%s%N) - start) / 1000000 )) ms"

target=x86_64-unknown-linux-musl
cargo build --release --locked --features vendored --target "$target" --bin render-pilot
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/dist/amd64"
cp "target/$target/release/render-pilot" "$context/dist/amd64/"
cp /etc/ssl/certs/ca-certificates.crt "$context/dist/"
cp Dockerfile Dockerfile.static "$context/"
build() { # tag file [build arguments]
  local tag=$1 file=$2
  shift 2
  # runc and these limits: the defaults cannot be set inside our sandbox.
  podman build --quiet --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    --build-arg BINARY=prebuilt --build-arg TARGETARCH=amd64 "$@" \
    --tag "$tag" --file "$context/$file" "$context" >/dev/null
}
start=$(date +%s%N)
build render-pilot:test Dockerfile.static
build render-pilot:recover-test Dockerfile --build-arg "NODE_BASE=$base"
echo "both images built in $(( ($(date +%s%N) - start) / 1000000 )) ms"

size() { podman image inspect "$1" --format '{{.Size}}'; }
# Each layer gzip-compressed, as a registry stores it: the sizes in the
# manifest `podman push --compress` writes to a directory.
layers() { # image: compressed sizes, base layers first
  rm -rf "$context/pushed"
  podman push --quiet --compress --compression-format gzip "$1" "dir:$context/pushed"
  python3 -c 'import json, sys; print(*(l["size"] for l in json.load(open(sys.argv[1]))["layers"]))' \
    "$context/pushed/manifest.json"
}
sum() { local total=0 n; for n in "$@"; do total=$((total + n)); done; echo "$total"; }

read -ra static_layers <<< "$(layers render-pilot:test)"
read -ra base_layers <<< "$(layers "$base")"
read -ra recover_layers <<< "$(layers render-pilot:recover-test)"
ours=("${recover_layers[@]:${#base_layers[@]}}")
# node:22-bookworm-slim for linux/amd64 at the digest the Dockerfile pins,
# compressed, as Docker's repo-info records it (79.9 MB).
real_base=79893445
echo "static binary: $(stat -c %s "target/$target/release/render-pilot") bytes"
echo "static image: $(size render-pilot:test) bytes, compressed $(sum "${static_layers[@]}") bytes"
echo "recover image on the stand-in base: $(size render-pilot:recover-test) bytes, compressed $(sum "${recover_layers[@]}") bytes"
echo "  stand-in base: $(size "$base") bytes, compressed $(sum "${base_layers[@]}") bytes"
echo "  render-pilot's layers: $(( $(size render-pilot:recover-test) - $(size "$base") )) bytes, compressed $(sum "${ours[@]}") bytes"
echo "recover image on node:22-bookworm-slim, expected: compressed $(( real_base + $(sum "${ours[@]}") )) bytes (the base's $real_base plus render-pilot's layers)"

start=$(date +%s%N)
RENDER_PILOT_IMAGE=render-pilot:test RENDER_PILOT_RECOVER_IMAGE=render-pilot:recover-test \
  cargo test --locked --test integration container -- --ignored --test-threads 1
echo "container test wall time: $(( ($(date +%s%N) - start) / 1000000 )) ms"

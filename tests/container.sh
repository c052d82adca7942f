#!/usr/bin/env bash
# Builds the static binary with cargo, then the release Dockerfile's `static`
# stage from it (offline: nothing is pulled beyond scratch), and runs deploy
# and monitor in that image exactly as the Actions runner does (see
# tests/integration/container.rs). Prints the image's size, compressed as a
# registry stores it.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
cargo build --release --locked --features vendored --target "$target" --bin render-pilot
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/dist/amd64"
cp "target/$target/release/render-pilot" "$context/dist/amd64/"
cp /etc/ssl/certs/ca-certificates.crt "$context/dist/"
cp Dockerfile "$context/"
podman build --quiet --target static --build-arg BINARY=prebuilt --build-arg TARGETARCH=amd64 \
  --tag render-pilot:test --file "$context/Dockerfile" "$context" >/dev/null
echo "static binary: $(stat -c %s "target/$target/release/render-pilot") bytes"
echo "static image: $(podman image inspect render-pilot:test --format '{{.Size}}') bytes"
echo "static image, compressed: $(podman save render-pilot:test | gzip -9 | wc -c) bytes"

start=$(date +%s%N)
RENDER_PILOT_IMAGE=render-pilot:test cargo test --locked --test integration container -- --ignored --test-threads 1
echo "container test wall time: $(( ($(date +%s%N) - start) / 1000000 )) ms"

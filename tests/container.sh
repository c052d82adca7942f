#!/usr/bin/env bash
# Builds the static binary and the local test image (FROM scratch), then
# runs deploy and monitor in it exactly as the Actions runner does (see
# tests/integration/container.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
cargo build --release --locked --features vendored --target "$target" --bin render-pilot
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "target/$target/release/render-pilot" "$context/"
cp tests/container/Containerfile "$context/"
podman build --quiet --tag render-pilot:test --file "$context/Containerfile" "$context" >/dev/null
echo "static binary: $(stat -c %s "target/$target/release/render-pilot") bytes"
echo "test image: $(podman image inspect render-pilot:test --format '{{.Size}}') bytes"

start=$(date +%s%N)
RENDER_PILOT_IMAGE=render-pilot:test cargo test --locked --test integration container -- --ignored --test-threads 1
echo "container test wall time: $(( ($(date +%s%N) - start) / 1000000 )) ms"

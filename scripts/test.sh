#!/usr/bin/env bash
# Runs every test Room has, failing on the first failure: formatting and lints, native unit
# tests, wasm-bindgen tests, the built worker in Miniflare, real browsers, and a deploy dry run.
source "$(dirname "$0")/tools.sh"
ensure_chromium
ensure_fonts
ensure_firefox
ensure_coturn
ensure_webkit
ensure_nftables
cd "$ROOT"

step() { say "== $*"; }

step "rustfmt and clippy"
cargo fmt --check
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown -- -D warnings

step "native unit tests"
cargo test --quiet

step "site unit tests (Node): the message catalogs"
node --test --test-reporter=spec "tests/unit/*.test.mjs"

step "wasm-bindgen tests (Node)"
cargo test --target wasm32-unknown-unknown --test wasm 2>&1 | grep -v "^\s*$"

step "build the worker"
worker-build --release >/dev/null 2>&1 || worker-build --release

step "integration tests (Miniflare, real websockets)"
node --test --test-reporter=spec --test-concurrency=2 "tests/integration/*.test.mjs"

step "browser tests (Chromium and Firefox)"
node --test --test-reporter=spec --test-concurrency=1 "tests/browser/*.test.mjs"

step "deploy dry run"
out=$(mktemp -d)
# A failed dry run fails the script (with wrangler's whole output); a good one prints its size.
if ! log=$(wrangler deploy --dry-run --outdir "$out" 2>&1); then
  printf '%s\n' "$log" >&2
  rm -rf "$out"
  say "deploy dry run failed"
  exit 1
fi
grep -E "Total Upload" <<<"$log" || true
ls -l "$out"/*.wasm | awk '{ printf "wasm: %d bytes raw, ", $5 }'
gzip -9c "$out"/*.wasm | wc -c | awk '{ printf "%d bytes gzip\n", $1 }'
rm -rf "$out"
say "all tests passed"

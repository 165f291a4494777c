#!/usr/bin/env bash
# Benchmarks Room against a plain-JavaScript Durable Object and a Node socket.io server, in one
# run on this machine, and writes the table to docs/benchmarks.md (see that file).
# Environment: BENCH_TARGETS=room,wrangler,floor,jsdo,socketio and BENCH_WORKLOADS=coldStart,sfuRoom,
# standard,burst,manyRooms,joinStorm,wakeUp,knee,lobby (subsets), BENCH_OUT=<file> or "-".
source "$(dirname "$0")/tools.sh"
cd "$ROOT"

# bench/'s own npm packages (socket.io, its client, ws), pinned by bench/package-lock.json;
# reinstalled only when the lockfile changed.
if [ ! -f bench/node_modules/.room-lock ] || ! cmp -s bench/package-lock.json bench/node_modules/.room-lock; then
  say "installing bench/ npm packages"
  (cd bench && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
  cp bench/package-lock.json bench/node_modules/.room-lock
fi

say "building the worker"
bash scripts/build.sh >/dev/null 2>&1 || bash scripts/build.sh

say "measuring call set-up in Chromium (about a minute)"
# test-results/call-setup.json, which bench/run.mjs puts in the report; Chromium is the tests'.
ensure_chromium
timeout --kill-after=10 240 node bench/call-setup.mjs || say "call set-up not measured (see above)"

say "running the benchmarks (about 6 minutes)"
# A hard bound, so that a stuck server never holds the shared machine.
exec timeout --kill-after=10 540 node bench/run.mjs

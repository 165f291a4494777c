#!/usr/bin/env bash
# Builds the worker (build/index.js + build/index_bg.wasm). wrangler's [build] runs this.
source "$(dirname "$0")/tools.sh"
cd "$ROOT"
worker-build --release

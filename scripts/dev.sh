#!/usr/bin/env bash
# Runs Room locally: installs what is missing, then `wrangler dev` (which builds first).
# Extra arguments go to wrangler, e.g. `scripts/dev.sh --port 9000`.
source "$(dirname "$0")/tools.sh"
cd "$ROOT"
exec wrangler dev --ip 127.0.0.1 "$@"

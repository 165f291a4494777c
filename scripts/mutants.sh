#!/usr/bin/env bash
# Mutation testing of the pure modules: cargo-mutants breaks the code one small way at a time
# (an operator flipped, a function body replaced, a match arm deleted) and runs the native
# tests (`cargo test`) against each mutant; a mutant the tests still pass is a hole in them.
# Slow (about 20 minutes on 2 cores), so not part of the README's test command.
# docs/testing.md has the latest score and why each survivor is left alive.
#
#   scripts/mutants.sh                      every pure module
#   scripts/mutants.sh -f src/ice.rs        one file (any further cargo-mutants options)
#
# Output: $MUTANTS_OUT (default: mutants.out/ in the repo, which .gitignore leaves out):
# caught.txt, missed.txt, unviable.txt, timeout.txt and the log of each mutant.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

CARGO_MUTANTS_VERSION=27.1.0
install_crate cargo-mutants "$CARGO_MUTANTS_VERSION" --locked

# Pure modules: no Workers runtime in the code under test, so native tests reach all of it.
FILES=(
  src/admin.rs
  src/admission.rs
  src/config.rs
  src/ice.rs
  src/lobby/alarm.rs
  src/lobby/list.rs
  src/lobby/merge.rs
  src/lobby/topology.rs
  src/protocol.rs
  src/room/history.rs
  src/room/lobby_report.rs
  src/room/relay.rs
  src/room/relay/door.rs
  src/room/relay/hands.rs
  src/room/relay/host.rs
  src/room_name.rs
  src/routes.rs
  src/text.rs
)
# The impure functions inside those files (they talk to the runtime: a Response, Env,
# storage, promises) are exercised by the integration tests in Miniflare instead.
EXCLUDE=(
  'AdminError::respond'
  'admin\.rs.*\b(handle|list_rooms|kick_peer|look_up)\b'
  'admission\.rs.*\b(refuse|admit|network)\b'
  'ice\.rs.*\b(respond|from_env)\b'
  'History::'
  'history\.rs.*\b(unconfirmed|call|settle)\b'
)

args=()
case " $* " in
  *" -f "* | *" --file "* | *" --file="*) ;; # files given: they replace the list
  *) for file in "${FILES[@]}"; do args+=(--file "$file"); done ;;
esac
for re in "${EXCLUDE[@]}"; do args+=(--exclude-re "$re"); done

# Each job builds in its own copy of the tree (without what .gitignore leaves out:
# node_modules is 500 MB); one target dir kept in the tool cache means the
# dependencies are built once, not once per job and run (the jobs' builds take turns, their
# tests overlap). The `mutants` profile (Cargo.toml) drops debug info, and `--lib` builds only
# the unit tests (tests/wasm.rs is wasm-only): hundreds of builds.
export CARGO_TARGET_DIR="$TOOLS/mutants-target"
out="${MUTANTS_OUT:-$ROOT}"
say "cargo mutants: native tests of the pure modules, output in $out/mutants.out"
cd "$ROOT"
exec cargo mutants --jobs "${MUTANTS_JOBS:-2}" --timeout "${MUTANTS_TIMEOUT:-120}" \
  --profile mutants --cargo-test-arg=--lib --gitignore true --output "$out" "${args[@]}" "$@"

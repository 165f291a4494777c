// What the worker's wasm is made of, by crate: builds the worker's wasm as a release build
// does, but with the linker's map of every function and constant it placed, and prints the
// code and the data by the crate they come from. For deciding what to cut (docs/benchmarks.md,
// "The worker's size").
//
//   source scripts/tools.sh && node bench/wasm-breakdown.mjs
//
// Its own cargo target directory beside tools.sh's (the link flag changes every crate's
// fingerprint): the first run builds everything once, a few minutes. Sizes are the linker's, before wasm-bindgen and
// wasm-opt, which shave a few per cent off the code; the data goes through them unchanged.
// The crate of a function is the one its symbol's path starts in: a generic function of `core`
// or `serde` that the linker kept once per type it is used with counts for that crate.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../tests/support/worker.mjs";

if (!process.env.CARGO_TARGET_DIR) throw new Error("source scripts/tools.sh first (it sets CARGO_TARGET_DIR)");
const target = `${process.env.CARGO_TARGET_DIR}-wasm-breakdown`;
const map = path.join(target, "room.map");
execFileSync(
  "cargo",
  [
    "build", "--release", "--lib", "--target", "wasm32-unknown-unknown",
    "--config", `target.wasm32-unknown-unknown.rustflags = ["-C", "link-arg=--Map=${map}"]`,
  ],
  { cwd: ROOT, stdio: "inherit", env: { ...process.env, CARGO_TARGET_DIR: target } },
);

// Each piece the linker placed is a line "address offset size file.o:(section or symbol)", and
// below it a line with the symbol alone; a section's own line names it (CODE, DATA, ...).
const code = new Map();
const data = new Map();
let section = null;
for (const line of readFileSync(map, "utf8").split("\n")) {
  const [, size, what] = /^\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+(\S.*)$/.exec(line) ?? [];
  if (!what) continue;
  if (/^[A-Z]+(\(.*\))?$/.test(what)) {
    section = what;
    continue;
  }
  const input = /^(.+):\((.+)\)$/.exec(what);
  if (!input) continue;
  const bytes = parseInt(size, 16);
  // wasm-bindgen reads its descriptor functions and deletes them: not part of the worker.
  if (section === "CODE" && !input[2].startsWith("__wbindgen_describe")) add(code, crateOfSymbol(input[2]), bytes);
  else if (section === "DATA") add(data, crateOfFile(input[1]), bytes);
}

print("Code (functions)", code);
print("Data (constant tables and strings)", data);

function add(byCrate, crate, bytes) {
  byCrate.set(crate, (byCrate.get(crate) ?? 0) + bytes);
}

/**
 * The crate a Rust symbol's path starts in (for our own crate, with its first module: `room`
 * is most of the code); a symbol that is not Rust's says so.
 */
function crateOfSymbol(symbol) {
  const v0 = /C(?:s[0-9A-Za-z]*_)?(\d+)/.exec(symbol.startsWith("_R") ? symbol : "");
  if (v0) {
    const after = v0.index + v0[0].length;
    const crate = symbol.substr(after, Number(v0[1]));
    const module = /^(?:s[0-9A-Za-z]*_)?(\d+)/.exec(symbol.slice(after + crate.length));
    return crate === "room" && module ? `room::${symbol.substr(after + crate.length + module[0].length, Number(module[1]))}` : crate;
  }
  const legacy = /^_ZN(\d+)/.exec(symbol);
  if (legacy) {
    // `_ZN4room8protocol...`, or `_ZN117_$LT$room..room..relay...` for an impl.
    let path = [symbol.substr(legacy[0].length, Number(legacy[1]))];
    if (path[0].startsWith("_$LT$")) path = path[0].slice(5).split("..");
    else {
      const next = /^(\d+)/.exec(symbol.slice(legacy[0].length + path[0].length));
      if (next) path.push(symbol.substr(legacy[0].length + path[0].length + next[0].length, Number(next[1])));
    }
    return path[0] === "room" && path[1] ? `room::${path[1].split("$")[0]}` : path[0];
  }
  return symbol.startsWith("__wbg") || symbol.startsWith("__wbindgen") ? "(wasm-bindgen glue)" : "(not Rust)";
}

/** The crate a data input came from: its rlib's name, or our own crate's object. */
function crateOfFile(file) {
  const rlib = /lib([a-z0-9_]+)-[0-9a-f]+\.rlib/.exec(file);
  if (rlib) return rlib[1];
  return /\/room\.room\./.test(file) ? "room" : "(linker)";
}

function print(title, byCrate) {
  const total = [...byCrate.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${title}: ${(total / 1024).toFixed(0)} KiB`);
  const rows = [...byCrate].sort((a, b) => b[1] - a[1]);
  for (const [crate, bytes] of rows.slice(0, 20)) {
    console.log(`${(bytes / 1024).toFixed(1).padStart(8)} KiB ${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${crate}`);
  }
  const rest = rows.slice(20).reduce((a, [, b]) => a + b, 0);
  if (rest) console.log(`${(rest / 1024).toFixed(1).padStart(8)} KiB ${((100 * rest) / total).toFixed(1).padStart(5)} %  (${rows.length - 20} more)`);
}

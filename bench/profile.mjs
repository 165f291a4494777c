// Where a Durable Object's time goes: runs one workload against Room (or the JavaScript
// baseline) in Miniflare with V8's inspector open, records a CPU profile of the worker's
// isolate while the load runs, and prints the functions by self and by inclusive time.
//
//   node bench/profile.mjs [room|jsdo] [standard|crowd|joinStorm]
//
// (after `source scripts/tools.sh` and a build; bench/'s packages installed by
// scripts/bench.sh). Release builds drop the wasm names section, so wasm functions show as
// numbers; for their Rust names build with `CARGO_PROFILE_RELEASE_STRIP=false worker-build
// --release` first (and build again normally afterwards). Percentages are of the samples taken; "(idle)" is the isolate waiting.
import { createServer } from "node:net";
import WebSocket from "ws";
import { roomMiniflare, jsDurableObject, BENCH_VARS as VARS } from "./lib/targets.mjs";
import { standard, knee, joinStorm } from "./lib/workloads.mjs";

const [which = "room", workload = "standard"] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const inspectorPort = await new Promise((resolve) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const target = which === "jsdo" ? await jsDurableObject(VARS, { inspectorPort }) : await roomMiniflare(VARS, { inspectorPort });

// The user worker's isolate (Miniflare's own service workers have other names).
const isolates = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
const isolate = isolates.find((i) => /core:user:/.test(i.title));
const inspector = new WebSocket(isolate.webSocketDebuggerUrl);
await new Promise((resolve) => inspector.once("open", resolve));
let nextId = 0;
const pending = new Map();
inspector.on("message", (data) => {
  const message = JSON.parse(data);
  pending.get(message.id)?.(message.result);
  pending.delete(message.id);
});
const call = (method, params = {}) =>
  new Promise((resolve) => {
    pending.set(++nextId, resolve);
    inspector.send(JSON.stringify({ id: nextId, method, params }));
  });

await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 100 });
const profiles = [];
if (workload === "joinStorm") {
  // The joins only: the goodbyes afterwards are another workload's cost.
  for (let i = 0; i < 5; i++) {
    await call("Profiler.start");
    await joinStorm(target, { allIn: async () => profiles.push((await call("Profiler.stop")).profile) });
  }
} else {
  // Profile the middle of the load: after the joins and the warm-up, before the goodbyes.
  const run = workload === "crowd" ? knee(target, { steps: [64], measureMs: 6000 }) : standard(target, { warmupMs: 1000, measureMs: 7000 });
  await sleep(workload === "crowd" ? 4000 : 2500);
  await call("Profiler.start");
  await sleep(3000);
  profiles.push((await call("Profiler.stop")).profile);
  await run;
}
inspector.close();
await target.stop();

const name = (node) => `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").pop()}`.trim();
const self = new Map();
const inclusive = new Map();
let total = 0;
for (const profile of profiles) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map(profile.nodes.flatMap((node) => (node.children ?? []).map((child) => [child, node.id])));
  for (const node of profile.nodes) {
    total += node.hitCount;
    self.set(name(node), (self.get(name(node)) ?? 0) + node.hitCount);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parentOf.get(id)) {
      const key = name(byId.get(id));
      if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + node.hitCount);
      seen.add(key);
    }
  }
}
const top = (map, n) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)} %  ${key}`)
    .join("\n");
console.log(`${which}, ${workload}: ${total} samples\n\nself:\n${top(self, 30)}\n\ninclusive:\n${top(inclusive, 50)}`);

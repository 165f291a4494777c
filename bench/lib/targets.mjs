// The servers under test, each started locally on a free loopback port:
// - Room in workerd through Miniflare (as the integration tests run it) and through `wrangler dev`;
// - the JavaScript Durable Object baseline (bench/js-do) and the floor, a Durable Object that
//   relays frames verbatim (bench/floor), in workerd through Miniflare;
// - the socket.io baseline (bench/socketio) in its own Node process.
// Each target says how to reach a room, which processes to charge CPU and memory to, and how to
// force a room into hibernation (null where the server has no such thing).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { startWorker, ROOT } from "../../tests/support/worker.mjs";
import { startDevServer } from "../../tests/support/dev-server.mjs";
import { within } from "../../tests/support/wait.mjs";
import { childrenNamed } from "./proc.mjs";

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NODE = process.execPath;

/**
 * The vars every Room-like target runs with: room for the crowded-room and join-storm
 * workloads, and Room's per-socket chat budget (5/s by default) and socket cap lifted, since
 * the load is the point here.
 */
export const BENCH_VARS = { MAX_PEERS: "1000", MAX_SOCKETS: "10000", CHAT_RATE_PER_SEC: "10000", CHAT_RATE_BURST: "100000" };

const roomPath = (name) => `/ws/rooms/${encodeURIComponent(name)}`;

/**
 * Room, the built worker (build/), in workerd through Miniflare configured from wrangler.toml.
 * `inspectorPort` opens V8's inspector (bench/profile.mjs).
 */
export async function roomMiniflare(vars, { inspectorPort } = {}) {
  const before = new Set(childrenNamed("workerd"));
  const worker = await startWorker({ vars, inspectorPort, liftLimits: true });
  const pids = childrenNamed("workerd").filter((pid) => !before.has(pid));
  return {
    kind: "ws",
    hibernates: true,
    roomUrl: (name) => worker.wsUrl + roomPath(name),
    pids: () => pids,
    evict: (name) => worker.evictRoom(name),
    stop: () => worker.stop(),
  };
}

/** Room through the README's run command, scripts/dev.sh (wrangler dev: it builds first). */
export async function roomWranglerDev(vars) {
  const server = await startDevServer({ vars, liftLimits: true });
  return {
    kind: "ws",
    hibernates: true,
    roomUrl: (name) => server.wsUrl + roomPath(name),
    pids: server.pids,
    evict: null,
    stop: server.stop,
  };
}

/** The plain JavaScript Durable Object baseline, in the same workerd, through Miniflare. */
export function jsDurableObject(vars, options) {
  return scriptDurableObject("jsdo", "js-do/worker.mjs", vars, options);
}

/** The floor: a JavaScript Durable Object relaying frames verbatim (bench/floor). */
export function floorDurableObject(vars, options) {
  return scriptDurableObject("floor", "floor/worker.mjs", vars, options);
}

/** A one-file JavaScript worker of bench/ whose `Room` class is the room, through Miniflare. */
async function scriptDurableObject(name, script, vars, { inspectorPort } = {}) {
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
    readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"),
  )[1];
  const before = new Set(childrenNamed("workerd"));
  const mf = new Miniflare(convertV4MiniflareOptions({
    name,
    modules: true,
    scriptPath: path.join(BENCH, script),
    compatibilityDate,
    durableObjects: { ROOMS: { className: "Room", useSQLite: true } },
    bindings: vars,
    host: "127.0.0.1",
    port: 0,
    inspectorPort,
  }));
  const base = (await mf.ready).href.replace(/\/$/, "").replace(/^http/, "ws");
  const pids = childrenNamed("workerd").filter((pid) => !before.has(pid));
  return {
    kind: "ws",
    hibernates: true,
    roomUrl: (room) => base + roomPath(room),
    pids: () => pids,
    evict: (room) => mf.unsafeEvictDurableObject(name, "Room", { name: room, webSockets: "hibernate" }),
    stop: () => mf.dispose(),
  };
}

/** The socket.io baseline in its own Node process. */
export async function socketIo() {
  const child = spawn(NODE, [path.join(BENCH, "socketio/server.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await within(
    10_000,
    "socket.io start",
    new Promise((resolve, reject) => {
      child.stdout.once("data", (chunk) => resolve(Number(chunk.toString().trim())));
      child.once("exit", (code) => reject(new Error(`socket.io server exited (${code})`)));
    }),
  );
  return {
    kind: "socket.io",
    hibernates: false,
    url: `http://127.0.0.1:${port}`,
    pids: () => [child.pid],
    evict: null,
    stop: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

// The servers under test, each started locally on a free loopback port:
// - Room in workerd through Miniflare (as the integration tests run it) and through `wrangler dev`;
// - the JavaScript Durable Object baseline (bench/js-do) in workerd through Miniflare;
// - the socket.io baseline (bench/socketio) in its own Node process.
// Each target says how to reach a room, which processes to charge CPU and memory to, and how to
// force a room into hibernation (null where the server has no such thing).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startWorker, ROOT } from "../../tests/support/worker.mjs";
import { within } from "../../tests/support/wait.mjs";
import { freePort } from "../../tests/support/net.mjs";
import { childrenNamed, processTree } from "./proc.mjs";

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NODE = process.execPath;

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

/**
 * wrangler.toml with the rate limits on opening sockets lifted (a join storm puts 100 sockets
 * into one room at once; the limits are not what is measured), written beside it so that its
 * relative paths hold; removed when the target stops.
 */
function liftedConfig() {
  const file = path.join(ROOT, ".wrangler-bench.toml");
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  writeFileSync(file, toml.replace(/simple = \{ limit = \d+/g, "simple = { limit = 1000000000"));
  return file;
}

/** Room through `wrangler dev` (which builds first, then serves through its proxy worker). */
export async function roomWranglerDev(vars) {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const persist = mkdtempSync(path.join(tmpdir(), "room-bench-"));
  const config = liftedConfig();
  const args = [
    path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
    "dev",
    ...["--config", config],
    ...["--ip", "127.0.0.1", "--port", port, "--inspector-port", inspectorPort],
    ...["--persist-to", persist, "--show-interactive-dev-session=false", "--log-level", "info"],
    ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
  const child = spawn(NODE, args.map(String), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: process.env });
  let output = "";
  await within(
    120_000,
    "wrangler dev start",
    new Promise((resolve, reject) => {
      const read = (chunk) => {
        output += chunk;
        if (/Ready on/.test(output)) resolve();
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
      child.once("exit", (code) => reject(new Error(`wrangler dev exited (${code}):\n${output.slice(-2000)}`)));
    }),
  ).catch((error) => {
    child.kill();
    throw error;
  });
  child.stdout.resume();
  child.stderr.resume();
  return {
    kind: "ws",
    hibernates: true,
    roomUrl: (name) => `ws://127.0.0.1:${port}${roomPath(name)}`,
    // wrangler's Node process, its proxy workerd and the worker's workerd.
    pids: () => processTree(child.pid),
    evict: null,
    stop: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await within(10_000, "wrangler dev stop", exited).catch(() => child.kill("SIGKILL"));
      rmSync(config, { force: true });
      rmSync(persist, { recursive: true, force: true });
    },
  };
}

/** The plain JavaScript Durable Object baseline, in the same workerd, through Miniflare. */
export async function jsDurableObject(vars, { inspectorPort } = {}) {
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
    readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"),
  )[1];
  const before = new Set(childrenNamed("workerd"));
  const mf = new Miniflare({
    name: "jsdo",
    modules: true,
    scriptPath: path.join(BENCH, "js-do/worker.mjs"),
    compatibilityDate,
    durableObjects: { ROOMS: { className: "Room", useSQLite: true } },
    bindings: vars,
    host: "127.0.0.1",
    port: 0,
    durableObjectsPersist: false,
    inspectorPort,
  });
  const base = (await mf.ready).href.replace(/\/$/, "").replace(/^http/, "ws");
  const pids = childrenNamed("workerd").filter((pid) => !before.has(pid));
  return {
    kind: "ws",
    hibernates: true,
    roomUrl: (name) => base + roomPath(name),
    pids: () => pids,
    evict: (name) => mf.unsafeEvictDurableObject("jsdo", "Room", { name, webSockets: "hibernate" }),
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

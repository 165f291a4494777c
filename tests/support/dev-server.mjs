// The README's run command, `scripts/dev.sh` (wrangler dev: a proxy workerd in front of the
// runtime workerd), started on a free loopback port for a test or a benchmark, with its own
// storage directory. What it costs (processes, memory, open sockets) is read from /proc.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { LIFTED_ROOM_VARS, ROOT } from "./worker.mjs";
import { within } from "./wait.mjs";
import { freePort } from "./net.mjs";
import { processTree } from "../../bench/lib/proc.mjs";

/**
 * wrangler.toml with the rate limits on opening sockets lifted (every browser and client of a
 * test comes from 127.0.0.1; the limits are not what is tested), written beside it so that
 * its relative paths hold. Returns its path; the caller removes it.
 */
function liftedConfig() {
  const file = path.join(ROOT, `.wrangler-lifted-${process.pid}.toml`);
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  writeFileSync(file, toml.replace(/simple = \{ limit = \d+/g, "simple = { limit = 1000000000"));
  return file;
}

/**
 * Starts `scripts/dev.sh` (which builds first) and resolves once wrangler says "Ready on".
 * @param {object} [options]
 * @param {Record<string,string>} [options.vars] `--var` overrides of wrangler.toml [vars]
 * @param {boolean} [options.liftLimits] lift wrangler.toml's `[[ratelimits]]` and the room's
 *   own budget of new sockets
 * @param {number} [options.inspectorPort] V8's inspector port (default: a free one)
 */
export async function startDevServer({ vars = {}, liftLimits = false, inspectorPort } = {}) {
  const port = await freePort();
  inspectorPort ??= await freePort();
  const persist = mkdtempSync(path.join(tmpdir(), "room-dev-"));
  const config = liftLimits ? liftedConfig() : null;
  if (liftLimits) vars = { ...LIFTED_ROOM_VARS, ...vars };
  const args = [
    path.join(ROOT, "scripts/dev.sh"),
    ...(config ? ["--config", config] : []),
    ...["--port", port, "--inspector-port", inspectorPort, "--persist-to", persist],
    ...["--show-interactive-dev-session=false", "--log-level", "info"],
    ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
  // Its own process group, so that stopping it stops wrangler's workerd processes too.
  const child = spawn("bash", args.map(String), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const read = (chunk) => (output = (output + chunk).slice(-20_000));
  child.stdout.on("data", read);
  child.stderr.on("data", read);
  const cleanUp = () => {
    if (config) rmSync(config, { force: true });
    rmSync(persist, { recursive: true, force: true });
  };
  try {
    await within(
      300_000, // the first run on a machine builds the worker from scratch
      "scripts/dev.sh to be ready",
      new Promise((resolve, reject) => {
        const check = setInterval(() => /Ready on/.test(output) && (clearInterval(check), resolve()), 100);
        exited.then(({ code }) => (clearInterval(check), reject(new Error(`scripts/dev.sh exited (${code}):\n${output.slice(-3000)}`))));
      }),
    );
  } catch (error) {
    killGroup(child.pid, "SIGKILL");
    cleanUp();
    throw error;
  }
  let running = true;
  exited.then(() => (running = false));
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    port,
    /** False once wrangler has exited. */
    get running() {
      return running;
    },
    /** The last 20,000 characters wrangler wrote. */
    output: () => output,
    exited,
    /** wrangler (dev.sh execs it), its proxy workerd and the worker's workerd. */
    pids: () => processTree(child.pid),
    stop: async () => {
      if (running) {
        killGroup(child.pid, "SIGTERM");
        await within(10_000, "scripts/dev.sh to stop", exited).catch(() => killGroup(child.pid, "SIGKILL"));
      }
      cleanUp();
    },
  };
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** How many sockets (of any kind) these processes hold open, from their file descriptors. */
export function openSockets(pids) {
  let count = 0;
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) count++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // gone
    }
  }
  return count;
}

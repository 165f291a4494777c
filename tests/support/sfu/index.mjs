// Starts the stand-in SFU (server.mjs) for a test, in a process of its own and in a process
// group of its own, so that stop() ends it and everything under it, and so that its media
// work does not share the test's event loop. It also ends when the test process does.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";

const SERVER = fileURLToPath(new URL("./server.mjs", import.meta.url));
/** The stand-in's niceness: ahead of the browsers (0), as a service on other machines would be. */
const STANDIN_PRIORITY = -10;

/**
 * @param {object} [options]
 * @param {string} [options.appId] the Realtime app id it accepts (random by default)
 * @param {string} [options.secret] the app secret it accepts as `Authorization: Bearer …`
 * @param {string} [options.host] the address it listens on (127.0.0.1)
 * @returns {Promise<{ url: string, appId: string, secret: string,
 *   sessions: () => Promise<object[]>, calls: () => Promise<object[]>, stop: () => Promise<void> }>}
 *   `url` is the API base (like `https://rtc.live.cloudflare.com/v1`), for REALTIME_API_URL.
 *   `sessions()` lists every session: `{sessionId, connectionState, tracks: [{location, mid,
 *   trackName, sessionId?, status, packetsReceived? | packetsSent?, …}]}`; `calls()` every API
 *   call so far: `{method, path, status, errorCode?, at, ms}` (when it came, as Date.now(), and
 *   how long the stand-in took).
 */
export async function startSfu({
  appId = randomBytes(16).toString("hex"),
  secret = randomBytes(32).toString("hex"),
  host = "127.0.0.1",
} = {}) {
  const child = spawn(
    process.execPath,
    [SERVER, "--host", host, "--port", "0", "--app-id", appId, "--secret", secret, "--exit-with-stdin"],
    { detached: true, stdio: ["pipe", "pipe", "pipe"] },
  );
  // The stand-in plays a service that has machines of its own; here it shares two cores with
  // six browsers, whose encoders would otherwise delay every packet and every API answer.
  // Lowering a niceness needs root (or CAP_SYS_NICE): without it, it runs as everything else.
  try {
    setPriority(child.pid, STANDIN_PRIORITY);
  } catch {
    // not allowed here
  }
  // Linux with autogroups (the default on desktops and here) shares the CPU fairly between
  // sessions first, and a niceness only counts within its own session. The stand-in, detached,
  // is a session of its own, and so is each browser: its niceness alone changed nothing
  // (measured: it waited 1-2.5 s of every 3 for a core, its event loop stalled up to 2.4 s,
  // and the sixth joiner's first frames came 5.3-9.2 s after the click). Its session's
  // niceness is what puts it ahead (stalls under 0.1 s, first frames in 3.9-4.7 s).
  try {
    writeFileSync(`/proc/${child.pid}/autogroup`, String(STANDIN_PRIORITY));
  } catch {
    // no autogroups, or not allowed here
  }
  let output = "";
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => killGroup("SIGKILL");
  process.once("exit", killOnExit);

  const url = await new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const found = output.match(/REALTIME_API_URL=(\S+)/);
      if (found) resolve(found[1]);
    });
    exited.then((code) => reject(new Error(`the stand-in SFU exited (${code}) before listening:\n${output}`)));
  });

  async function state() {
    const base = url.replace(/\/v1$/, "");
    const response = await fetch(`${base}/_standin/state`, { headers: { authorization: `Bearer ${secret}` } });
    return response.json();
  }

  return {
    url,
    appId,
    secret,
    sessions: async () => (await state()).sessions,
    calls: async () => (await state()).calls,
    /** How late the stand-in's event loop ran since the last sessions(), calls() or loopDelay(): { p50, p99, max } ms. */
    loopDelay: async () => (await state()).loopDelayMs,
    async stop() {
      process.off("exit", killOnExit);
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

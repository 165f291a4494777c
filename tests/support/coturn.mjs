// A real coturn (Debian's `turnserver`, installed by scripts/tools.sh `ensure_coturn`) on
// loopback, with a temporary config and log, checking credentials in the REST scheme
// (`use-auth-secret`) against `secret`, exactly as a deployment would.
import { spawn } from "node:child_process";
import { mkdtemp, writeFile, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./net.mjs";
import { sleep } from "./wait.mjs";

const BIN = process.env.TURNSERVER_BIN || "turnserver";

/** docs/security.md's private and special ranges a relay may never reach, but loopback. */
const PRIVATE_RANGES = [
  "0.0.0.0-0.255.255.255",
  "10.0.0.0-10.255.255.255",
  "100.64.0.0-100.127.255.255",
  "169.254.0.0-169.254.255.255",
  "172.16.0.0-172.31.255.255",
  "192.168.0.0-192.168.255.255",
  "224.0.0.0-255.255.255.255",
  "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

/**
 * @param {{ secret: string }} options
 * @returns {Promise<{ url: string, port: number, log: () => Promise<string>, stop: () => Promise<void> }>}
 */
export async function startCoturn({ secret }) {
  const dir = await mkdtemp(path.join(tmpdir(), "room-coturn-"));
  const port = await freePort({ udp: true });
  const logFile = path.join(dir, "turn.log");
  const config = [
    "listening-ip=127.0.0.1",
    "relay-ip=127.0.0.1",
    `listening-port=${port}`,
    "use-auth-secret",
    `static-auth-secret=${secret}`,
    "realm=room.test",
    "fingerprint",
    // Both browsers and their relayed addresses are on 127.0.0.1: coturn refuses loopback
    // peers unless told otherwise. Everything else of docs/security.md's hardening applies.
    "allow-loopback-peers",
    ...PRIVATE_RANGES.map((range) => `denied-peer-ip=${range}`),
    "no-tcp-relay",
    "user-quota=12",
    "total-quota=1200",
    "max-bps=500000",
    "no-tls",
    "no-dtls",
    "no-cli",
    "no-rfc5780",
    "no-multicast-peers",
    // Everything this server writes stays in the temporary directory.
    `userdb=${path.join(dir, "turndb")}`,
    `pidfile=${path.join(dir, "turnserver.pid")}`,
    `log-file=${logFile}`,
    "simple-log",
    "no-stdout-log",
  ].join("\n");
  const configFile = path.join(dir, "turnserver.conf");
  await writeFile(configFile, config + "\n");

  const child = spawn(BIN, ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const log = () => readFile(logFile, "utf8").catch(() => "");
  try {
    await waitForTcp(port, exited);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${error.message}\n${stderr}\n${await log()}`);
  }
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    port,
    log,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once something accepts TCP on `port`; rejects if the server exits or 10 s pass. */
async function waitForTcp(port, exited) {
  let gone = false;
  exited.then((code) => (gone = code ?? true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (gone !== false) throw new Error(`turnserver exited (${gone}) before listening`);
    const up = await new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error(`turnserver did not listen on ${port} within 10 s`);
}

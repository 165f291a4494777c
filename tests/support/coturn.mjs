// A real coturn (Debian's `turnserver`, installed by scripts/tools.sh `ensure_coturn`) on
// loopback or on a test network's "public" address, with a temporary config and log, checking
// credentials in the REST scheme (`use-auth-secret`) against `secret`, exactly as a
// deployment would.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
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
/** Loopback, the rest of docs/security.md's list: denied unless the browsers live there. */
const LOOPBACK_RANGES = ["127.0.0.0-127.255.255.255", "::1"];

/**
 * @param {object} options
 * @param {string} options.secret
 * @param {string} [options.ip] the address it listens and relays on. On loopback (the
 *   default) both browsers and their relays are on 127.0.0.1, so loopback peers are allowed;
 *   on any other address they are denied like every private range, as in a deployment.
 * @returns {Promise<{ url: string, port: number, log: () => Promise<string>, stop: () => Promise<void> }>}
 */
export async function startCoturn({ secret, ip = "127.0.0.1" }) {
  const dir = await mkdtemp(path.join(tmpdir(), "room-coturn-"));
  const port = await freePort({ udp: true, host: ip });
  const logFile = path.join(dir, "turn.log");
  const loopback = ip.startsWith("127.");
  const config = [
    `listening-ip=${ip}`,
    `relay-ip=${ip}`,
    `listening-port=${port}`,
    "use-auth-secret",
    `static-auth-secret=${secret}`,
    "realm=room.test",
    "fingerprint",
    // On loopback both browsers and their relayed addresses are on 127.0.0.1: coturn refuses
    // loopback peers unless told otherwise. Everything else of docs/security.md's hardening
    // applies.
    ...(loopback ? ["allow-loopback-peers"] : LOOPBACK_RANGES.map((range) => `denied-peer-ip=${range}`)),
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
  // A test process that ends without calling `stop` (interrupted by a signal) takes the
  // server and its directory with it.
  const killOnExit = () => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  const log = () => readFile(logFile, "utf8").catch(() => "");
  try {
    await waitForTcp(ip, port, exited);
  } catch (error) {
    process.off("exit", killOnExit);
    child.kill("SIGKILL");
    throw new Error(`${error.message}\n${stderr}\n${await log()}`);
  }
  return {
    url: `turn:${ip}:${port}?transport=udp`,
    port,
    log,
    async stop() {
      process.off("exit", killOnExit);
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once something accepts TCP on `ip`:`port`; rejects if the server exits or 10 s pass. */
async function waitForTcp(ip, port, exited) {
  let gone = false;
  exited.then((code) => (gone = code ?? true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (gone !== false) throw new Error(`turnserver exited (${gone}) before listening`);
    const up = await new Promise((resolve) => {
      const socket = connect(port, ip);
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error(`turnserver did not listen on ${port} within 10 s`);
}

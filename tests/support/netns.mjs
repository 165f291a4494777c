// Real networks on this machine, for browsers behind NATs (tests/browser/networks.test.mjs).
// Needs root, `ip` and `nft` (scripts/tools.sh `ensure_nftables`).
//
//   the "internet": bridge rn-br0, 198.51.100.1/24 (the worker and coturn listen here)
//     ├─ NAT rn-nat1: wan 198.51.100.11 ── lan 10.1.0.1 ── home rn-home1: 10.1.0.2 (a browser)
//     ├─ NAT rn-nat2: wan 198.51.100.12 ── lan 10.2.0.1 ── home rn-home2: 10.2.0.2
//     └─ …
//
// The bridge is the only thing added to the machine's own (root) namespace: its routing,
// forwarding and firewall are left alone, and so are its real interfaces. Each NAT is a
// namespace that forwards (ip_forward there only) and masquerades with nftables; it has no
// default route, so a home can reach the "internet" and nothing else. Every name starts with
// `rn-`: `removeNetworks` deletes whatever has that prefix, a previous run's leftovers included
// (the nftables tables live inside the NAT namespaces and go with them).
import { execFile, execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { CHROMIUM_BIN } from "./browser.mjs";

const run = promisify(execFile);
const PREFIX = "rn-";
const BRIDGE = `${PREFIX}br0`;
/** The "public" side: TEST-NET-2 (RFC 5737), documentation only, never routed anywhere. */
export const INTERNET_IP = "198.51.100.1";
/** Where the programs that start Chromium in a namespace are written. */
const WRAPPERS = path.join(tmpdir(), `${PREFIX}chromium`);

/** Runs `ip …` (in namespace `ns`, if given); rejects with its stderr. */
async function ip(args, ns) {
  const command = ns ? ["netns", "exec", ns, "ip", ...args] : args;
  await run("ip", command);
}

/** Loads an nftables script into namespace `ns`. */
async function nft(ns, script) {
  const child = execFile("ip", ["netns", "exec", ns, "nft", "-f", "-"]);
  child.stdin.end(script);
  await new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`nft failed (${code}): ${stderr}\n${script}`))));
  });
}

/**
 * Why networks cannot be built here (not root, no `nft`, namespaces refused), or null when
 * they can. Tries a real namespace rather than guessing.
 */
export async function whyNoNetworks() {
  if (process.getuid?.() !== 0) return "the network tests need root (network namespaces, veth, nftables)";
  for (const tool of ["ip", "nft"]) {
    try {
      await run(tool, ["-V"]);
    } catch {
      return `the network tests need \`${tool}\` (scripts/tools.sh ensure_nftables installs it)`;
    }
  }
  const probe = `${PREFIX}probe`;
  try {
    await ip(["netns", "delete", probe]).catch(() => {}); // an interrupted run's
    await ip(["netns", "add", probe]);
    await run("ip", ["netns", "exec", probe, "nft", "list", "tables"]);
  } catch (error) {
    return `this machine refuses network namespaces or nftables: ${error.stderr || error.message}`;
  } finally {
    await ip(["netns", "delete", probe]).catch(() => {});
  }
  return null;
}

/**
 * Deletes every namespace and root-namespace link named `rn-…` and the Chromium wrappers,
 * synchronously so that it can run from a process `exit` handler. Deleting a namespace takes
 * its veths (and their peers) and its nftables tables with it.
 */
export function removeNetworks() {
  const list = (args) => execFileSync("ip", args, { encoding: "utf8" }).split("\n");
  const ours = (names) => names.filter((name) => name?.startsWith(PREFIX));
  const links = () => ours(list(["-o", "link", "show"]).map((line) => line.split(": ")[1]?.split("@")[0]));
  for (const ns of ours(list(["netns", "list"]).map((line) => line.split(" ")[0]))) {
    execFileSync("ip", ["netns", "delete", ns]);
  }
  // The kernel dismantles a deleted namespace in the background: its veths' other ends (the
  // bridge ports) go a moment later. Wait for that, so that names can be used again at once.
  const deadline = Date.now() + 5000;
  for (let left = links(); left.length > 0 && Date.now() < deadline; left = links()) {
    for (const link of left) {
      try {
        execFileSync("ip", ["link", "delete", link], { stdio: "ignore" });
      } catch {
        // Already going with its namespace.
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  if (links().length > 0) throw new Error(`could not remove the test networks' links: ${links()}`);
  rmSync(WRAPPERS, { recursive: true, force: true });
}

/** Removes the networks when this process ends, however it ends (a failed test, Ctrl-C, a kill). */
function removeNetworksOnExit() {
  process.once("exit", removeNetworks);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => {
      removeNetworks();
      process.exit(128 + constants.signals[signal]);
    });
  }
}

/** The "internet": a bridge in the root namespace with INTERNET_IP, after removing leftovers. */
export async function createInternet() {
  removeNetworks();
  removeNetworksOnExit();
  await ip(["link", "add", BRIDGE, "type", "bridge"]);
  await ip(["addr", "add", `${INTERNET_IP}/24`, "dev", BRIDGE]);
  await ip(["link", "set", BRIDGE, "up"]);
}

/**
 * How a NAT picks the public port of each new flow:
 * - "preserving": Linux's default masquerade, which keeps the home's source port when it is
 *   free: the same public port whoever the home talks to (endpoint-independent mapping), so
 *   the address STUN reports works for everyone and hole punching connects directly;
 * - "random": `fully-random`, a fresh random port for every destination (address- and
 *   port-dependent mapping, a "symmetric" NAT): the STUN-reported port is useless to anyone
 *   but the STUN server, and two such homes can only meet through a relay.
 */
const MASQUERADE = { preserving: "masquerade", random: "masquerade fully-random" };

/**
 * A home behind its own NAT: namespaces `rn-nat<n>` (the router) and `rn-home<n>` (where a
 * browser runs). Resolves with the home's namespace, its public address and the controls a
 * test needs.
 * @param {number} n  1 to 200
 * @param {{ mapping?: keyof MASQUERADE }} [options]
 */
export async function createHome(n, { mapping = "preserving" } = {}) {
  const nat = `${PREFIX}nat${n}`;
  const home = `${PREFIX}home${n}`;
  const wan = `${nat}-wan`;
  const lan = `${nat}-lan`;
  const eth = `${home}-eth`;
  const publicIp = `198.51.100.${10 + n}`;
  const lanNet = `10.${n}.0`;

  await ip(["netns", "add", nat]);
  await ip(["netns", "add", home]);
  // The router's uplink: one end in the NAT, the other a port of the bridge.
  await ip(["link", "add", wan, "netns", nat, "type", "veth", "peer", "name", `${nat}-br`]);
  await ip(["link", "set", `${nat}-br`, "master", BRIDGE, "up"]);
  // The home's cable: router to home.
  await ip(["link", "add", lan, "netns", nat, "type", "veth", "peer", "name", eth, "netns", home]);
  for (const [ns, dev, address] of [
    [nat, wan, `${publicIp}/24`],
    [nat, lan, `${lanNet}.1/24`],
    [home, eth, `${lanNet}.2/24`],
  ]) {
    await ip(["addr", "add", address, "dev", dev], ns);
    await ip(["link", "set", dev, "up"], ns);
  }
  for (const ns of [nat, home]) await ip(["link", "set", "lo", "up"], ns);
  await ip(["route", "add", "default", "via", `${lanNet}.1`], home);
  await run("ip", ["netns", "exec", nat, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  await nft(nat, natRules(wan, mapping));

  return {
    namespace: home,
    publicIp,
    /** Switches the NAT's port mapping for flows from now on (existing ones keep theirs). */
    setMapping: (next) => nft(nat, `flush chain ip ${PREFIX}nat postrouting\n${masqueradeRule(wan, next)}`),
    /** Drops `percent` % of the packets through the router, both ways, at random (0: none). */
    setLoss: (percent) => setLinkRule(nat, percent > 0 ? `numgen random mod 100 < ${percent}` : null),
    /** Drops everything through the router, both ways, until `restore`: the home's link is cut. */
    cut: () => setLinkRule(nat, ""),
    restore: () => setLinkRule(nat, null),
    /** The packets that reached the router to be forwarded, and those of them it dropped, so far. */
    linkCounts: () => linkCounts(nat),
  };
}

/**
 * The NAT's tables: masquerade out of the uplink; a firewall, as on any home router, that
 * drops what comes in unasked; and an (empty) chain for link faults.
 *
 * The firewall matters for direct connections. A peer's first packets usually arrive before
 * the home has sent anything their way; without it they would be delivered to the router
 * itself, and conntrack would record that "connection", taking the public port the home's own
 * packets to that peer should leave from: masquerade would then pick another port, and the
 * peers would keep missing each other. Dropped before conntrack confirms them, they leave no
 * record behind.
 */
function natRules(wan, mapping) {
  return `
table ip ${PREFIX}nat {
  chain postrouting {
    type nat hook postrouting priority srcnat;
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${wan}" ct state new drop
  }
}
${masqueradeRule(wan, mapping)}
table inet ${PREFIX}link {
  counter arrived {}
  counter dropped {}
  chain forward {
    type filter hook forward priority filter; policy accept;
  }
}
${linkRules(null)}`;
}

function masqueradeRule(wan, mapping) {
  if (!MASQUERADE[mapping]) throw new Error(`unknown NAT mapping ${mapping}`);
  return `add rule ip ${PREFIX}nat postrouting oifname "${wan}" ${MASQUERADE[mapping]}\n`;
}

/**
 * The router's forward chain: count every packet, then drop those matching `fault` (an
 * nftables match: "" drops all), or none when `fault` is null.
 */
function linkRules(fault) {
  const chain = `inet ${PREFIX}link forward`;
  const drop = fault === null ? "" : `add rule ${chain} ${fault} counter name dropped drop\n`;
  return `flush chain ${chain}\nadd rule ${chain} counter name arrived\n${drop}`;
}

function setLinkRule(nat, fault) {
  return nft(nat, linkRules(fault));
}

async function linkCounts(nat) {
  const { stdout } = await run("ip", ["netns", "exec", nat, "nft", "-j", "list", "counters", "table", "inet", `${PREFIX}link`]);
  const counts = {};
  for (const { counter } of JSON.parse(stdout).nftables) if (counter) counts[counter.name] = counter.packets;
  return counts;
}

/**
 * A program that runs Chromium inside namespace `ns`, for playwright-core's `executablePath`
 * (playwright talks to the browser over a pipe, which the namespace does not affect).
 */
export async function chromiumIn(ns) {
  await mkdir(WRAPPERS, { recursive: true });
  const file = path.join(WRAPPERS, ns);
  await writeFile(file, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM_BIN} "$@"\n`);
  await chmod(file, 0o755);
  return file;
}

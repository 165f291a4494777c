// Call set-up: how long the third person of a call waits, from the click on Join to the first
// frame of a remote video, in Chromium with fake cameras on loopback, and where that time
// goes. Each run is a fresh room: Ada and Bob join and see each other, then Cy opens the lobby,
// types a name and clicks Join at once (as call.test.mjs does), and the run times Cy.
//
// Every page carries an init script (`instrument`) that timestamps, on the page's own clock,
// what the client does and what the browser reports: the click, the room socket, the welcome,
// getUserMedia, each RTCPeerConnection's descriptions, candidates, ICE and DTLS states, tracks,
// the first frame each <video> presents (requestVideoFrameCallback), and the main thread's
// long tasks. Nothing in the client is changed for it. Timings are reported, never asserted.
//
//   node bench/call-setup.mjs [runs]                    (default 12; needs the built worker)
//   node bench/call-setup.mjs [runs] --against main      (A/B: this tree's client and main's)
//   node bench/call-setup.mjs [runs] --sfu               (a room on the SFU, see below)
// writes test-results/call-setup.json, prints the table, and replaces the "Call set-up"
// section of docs/benchmarks.md (BENCH_OUT=- only prints).
//
// With --sfu the worker is configured for the SFU, pointed at the tests' stand-in SFU, with
// MESH_MAX=1: Bob's join moves the room to the SFU, and Cy joins a room already on it. That is
// the sixth joiner of tests/browser/sfu.test.mjs with two browsers beside it rather than five,
// so that its figure is the path's and not two cores shared by six browsers. It writes
// test-results/call-setup-sfu.json and its own section of docs/benchmarks.md.
import { execFileSync } from "node:child_process";
import { writeFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import os from "node:os";
import path from "node:path";
import { startWorker, ROOT } from "../tests/support/worker.mjs";
import { startSfu } from "../tests/support/sfu/index.mjs";
import { realtimeVars } from "../tests/support/sfu-member.mjs";
import { launchBrowser } from "../tests/support/browser.mjs";
import { LOCAL_ICE, RESULTS, openLobby } from "../tests/support/ui.mjs";
import { sleep } from "../tests/support/wait.mjs";
import { SFU_SETUP_BEGIN, SFU_SETUP_END, callSetupSection, replaceKept } from "./lib/report.mjs";

export const RESULT_FILE = path.join(RESULTS, "call-setup.json");
const SFU_RESULT_FILE = path.join(RESULTS, "call-setup-sfu.json");
const DEFAULT_RUNS = 12;
/** One run's bound: a set-up that takes this long is recorded as failed, not waited for. */
const RUN_LIMIT_MS = 20_000;

/**
 * Runs in every page before its scripts: records `window.setupTrace` as [name, ms since the
 * page's time origin, detail]. Wraps only the browser's own objects.
 */
function instrument() {
  const trace = (window.setupTrace = []);
  const mark = (name, detail = null) => trace.push([name, performance.now(), detail]);
  document.addEventListener("click", (e) => e.target.closest?.("#join") && mark("click"), true);

  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => {
    mark("gum-start");
    return gum(constraints).then((stream) => (mark("gum-done"), stream));
  };

  const kindOf = (data) => data?.description?.type ?? (data?.candidate ? "candidate" : "other");
  // Each `sfu` call by its request number, to name its answer.
  const sfuCalls = new Map();
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(url, protocols) {
      super(url, protocols);
      const which = new URL(url).pathname.startsWith("/ws/rooms/") ? "room" : "lobby";
      mark(`${which}-ws-new`);
      this.addEventListener("open", () => mark(`${which}-ws-open`));
      if (which !== "room") return;
      this.addEventListener("message", ({ data }) => {
        let frame;
        try {
          frame = JSON.parse(data);
        } catch {
          return;
        }
        if (frame.type === "signal") mark(`recv-${kindOf(frame.data)}`, frame.from);
        else if (frame.type === "welcome" || frame.type === "peer_joined") mark(frame.type);
        else if (frame.type === "sfu") mark(`sfu-${sfuCalls.get(frame.req)}-answered`);
      });
    }
    send(text) {
      try {
        const frame = JSON.parse(text);
        if (frame.type === "signal") mark(`send-${kindOf(frame.data)}`, frame.to);
        else if (frame.type === "join") mark("join-sent");
        else if (frame.type === "sfu") {
          sfuCalls.set(frame.req, frame.call);
          mark(`sfu-${frame.call}`);
        }
      } catch {
        // "ping"
      }
      return super.send(text);
    }
  };

  let pcs = 0;
  const NativePc = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePc {
    constructor(config) {
      super(config);
      const n = ++pcs;
      const on = (type, name) => this.addEventListener(type, () => mark(name(this), n));
      mark("pc-new", n);
      on("icegatheringstatechange", (pc) => `gathering-${pc.iceGatheringState}`);
      on("iceconnectionstatechange", (pc) => `ice-${pc.iceConnectionState}`);
      on("connectionstatechange", (pc) => `pc-${pc.connectionState}`);
      on("signalingstatechange", (pc) => `signaling-${pc.signalingState}`);
      on("negotiationneeded", () => "negotiationneeded");
      on("track", () => "track");
      this.addEventListener("icecandidate", ({ candidate: c }) =>
        c ? mark(`candidate-${c.type}`, `${n} ${c.protocol} ${c.address}`) : mark("candidates-end", n),
      );
    }
  };

  // Tasks that held the page's main thread for 50 ms or more (marked at their start).
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) trace.push(["long-task", task.startTime, Math.round(task.duration)]);
  }).observe({ type: "longtask" });

  // The first frame each video element presents (tiles are made and filled by the client).
  const watched = new WeakSet();
  const watch = (video) => {
    if (watched.has(video)) return;
    watched.add(video);
    video.requestVideoFrameCallback(() => mark("frame", video.closest(".tile")?.dataset.peer ?? "?"));
  };
  new MutationObserver(() => document.querySelectorAll(".tile[data-peer] video").forEach(watch)).observe(document, {
    childList: true,
    subtree: true,
  });
}

/** A page's trace as absolute times (ms since the epoch, the same clock on every page). */
function readTrace(page) {
  return page.evaluate(() => window.setupTrace.map(([name, t, detail]) => [name, performance.timeOrigin + t, detail]));
}

/**
 * The steps of Cy's set-up, each the time (ms after the click) of the first event of that
 * name in Cy's trace, or from Ada's and Bob's traces for what happens on their side.
 */
export const STEPS = [
  ["gum-done", "getUserMedia resolved (started when the page loaded)"],
  ["room-ws-open", "room socket open"],
  ["welcome", "welcome"],
  ["send-offer", "first offer sent"],
  ["peer-recv-offer", "first offer received by Ada or Bob"],
  ["peer-send-answer", "first answer sent by Ada or Bob"],
  ["recv-answer", "first answer received"],
  ["candidate-host", "first host candidate gathered"],
  ["ice-connected", "first ICE connection (a candidate pair works)"],
  ["pc-connected", "first connection (DTLS done)"],
  ["track", "first remote track"],
  ["frame", "first remote frame shown"],
  ["gathering-complete", "first gathering complete"],
];

/** The steps of Cy's set-up in a room on the SFU: one connection, to the SFU, through the room. */
export const SFU_STEPS = [
  ["gum-done", "getUserMedia resolved (started when the page loaded)"],
  ["room-ws-open", "room socket open"],
  ["welcome", "welcome"],
  ["sfu-session-answered", "SFU session made"],
  ["sfu-publish", "publish sent (the subscribe right behind it)"],
  ["sfu-publish-answered", "publish answered"],
  ["sfu-subscribe-answered", "subscribe answered (the SFU's offer)"],
  ["sfu-renegotiate", "answer to the SFU's offer sent"],
  ["ice-connected", "ICE connected"],
  ["pc-connected", "connected (DTLS done)"],
  ["sfu-renegotiate-answered", "renegotiate answered"],
  ["track", "first remote track"],
  ["frame", "first remote frame shown"],
];

/**
 * Opens the lobby, types a name and the room and clicks Join (ui.mjs's `joinRoom` without its
 * wait for the call page, which polls the page on every animation frame: load on the page
 * being timed).
 */
async function join(page, nick, room) {
  await page.locator("#nick").fill(nick);
  await page.locator("#room-name").fill(room);
  await page.click("#join");
}

/** Waits until `n` remote tiles of the page have presented a frame. */
function waitFrames(page, n) {
  return page.waitForFunction((n) => window.setupTrace.filter(([name]) => name === "frame").length >= n, n, {
    timeout: RUN_LIMIT_MS,
    polling: 100,
  });
}

/** One three-person set-up in a fresh room; resolves with Cy's `steps` (ms after the click). */
async function oneRun(browser, url, room, steps) {
  const pages = [];
  const open = async () => {
    const page = await openLobby(browser, url + "/", { init: instrument });
    pages.push(page);
    return page;
  };
  try {
    const ada = await open();
    await join(ada, "Ada", room);
    const bob = await open();
    await join(bob, "Bob", room);
    await Promise.all([ada, bob].map((page) => waitFrames(page, 1)));
    const cy = await open();
    await join(cy, "Cy", room);
    await waitFrames(cy, 2);
    const [cyTrace, adaTrace, bobTrace] = await Promise.all([cy, ada, bob].map(readTrace));
    const click = cyTrace.find(([name]) => name === "click")[1];
    const first = (trace, name, after = click) => trace.find(([n, t]) => n === name && t >= after)?.[1];
    const times = {};
    for (const [name] of steps) {
      const peerStep = name.startsWith("peer-") ? name.slice(5) : null;
      const at = peerStep
        ? Math.min(...[adaTrace, bobTrace].map((trace) => first(trace, peerStep) ?? Infinity))
        : first(cyTrace, name, name === "gum-done" ? -Infinity : click);
      times[name] = Number.isFinite(at) ? Math.round(at - click) : null;
    }
    // The frames from Ada and from Bob: the second tells whether one connection held up the other.
    const frames = cyTrace.filter(([n]) => n === "frame").map(([, t]) => Math.round(t - click));
    const relative = (trace) => trace.map(([n, t, d]) => [n, Math.round(t - click), d]);
    return { ms: times.frame, steps: times, frames, traces: { cy: relative(cyTrace), ada: relative(adaTrace), bob: relative(bobTrace) } };
  } finally {
    await Promise.all(pages.map((page) => page.context().close()));
  }
}

/** p50, p90 and max of the finite values (nearest rank), with their count; null if none. */
function distribution(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), max: sorted.at(-1) };
}

/** The distribution of the total and of each of `steps` over `results` (failed runs left out). */
function summarise(results, steps) {
  const ok = results.filter((r) => !r.error);
  return {
    runs: results.length,
    failed: results.length - ok.length,
    ...distribution(ok.map((r) => r.ms)),
    steps: steps.map(([step, label]) => ({ step, label, ...distribution(ok.map((r) => r.steps[step])) })),
    all: results,
  };
}

/**
 * `runs` set-ups, on a worker and a browser of their own. With `against` (a git revision),
 * as many again with that revision's web client, alternating run by run so that the machine's
 * load hits both alike: the A/B of a client change. Resolves with the distribution of the
 * total and of each step, every run's figures, and the machine's load.
 */
export async function measureCallSetup({ runs = DEFAULT_RUNS, against = null, sfu = false, log = () => {} } = {}) {
  const variants = [{ name: "this tree", site: undefined }];
  let scratch = null;
  if (against) {
    scratch = await mkdtemp(path.join(os.tmpdir(), "call-setup-"));
    const archive = execFileSync("git", ["-C", ROOT, "archive", against, "site"], { maxBuffer: 1 << 28 });
    execFileSync("tar", ["-x", "-C", scratch], { input: archive });
    variants.push({ name: against, site: path.join(scratch, "site") });
  }
  const steps = sfu ? SFU_STEPS : STEPS;
  const standIn = sfu ? await startSfu() : null;
  const vars = sfu ? { ...LOCAL_ICE, ...realtimeVars(standIn), MESH_MAX: "1" } : LOCAL_ICE;
  const browser = await launchBrowser();
  for (const variant of variants) {
    variant.worker = await startWorker({ vars, liftLimits: true, site: variant.site });
    variant.results = [];
  }
  const loadBefore = os.loadavg();
  try {
    for (let i = 0; i < runs; i++) {
      for (const variant of i % 2 ? [...variants].reverse() : variants) {
        const label = `${variant.name}, run ${i + 1}/${runs}`;
        try {
          const run = await oneRun(browser, variant.worker.url, `setup-${process.pid}-${i}`, steps);
          run.load = os.loadavg()[0];
          variant.results.push(run);
          log(`${label}: ${run.ms} ms (frames at ${run.frames.join(", ")} ms), load average ${run.load.toFixed(1)}`);
        } catch (error) {
          variant.results.push({ error: error.message.split("\n")[0] });
          log(`${label} failed: ${error.message.split("\n")[0]}`);
        }
        await sleep(300); // the closed pages' processes wind down
      }
    }
  } finally {
    await browser.close();
    for (const variant of variants) await variant.worker?.stop();
    await standIn?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  const [mine, baseline] = variants.map((variant) => summarise(variant.results, steps));
  return {
    date: new Date().toISOString(),
    sfu,
    cores: os.cpus().length,
    load: { before: loadBefore, after: os.loadavg() },
    ...mine,
    ...(baseline && { against: { revision: against, ...baseline } }),
  };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { against: { type: "string" }, sfu: { type: "boolean", default: false } },
  });
  const runs = Number(positionals[0] ?? DEFAULT_RUNS);
  const log = (line) => process.stderr.write(`[call-setup] ${line}\n`);
  const result = await measureCallSetup({ runs, against: values.against, sfu: values.sfu, log });
  await mkdir(RESULTS, { recursive: true });
  await writeFile(values.sfu ? SFU_RESULT_FILE : RESULT_FILE, JSON.stringify(result, null, 2));
  const section = callSetupSection(result);
  process.stdout.write(section.join("\n") + "\n");
  if (process.env.BENCH_OUT === "-") return;
  const file = path.join(ROOT, "docs/benchmarks.md");
  const doc = await readFile(file, "utf8");
  const text = section.join("\n") + "\n";
  await writeFile(file, values.sfu ? replaceKept(doc, SFU_SETUP_BEGIN, SFU_SETUP_END, text) : replaceSection(doc, section));
}

/** `markdown` with its "## Call set-up" section replaced by `section` (appended if absent). */
function replaceSection(markdown, section) {
  const start = markdown.indexOf("\n## Call set-up\n");
  if (start < 0) return markdown.trimEnd() + "\n\n" + section.join("\n") + "\n";
  // It ends at the next section, or at the SFU set-up's marked part that may follow it.
  const ends = [markdown.indexOf("\n## ", start + 1), markdown.indexOf(`\n${SFU_SETUP_BEGIN}`, start + 1)].filter((i) => i >= 0);
  const next = ends.length ? Math.min(...ends) : -1;
  return markdown.slice(0, start + 1) + section.join("\n") + "\n" + (next < 0 ? "" : markdown.slice(next));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();

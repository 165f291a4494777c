// The lobby workload: how much the public room list takes before it falls behind.
//
// One worker (the built one, in workerd through Miniflare) with `shards` lobby shards and
// `fanouts` fan-out objects (LOBBY_SHARDS, LOBBY_FANOUT). A table of `rooms` rooms is reported
// first (counts 1 to 8, one in ten private), as rooms would (src/lobby: POST /report to the
// room's shard, here from a driver worker in the same workerd, bench/lobby-driver, in batches,
// so that the load is the lobby's and not the rooms' or Node's). Then:
//
// - reports/s: reports about random rooms of the table at a rising offered rate, while a few
//   lobby pages listen; the rate passes while a change still reaches them within 1 s (p99)
//   and the lobby keeps up with the offered rate (≥ 90 % answered);
// - sockets: 100, 1,000, … open lobby sockets, a background of reports, and how long a change
//   takes to reach every one of them (p50/p99 over every socket and change).
//
// A change is timed with a marker room whose count rises by one every time: a page has the
// change at the first frame showing that count or a later one (frames are coalesced, so a
// later count stands for every earlier one).
import os from "node:os";
import WebSocket from "ws";
import path from "node:path";
import { startWorker, ROOT } from "../../tests/support/worker.mjs";
import { childrenNamed, cpuSeconds, memoryMiB } from "./proc.mjs";
import { summary } from "./workloads.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MARKER = "bench-marker";
const MARKER_COUNT = new RegExp(`"name":"${MARKER}","count":(\\d+)`);
/** Marker counts start high, so the marker room always tops the list. */
const MARKER_BASE = 1_000_000;
const ON_TIME_MS = 1000;

/**
 * Starts a worker with this lobby layout, and beside it the report driver
 * (bench/lobby-driver), which `send` hands batches of reports. The check interval is
 * long: the rooms are made up.
 */
export async function lobbyTarget({ shards = 1, fanouts = 1 } = {}) {
  const before = new Set(childrenNamed("workerd"));
  const vars = { LIST_AFTER_SECONDS: "0", LOBBY_CHECK_SECONDS: "3600", LOBBY_SHARDS: String(shards), LOBBY_FANOUT: String(fanouts) };
  const driver = {
    name: "lobby-driver",
    modulesRoot: ROOT,
    modules: ["bench/lobby-driver/worker.mjs", "tests/support/lobby.mjs"].map((file) => ({ type: "ESModule", path: path.join(ROOT, file) })),
    compatibilityDate: "2026-07-28",
    durableObjects: { LOBBY: { className: "Lobby", scriptName: "room", useSQLite: true } },
  };
  const worker = await startWorker({ vars, liftLimits: true, extraWorkers: [driver] });
  const pids = childrenNamed("workerd").filter((pid) => !before.has(pid));
  const driverFetcher = await worker.mf.getWorker("lobby-driver");
  const send = async (reports) => {
    const res = await driverFetcher.fetch("https://driver/", { method: "POST", body: JSON.stringify({ shards, reports }) });
    return res.json();
  };
  return { worker, shards, fanouts, pids: () => pids, send, stop: () => worker.stop() };
}

/** Machine and server figures over a window: call `done()` at its end. */
function window(target) {
  const pids = target.pids();
  const [cpu0, gen0, t0] = [cpuSeconds(pids), process.cpuUsage(), performance.now()];
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const gen = process.cpuUsage(gen0);
    return {
      seconds,
      serverCpuShare: (cpuSeconds(pids) - cpu0) / seconds,
      generatorCpuShare: (gen.user + gen.system) / 1e6 / seconds,
      load1: os.loadavg()[0],
    };
  };
}

/** The marker room: `bump()` reports it one higher and remembers when. */
function marker(target) {
  const sentAt = [];
  return {
    sentAt,
    async bump() {
      sentAt.push(performance.now());
      await target.send([{ name: MARKER, count: MARKER_BASE + sentAt.length - 1, private: false }]);
    },
  };
}

/** A lobby page: records, per marker change, how long it took to show it. */
function watch(url, sentAt, latencies) {
  const ws = new WebSocket(`${url}/ws/lobby`, { perMessageDeflate: false });
  const page = { ws, seen: -1, frames: 0 };
  ws.on("message", (data) => {
    page.frames++;
    const match = MARKER_COUNT.exec(data.toString());
    if (!match) return;
    const seq = Number(match[1]) - MARKER_BASE;
    const now = performance.now();
    for (let s = page.seen + 1; s <= seq; s++) if (latencies.recording && sentAt[s] !== undefined) latencies.push(now - sentAt[s]);
    page.seen = Math.max(page.seen, seq);
  });
  page.open = new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return page;
}

async function openPages(url, count, sentAt, latencies, pages, concurrency = 50) {
  let next = pages.length;
  const opener = async () => {
    while (next < count) {
      next++;
      const page = watch(url, sentAt, latencies);
      pages.push(page);
      await page.open;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, opener));
}

/**
 * Sends reports about random rooms of the table at `rate`/s for `ms`, in batches (one driver
 * request each, every 10 ms); returns what was answered.
 */
async function reportsAt(target, rooms, rate, ms, { maxInFlight = 64, settleMs = 2000 } = {}) {
  let sent = 0;
  let answered = 0;
  let failed = 0;
  let inFlight = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate) - sent;
    if (due > 0 && inFlight < maxInFlight) {
      sent += due;
      inFlight++;
      const batch = Array.from({ length: due }, () => ({ ...rooms[Math.floor(Math.random() * rooms.length)], count: 1 + Math.floor(Math.random() * 8) }));
      target
        .send(batch)
        .then((answer) => ((answered += answer.answered), (failed += answer.failed)))
        .catch(() => (failed += batch.length))
        .finally(() => inFlight--);
    }
    await sleep(10);
  }
  while (inFlight > 0 && performance.now() - t0 < ms + settleMs) await sleep(10);
  // Over the offering window: a lobby that keeps up has answered (nearly) all within the
  // settling time, one that falls behind has not.
  return { offered: rate, sent, answered, failed, answeredPerSecond: answered / (ms / 1000) };
}

export async function lobby(
  target,
  { rooms = 2000, watchers = 20, rates = [250, 500, 1000, 2000, 4000, 8000, 16000], stepMs = 5000, socketSteps = [100, 1000, 5000], backgroundRate = 50, measureMs = 6000 } = {},
) {
  const url = target.worker.wsUrl;
  const table = Array.from({ length: rooms }, (_, i) => ({ name: `bench-room-${i}`, private: i % 10 === 0 }));
  const t0 = performance.now();
  // Every report of the table answered before anything is measured: a backlog would be
  // charged to the first step.
  await reportsAt(target, table, 4000, (rooms / 4000) * 1000 + 500, { settleMs: 60_000 });
  const populateMs = performance.now() - t0;

  const { sentAt, bump } = marker(target);
  const latencies = [];
  const pages = [];
  const result = { layout: { shards: target.shards, fanouts: target.fanouts }, rooms, populateMs, reportSteps: [], socketSteps: [] };
  try {
    await openPages(url, watchers, sentAt, latencies, pages);
    // One change through to every page first: the objects are awake and the lists merged.
    await bump();
    const synced = performance.now();
    while (pages.some((p) => p.seen < 0) && performance.now() - synced < 30_000) await sleep(50);
    // Reports per second, rising until a change is late or the lobby cannot keep up.
    for (const rate of rates) {
      latencies.length = 0;
      latencies.recording = true;
      const done = window(target);
      const markers = setInterval(bump, 200);
      const sent = await reportsAt(target, table, rate, stepMs, { settleMs: 1000 });
      clearInterval(markers);
      const figures = done();
      await sleep(1500);
      latencies.recording = false;
      const latency = summary(latencies);
      const ok = latency.p99 <= ON_TIME_MS && sent.answeredPerSecond >= 0.9 * rate && !sent.failed;
      result.reportSteps.push({ ...sent, latency, ...figures, ok });
      if (!ok) break;
      await sleep(500);
    }
    result.maxReportsPerSecond = Math.max(0, ...result.reportSteps.filter((s) => s.ok).map((s) => s.offered));

    // Lobby sockets, rising, under a background of reports.
    for (const sockets of socketSteps) {
      const opened = performance.now();
      try {
        await openPages(url, sockets, sentAt, latencies, pages);
      } catch (error) {
        result.socketSteps.push({ sockets, error: error.message, open: pages.length });
        break;
      }
      const openMs = performance.now() - opened;
      await sleep(1000);
      latencies.length = 0;
      latencies.recording = true;
      const done = window(target);
      const background = reportsAt(target, table, backgroundRate, measureMs);
      const firstMarker = sentAt.length;
      for (let t = 0; t < measureMs; t += 500) {
        await bump();
        await sleep(500);
      }
      await background;
      const figures = done();
      await sleep(2000);
      latencies.recording = false;
      const changes = sentAt.length - firstMarker;
      const missed = pages.filter((p) => p.seen < sentAt.length - 1).length;
      const latency = summary(latencies);
      result.socketSteps.push({ sockets: pages.length, openMs, changes, latency, missed, ...figures, memory: memoryMiB(target.pids()), ok: latency.p99 <= ON_TIME_MS && !missed });
    }
  } finally {
    for (const page of pages) page.ws.terminate();
    await sleep(300);
  }
  return result;
}

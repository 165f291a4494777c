// The workloads, each run against one target and returning plain figures:
//   manyRooms  many rooms of 8, everyone chatting at a fixed rate;
//   standard   4 rooms x 8 clients x 10 messages/s (the load the bar is set at);
//   burst      the same, but every client of a room sends at the same instant;
//   knee       one room grown step by step until relay latency passes a threshold;
//   joinStorm  100 clients joining one room at once;
//   wakeUp     the first message after the room was evicted (hibernated) with its sockets open;
//   coldStart  a freshly started server's first join (wasm compile and instantiation included).
// Every chat message must reach everyone in its room (the 7 others and, as the protocol says,
// the sender); a copy that never arrives is lost, one seen twice (or out of order) a duplicate.
import { benchText, joinRoom } from "./clients.mjs";
import { cpuSeconds, memoryMiB, machineBusySeconds } from "./proc.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let nextSender = 0;
let nextRoom = 0;

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

/** Counts copies as they arrive; latencies are kept only while recording. */
class Tracker {
  expected = 0;
  received = 0;
  duplicates = 0;
  deliveries = 0; // copies to peers other than the sender, while recording
  latencies = [];
  recording = false;
  #waiter = null;

  onChat = (peer, sender, seq, sentAt) => {
    const now = performance.now();
    this.received++;
    const last = peer.lastSeq.get(sender) ?? -1;
    if (seq <= last) this.duplicates++;
    else peer.lastSeq.set(sender, seq);
    if (this.recording && peer.index !== sender) {
      this.latencies.push(now - sentAt);
      this.deliveries++;
    }
    if (this.#waiter && this.received - this.duplicates >= this.expected) this.#waiter();
  };

  /** Waits until every expected copy arrived (or `ms` passed); returns the number lost. */
  async drained(ms) {
    if (this.received - this.duplicates < this.expected) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.#waiter = () => (clearTimeout(timer), resolve());
      });
      this.#waiter = null;
    }
    return this.expected - (this.received - this.duplicates);
  }
}

const onChat = (peer, ...chat) => peer.tracker.onChat(peer, ...chat);

/** Joins clients to `group` until it has `size` (at most `concurrency` joins in flight). */
async function fill(target, group, size, tracker, concurrency) {
  const joins = [];
  let next = group.peers.length;
  async function worker() {
    while (next < size) {
      next++;
      const peer = { index: nextSender++, seq: 0, lastSeq: new Map(), tracker };
      await joinRoom(target, group.name, `p${peer.index}`, peer, onChat);
      group.peers.push(peer);
      joins.push(peer.joinMs);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, size - next) }, worker));
  return joins;
}

function newGroups(count, label) {
  return Array.from({ length: count }, () => ({ name: `bench-${label}-${process.pid}-${nextRoom++}`, peers: [] }));
}

function closeAll(groups) {
  for (const group of groups) for (const peer of group.peers.splice(0)) peer.close();
  return sleep(300);
}

/**
 * Every client of `groups` chats at `rate` messages/s; figures from the `measureMs` window.
 * Spread out, each client starts at a random moment of the period; `together`, all clients
 * of a room send in the same instant (one timer a room), rooms still at random moments.
 */
async function traffic(target, groups, tracker, { rate, warmupMs, measureMs, drainMs = 3000, together = false }) {
  const period = 1000 / rate;
  const timers = [];
  const every = (send) => timers.push(setTimeout(() => (send(), timers.push(setInterval(send, period))), Math.random() * period));
  for (const group of groups) {
    const sends = group.peers.map((peer) => () => {
      peer.chat(benchText(peer.index, peer.seq++));
      tracker.expected += group.peers.length;
    });
    if (together) every(() => sends.forEach((send) => send()));
    else sends.forEach(every);
  }
  await sleep(warmupMs);
  const pids = target.pids();
  const [cpu0, gen0, busy0] = [cpuSeconds(pids), process.cpuUsage(), machineBusySeconds()];
  tracker.recording = true;
  const t0 = performance.now();
  await sleep(measureMs);
  tracker.recording = false;
  const seconds = (performance.now() - t0) / 1000;
  const serverCpu = cpuSeconds(pids) - cpu0;
  const gen = process.cpuUsage(gen0);
  const busy = machineBusySeconds() - busy0;
  for (const timer of timers) clearTimeout(timer), clearInterval(timer);
  const memory = memoryMiB(pids);
  const lost = await tracker.drained(drainMs);
  const unexpectedCloses = groups.flatMap((g) => g.peers).filter((p) => p.closedWith !== undefined).length;
  return {
    deliveriesPerSecond: tracker.deliveries / seconds,
    latency: summary(tracker.latencies),
    lost,
    duplicates: tracker.duplicates,
    unexpectedCloses,
    cpuMicrosPerDelivery: (serverCpu * 1e6) / tracker.deliveries,
    serverCpuShare: serverCpu / seconds,
    generatorCpuShare: (gen.user + gen.system) / 1e6 / seconds,
    // Everything else the machine ran meanwhile (other users of a shared machine), in cores.
    otherCpuShare: Math.max(0, busy - serverCpu - (gen.user + gen.system) / 1e6) / seconds,
    memory,
  };
}

export async function manyRooms(target, { rooms = 50, size = 8, rate = 1, warmupMs = 2000, measureMs = 6000 } = {}) {
  const tracker = new Tracker();
  const groups = newGroups(rooms, "many");
  const joins = [];
  try {
    for (const group of groups) joins.push(...(await fill(target, group, size, tracker, 8)));
    const result = await traffic(target, groups, tracker, { rate, warmupMs, measureMs });
    return { ...result, join: summary(joins), clients: rooms * size };
  } finally {
    await closeAll(groups);
  }
}

export async function standard(target, { rooms = 4, size = 8, rate = 10, warmupMs = 2000, measureMs = 8000, together = false } = {}) {
  const tracker = new Tracker();
  const groups = newGroups(rooms, together ? "burst" : "std");
  try {
    const joins = [];
    for (const group of groups) joins.push(...(await fill(target, group, size, tracker, 8)));
    const result = await traffic(target, groups, tracker, { rate, warmupMs, measureMs, together });
    // The join samples too, so that rounds can be pooled.
    return { ...result, join: summary(joins), joins };
  } finally {
    await closeAll(groups);
  }
}

/** The standard load with every client of a room sending at the same instant. */
export function burst(target, options) {
  return standard(target, { ...options, together: true });
}

/**
 * One room grown through `steps` clients, each chatting at `rate`/s; the knee is the largest
 * size whose relay p99 stayed under `thresholdMs` with nothing lost, duplicated or refused.
 */
export async function knee(
  target,
  { steps = [8, 16, 24, 32, 48, 64, 80, 96, 128, 160, 200], rate = 2, thresholdMs = 100, warmupMs = 500, measureMs = 2000, budgetMs = 60_000 } = {},
) {
  const [group] = newGroups(1, "knee");
  const started = performance.now();
  const results = [];
  let kneeSize = 0;
  try {
    for (const size of steps) {
      let step;
      // A step that fails is tried again, up to 3 times: on a shared machine, a burst of
      // other work only ever slows a step down, so the best attempt is the server's own.
      for (let attempt = 1; attempt <= 3; attempt++) {
        const tracker = new Tracker();
        for (const peer of group.peers) peer.tracker = tracker;
        try {
          await fill(target, group, size, tracker, 16);
          await sleep(200);
          step = { size, attempt, ...(await traffic(target, [group], tracker, { rate, warmupMs, measureMs, drainMs: 2000 })) };
        } catch (error) {
          step = { size, attempt, error: error.message };
        }
        step.ok = !step.error && step.latency.p99 <= thresholdMs && !step.lost && !step.duplicates && !step.unexpectedCloses;
        if (step.ok || step.error) break;
      }
      results.push(step);
      if (!step.ok) break;
      kneeSize = size;
      if (performance.now() - started > budgetMs) break;
    }
  } finally {
    await closeAll([group]);
  }
  const atKnee = results.find((step) => step.size === kneeSize);
  return { kneeSize, thresholdMs, rate, atKnee, beyond: results.find((step) => step.size > kneeSize), steps: results, reachedEnd: kneeSize === steps.at(-1) };
}

export async function joinStorm(target, { clients = 100, allIn = async () => {} } = {}) {
  const [group] = newGroups(1, "storm");
  const tracker = new Tracker();
  const pids = target.pids();
  const cpu0 = cpuSeconds(pids);
  const t0 = performance.now();
  try {
    const joins = await fill(target, group, clients, tracker, clients);
    const result = { join: summary(joins), allInMs: performance.now() - t0, serverCpuMs: (cpuSeconds(pids) - cpu0) * 1000 };
    await allIn();
    return result;
  } finally {
    await closeAll([group]);
  }
}

/**
 * A room of 8, idle, evicted with its sockets kept open (hibernation); then one message:
 * its latency to the 7 others. Targets without an eviction hook are left idle for `idleMs`
 * so the runtime evicts the room by itself; servers without hibernation are skipped.
 */
export async function wakeUp(target, { samples = 5, idleMs = 12_000, naturalSamples = 1 } = {}) {
  if (!target.hibernates) return { skipped: "no hibernation" };
  const [group] = newGroups(1, "wake");
  const tracker = new Tracker();
  tracker.recording = true;
  try {
    // One join at a time: workerd refuses to evict a Durable Object for a few seconds after
    // concurrent upgrade requests reached it ("it still has active references").
    await fill(target, group, 8, tracker, 1);
    const one = async () => {
      const sender = group.peers[0];
      tracker.latencies = [];
      sender.chat(benchText(sender.index, sender.seq++));
      tracker.expected += group.peers.length;
      const lost = await tracker.drained(5000);
      return { latency: summary(tracker.latencies), lost };
    };
    const warm = [];
    for (let i = 0; i < 3; i++) warm.push((await one()).latency.p50);
    const woken = [];
    let lost = 0;
    const n = target.evict ? samples : naturalSamples;
    for (let i = 0; i < n; i++) {
      if (target.evict) {
        await sleep(100);
        await target.evict(group.name);
      } else {
        await sleep(idleMs);
      }
      const sample = await one();
      woken.push(sample.latency.p50, sample.latency.max);
      lost += sample.lost;
    }
    return { wake: summary(woken), warm: summary(warm), lost, forced: Boolean(target.evict), samples: n };
  } finally {
    await closeAll([group]);
  }
}

/**
 * Starts a fresh server `samples` times: how long until it answers, then how long its first
 * join takes (the socket's upgrade, the Durable Object made, its code instantiated) and a
 * second one right after, in a new room, for comparison.
 */
export async function coldStart(start, { samples = 3 } = {}) {
  const readyMs = [];
  const firstJoinMs = [];
  const secondJoinMs = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const target = await start();
    readyMs.push(performance.now() - t0);
    const peers = [];
    try {
      for (const [room, times] of [["cold-1", firstJoinMs], ["cold-2", secondJoinMs]]) {
        const peer = { index: nextSender++, seq: 0, lastSeq: new Map() };
        await joinRoom(target, `bench-${room}-${process.pid}`, "p", peer, () => {});
        peers.push(peer);
        times.push(peer.joinMs);
      }
    } finally {
      for (const peer of peers) peer.close();
      await target.stop();
    }
  }
  return { readyMs: summary(readyMs), firstJoinMs: summary(firstJoinMs), secondJoinMs: summary(secondJoinMs) };
}

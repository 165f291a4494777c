// Runs every benchmark against every target in one go and writes docs/benchmarks.md.
// Started by scripts/bench.sh (which builds the worker and installs bench/'s packages first).
// Targets stay up side by side (idle when not measured) and each workload runs on all of them
// in turn, so that the machine's background load hits them alike; ratios come from one run.
//
// Environment: BENCH_TARGETS=room,wrangler,floor,jsdo,socketio (a subset to run),
// BENCH_WORKLOADS=standard,burst,manyRooms,joinStorm,wakeUp,knee,coldStart (a subset to run: a
// quick A/B of one change; "lobby" runs bench/lobby.mjs instead), BENCH_OUT=<file> (default
// docs/benchmarks.md; "-" prints only).
import { readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "../tests/support/worker.mjs";
import { roomMiniflare, roomWranglerDev, jsDurableObject, floorDurableObject, socketIo, BENCH_VARS as VARS } from "./lib/targets.mjs";
import { within } from "../tests/support/wait.mjs";
import { manyRooms, standard, burst, knee, joinStorm, wakeUp, coldStart, summary } from "./lib/workloads.mjs";
import { machine, memoryMiB } from "./lib/proc.mjs";
import { wasmSize } from "./lib/wasm-size.mjs";
import { LOBBY_BEGIN, LOBBY_END, SFU_SETUP_BEGIN, SFU_SETUP_END, UPSTREAM_BEGIN, UPSTREAM_END, keptRun, report } from "./lib/report.mjs";
import { sfuRoom } from "./lib/sfu.mjs";

const TARGETS = [
  { key: "room", label: "Room (Miniflare)", start: () => roomMiniflare(VARS), cold: true },
  { key: "wrangler", label: "Room (wrangler dev)", start: () => roomWranglerDev(VARS) },
  { key: "floor", label: "Floor (Miniflare)", start: () => floorDurableObject(VARS), cold: true },
  { key: "jsdo", label: "JS DO (Miniflare)", start: () => jsDurableObject(VARS), cold: true },
  { key: "socketio", label: "socket.io (Node)", start: () => socketIo() },
];

// Each workload with a time bound per target. First a short round of the standard load that
// is not counted: a long-lived Durable Object runs warm code (V8 optimises wasm lazily, once a
// function is hot), and a server just started does not. The standard load, which the bar is
// about, then runs three times, spread over the run, so that one burst of other work on the
// machine cannot decide it.
const warmUp = (server) => standard(server, { warmupMs: 1000, measureMs: 3000 });
const ALL_PHASES = [
  { key: "warmUp", run: warmUp, limitMs: 30_000 },
  { key: "standard", run: standard, limitMs: 40_000 },
  { key: "manyRooms", run: manyRooms, limitMs: 60_000 },
  { key: "standard2", run: standard, limitMs: 40_000 },
  { key: "burst", run: burst, limitMs: 40_000 },
  { key: "joinStorm", run: joinStorm, limitMs: 30_000 },
  { key: "wakeUp", run: wakeUp, limitMs: 40_000 },
  { key: "standard3", run: standard, limitMs: 40_000 },
  { key: "knee", run: knee, limitMs: 90_000 },
];

// scripts/bench.sh allows 9 minutes for this script; the servers need some of it to stop.
const DEADLINE_MS = 500_000;

const log = (message) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(3)}s] ${message}\n`);
const T0 = performance.now();

// The lobby's workload needs workers of its own (one per lobby layout): it has its own runner.
if (process.env.BENCH_WORKLOADS?.split(",").includes("lobby")) {
  await import("./lobby.mjs");
  process.exit(0);
}

const wanted = (process.env.BENCH_TARGETS ?? "room,wrangler,floor,jsdo,socketio").split(",");
const workloads = process.env.BENCH_WORKLOADS?.split(",");
const PHASES = ALL_PHASES.filter((phase) => !workloads || phase.run === warmUp || workloads.includes(phase.run.name));
const targets = TARGETS.filter((t) => wanted.includes(t.key));
const results = Object.fromEntries(targets.map((t) => [t.key, {}]));

// Interrupted (Ctrl-C, or scripts/bench.sh's time bound): stop every server before leaving.
const running = () => targets.filter((t) => t.server);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    log(`${signal}: stopping the servers`);
    await Promise.allSettled(running().map((t) => t.server.stop()));
    process.exit(130);
  });
}

// Cold starts first, while no other server runs: each a fresh workerd, started and stopped.
if (!workloads || workloads.includes("coldStart")) {
  for (const target of targets.filter((t) => t.cold)) {
    log(`coldStart on ${target.label}`);
    try {
      results[target.key].coldStart = await within(60_000, "coldStart", coldStart(target.start));
    } catch (error) {
      results[target.key].coldStart = { error: error.message };
      log(`  failed: ${error.message}`);
    }
  }
}

// A room on the SFU is Room's alone: its own worker (configured for the SFU) and the stand-in
// SFU, while no other server runs (after the cold starts, before the others start).
if (wanted.includes("room") && (!workloads || workloads.includes("sfuRoom"))) {
  for (const target of targets.filter((t) => t.key !== "room")) results[target.key].sfuRoom = { skipped: "Room only" };
  log("sfuRoom on Room (Miniflare) with the stand-in SFU");
  try {
    results.room.sfuRoom = await within(120_000, "sfuRoom", sfuRoom());
  } catch (error) {
    results.room.sfuRoom = { error: error.message };
    log(`  failed: ${error.message}`);
  }
}

for (const target of targets) {
  log(`starting ${target.label}`);
  try {
    target.server = await target.start();
  } catch (error) {
    target.error = error.message;
    log(`${target.label} did not start: ${error.message}`);
  }
}

try {
  for (const phase of PHASES) {
    for (const target of running()) {
      // The whole run stays inside its time budget: what would not fit is reported as not run.
      const left = DEADLINE_MS - performance.now();
      if (left < 10_000) {
        results[target.key][phase.key] = { error: "not run: out of time" };
        continue;
      }
      log(`${phase.key} on ${target.label}`);
      try {
        results[target.key][phase.key] = await within(Math.min(phase.limitMs, left), phase.key, phase.run(target.server));
      } catch (error) {
        results[target.key][phase.key] = { error: error.message };
        log(`  failed: ${error.message}`);
      }
    }
  }
  for (const target of running()) {
    const result = results[target.key];
    result.standard = mergeRounds(result.standard, result.standard2, result.standard3);
    delete result.standard2;
    delete result.standard3;
    delete result.warmUp;
    result.peakMemory = memoryMiB(target.server.pids());
  }
} finally {
  for (const target of running()) await target.server.stop().catch(() => {});
}


/**
 * The standard load's rounds as one: each figure is the median over the rounds (a round hit by
 * other work on the machine is outvoted), losses are added up.
 */
function mergeRounds(...rounds) {
  const ok = rounds.filter((round) => round && !round.error);
  if (!ok.length) return rounds.find(Boolean);
  const median = (pick) => {
    const values = ok.map(pick).sort((a, b) => a - b);
    const middle = values.length >> 1;
    return values.length % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  };
  return {
    rounds: ok.map((r) => ({
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
      cpuMicrosPerDelivery: r.cpuMicrosPerDelivery,
      otherCpuShare: r.otherCpuShare,
    })),
    deliveriesPerSecond: median((r) => r.deliveriesPerSecond),
    latency: { p50: median((r) => r.latency.p50), p99: median((r) => r.latency.p99), max: median((r) => r.latency.max) },
    lost: ok.reduce((sum, r) => sum + r.lost, 0),
    duplicates: ok.reduce((sum, r) => sum + r.duplicates, 0),
    unexpectedCloses: ok.reduce((sum, r) => sum + r.unexpectedCloses, 0),
    cpuMicrosPerDelivery: median((r) => r.cpuMicrosPerDelivery),
    serverCpuShare: median((r) => r.serverCpuShare),
    generatorCpuShare: median((r) => r.generatorCpuShare),
    otherCpuShare: median((r) => r.otherCpuShare),
    memory: ok.at(-1).memory,
    join: summary(ok.flatMap((r) => r.joins)),
    errors: rounds.filter((round) => round?.error).map((round) => round.error),
  };
}

/** bench/call-setup.mjs's figures without each run's page traces (they stay in its own file). */
function withoutTraces(callSetup) {
  return { ...callSetup, all: callSetup.all.map(({ traces: _traces, ...run }) => run) };
}

const wasmPath = path.join(ROOT, "build/index_bg.wasm");
const wasm = readFileSync(wasmPath);
const callSetupPath = path.join(ROOT, "test-results/call-setup.json");
const run = {
  date: new Date().toISOString(),
  machine: machine(),
  revision: execFileSync("git", ["-C", ROOT, "rev-parse", "--short=12", "HEAD"]).toString().trim(),
  wasm: wasmSize(wasm),
  callSetup: existsSync(callSetupPath) ? withoutTraces(JSON.parse(readFileSync(callSetupPath, "utf8"))) : null,
  seconds: (performance.now() - T0) / 1000,
  targets: targets.map(({ key, label, error }) => ({ key, label, error })),
  results,
};

mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
writeFileSync(path.join(ROOT, "test-results/bench.json"), JSON.stringify(run, null, 2));
const out = process.env.BENCH_OUT ?? path.join(ROOT, "docs/benchmarks.md");
const previous = existsSync(out) ? readFileSync(out, "utf8") : "";
const markdown = report(run, {
  previousLobbyRun: keptRun(previous, LOBBY_BEGIN, LOBBY_END),
  previousSfuSetupRun: keptRun(previous, SFU_SETUP_BEGIN, SFU_SETUP_END),
  previousUpstreamRun: keptRun(previous, UPSTREAM_BEGIN, UPSTREAM_END),
});
if (out !== "-") writeFileSync(out, markdown);
process.stdout.write(markdown.slice(markdown.indexOf("## Latest run")));
log(`done in ${run.seconds.toFixed(0)} s${out !== "-" ? `, written to ${path.relative(ROOT, out)}` : ""}`);

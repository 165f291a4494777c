// Runs the lobby workload (bench/lib/lobby.mjs) once per lobby layout and writes its table into
// docs/benchmarks.md, between the `lobby` markers (bench/run.mjs leaves that part alone).
// `BENCH_WORKLOADS=lobby node bench/run.mjs` runs it too.
//
// Environment: BENCH_LOBBY_LAYOUTS=1x1,4x4 (shards x fan-out objects, each a worker of its own),
// BENCH_LOBBY_SOCKETS=100,1000,5000 (the socket steps; 10,000 needs more than 20,000 file descriptors for workerd), BENCH_LOBBY_RATES=250,500,… (the
// offered reports/s steps), BENCH_LOBBY_STEP_MS (how long each rate is offered; a smoke run
// takes small ones), BENCH_OUT=<file> or "-" (print only).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "../tests/support/worker.mjs";
import { within } from "../tests/support/wait.mjs";
import { lobby, lobbyTarget } from "./lib/lobby.mjs";
import { machine } from "./lib/proc.mjs";
import { LOBBY_BEGIN, LOBBY_END, replaceKept } from "./lib/report.mjs";

const log = (message) => process.stderr.write(`[bench lobby] ${message}\n`);
const layouts = (process.env.BENCH_LOBBY_LAYOUTS ?? "1x1,4x4").split(",").map((layout) => {
  const [shards, fanouts] = layout.split("x").map(Number);
  return { shards, fanouts };
});
const socketSteps = (process.env.BENCH_LOBBY_SOCKETS ?? "100,1000,5000").split(",").map(Number);
const rates = process.env.BENCH_LOBBY_RATES?.split(",").map(Number);
const stepMs = process.env.BENCH_LOBBY_STEP_MS ? Number(process.env.BENCH_LOBBY_STEP_MS) : undefined;

const runs = [];
for (const layout of layouts) {
  log(`${layout.shards} shard(s) x ${layout.fanouts} fan-out object(s)`);
  const target = await lobbyTarget(layout);
  try {
    runs.push(await within(480_000, "lobby workload", lobby(target, { socketSteps, rates, stepMs })));
  } catch (error) {
    runs.push({ layout, error: error.message });
    log(`  failed: ${error.message}`);
  } finally {
    await target.stop().catch(() => {});
  }
}

const run = {
  date: new Date().toISOString(),
  machine: machine(),
  revision: execFileSync("git", ["-C", ROOT, "rev-parse", "--short=12", "HEAD"]).toString().trim(),
  runs,
};
mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
writeFileSync(path.join(ROOT, "test-results/bench-lobby.json"), JSON.stringify(run, null, 2));

const markdown = lobbyTable(run);
process.stdout.write(markdown);
const out = process.env.BENCH_OUT ?? path.join(ROOT, "docs/benchmarks.md");
if (out !== "-") {
  writeFileSync(out, replaceKept(readFileSync(out, "utf8"), LOBBY_BEGIN, LOBBY_END, markdown));
  log(`written to ${path.relative(ROOT, out)}`);
}

function lobbyTable({ date, machine: m, revision, runs }) {
  const f = (v, digits = 0) => (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");
  const lines = [
    `### Lobby run`,
    "",
    `${date.slice(0, 16).replace("T", " ")} UTC, Room at \`${revision}\`; ${m.cores} cores (${m.cpu}), Node ${m.node}. ` +
      "Load is `uptime`'s 1-minute load average at the end of each step (2 cores: above 2, other work was waiting).",
    "",
  ];
  for (const r of runs) {
    const name = `${r.layout.shards} shard(s) × ${r.layout.fanouts} fan-out object(s)`;
    if (r.error) {
      lines.push(`**${name}**: failed: ${r.error}`, "");
      continue;
    }
    lines.push(
      `**${name}**, ${f(r.rooms)} rooms in the table (filled in ${f(r.populateMs / 1000, 1)} s). Reports per second, 20 lobby pages listening; a step passes while a change reaches them within 1 s (p99) and ≥ 90 % of the offered reports are answered: **${f(r.maxReportsPerSecond)}${r.reportSteps.every((s) => s.ok) ? "+" : ""} reports/s** passed.`,
      "",
      "| offered reports/s | answered/s | per shard | change → page p50 / p99 (ms) | server CPU (% of a core) | generator CPU (%) | load | ok |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
      ...r.reportSteps.map(
        (s) =>
          `| ${f(s.offered)} | ${f(s.answeredPerSecond)}${s.failed ? ` (${f(s.failed)} failed)` : ""} | ${f(s.answeredPerSecond / r.layout.shards)} | ${f(s.latency.p50)} / ${f(s.latency.p99)} | ${f(s.serverCpuShare * 100)} | ${f(s.generatorCpuShare * 100)} | ${f(s.load1, 1)} | ${s.ok ? "yes" : "**no**"} |`,
      ),
      "",
      "| lobby sockets | per fan-out object | opened in (s) | change → page p50 / p99 / max (ms) | pages that missed the last change | server CPU (%) | generator CPU (%) | server RSS (MiB) | load |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...r.socketSteps.map((s) =>
        s.error
          ? `| ${f(s.sockets)} | | failed after ${f(s.open)}: ${s.error} | | | | | | |`
          : `| ${f(s.sockets)} | ${f(s.sockets / r.layout.fanouts)} | ${f(s.openMs / 1000, 1)} | ${f(s.latency.p50)} / ${f(s.latency.p99)} / ${f(s.latency.max)} | ${f(s.missed)} | ${f(s.serverCpuShare * 100)} | ${f(s.generatorCpuShare * 100)} | ${f(s.memory.rss)} | ${f(s.load1, 1)} |`,
      ),
      "",
    );
  }
  return lines.join("\n") + "\n";
}

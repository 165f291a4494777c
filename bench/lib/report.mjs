// Turns one run's figures into docs/benchmarks.md: how to reproduce, the machine, one table
// with every target side by side, Room's ratios to the baselines, and whether Room met its bar
// (p50 and p99 relay latency at the standard load no worse than the JavaScript Durable
// Object's, and a crowded-room knee at least as high).

const ms = (v) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : "–");
const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "–");
const one = (v) => (Number.isFinite(v) ? v.toFixed(1) : "–");
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "–");
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

// Which workload each row's figure comes from (to tell "failed" from "n/a").
const PHASE_OF_ROW = new Map();
const from = (phase) => (pick) => {
  const picker = (r) => (r[phase] && !r[phase].error && !r[phase].skipped ? pick(r[phase]) : undefined);
  PHASE_OF_ROW.set(picker, phase);
  return picker;
};

/** Rows: [label, pick(result) -> number | string, format, ratio?] ("ratio" only for numbers). */
function rows(run) {
  const std = from("standard");
  const together = from("burst");
  const cold = from("coldStart");
  const many = from("manyRooms");
  const storm = from("joinStorm");
  const wake = from("wakeUp");
  const kneeOf = from("knee");
  const onSfu = from("sfuRoom");
  const lostDup = (x) => (x ? `${x.lost} / ${x.duplicates}${x.unexpectedCloses ? ` (${x.unexpectedCloses} closed)` : ""}` : undefined);
  const many_ = run.results[run.targets[0]?.key]?.manyRooms?.clients;
  // What the standard load and the burst both report.
  const traffic = (phase) => [
    ["deliveries/s", phase((x) => x.deliveriesPerSecond), int, true],
    ["relay latency p50 (ms)", phase((x) => x.latency.p50), ms, true],
    ["relay latency p99 (ms)", phase((x) => x.latency.p99), ms, true],
    ["relay latency max (ms)", phase((x) => x.latency.max), ms, true],
    ["lost / duplicated", phase(lostDup), String],
    ["server CPU per delivery (µs)", phase((x) => x.cpuMicrosPerDelivery), one, true],
  ];
  return [
    ["**Standard load** (4 rooms × 8 clients × 10 msg/s)", null],
    ...traffic(std),
    ["server CPU (% of one core)", std((x) => x.serverCpuShare * 100), int, true],
    ["server memory RSS under load (MiB)", std((x) => x.memory.rss), int, true],
    ["other processes on the machine meanwhile (% of one core)", std((x) => x.otherCpuShare * 100), int],
    ["**Burst** (the standard load, but a room's 8 clients send at the same instant)", null],
    ...traffic(together),
    [`**Many rooms** (${many_ ? many_ / 8 : 50} rooms × 8, 1 msg/s each)`, null],
    ["deliveries/s", many((x) => x.deliveriesPerSecond), int, true],
    ["relay latency p50 / p99 / max (ms)", many((x) => `${ms(x.latency.p50)} / ${ms(x.latency.p99)} / ${ms(x.latency.max)}`), String],
    ["relay latency p99 (ms)", many((x) => x.latency.p99), ms, true],
    ["lost / duplicated", many(lostDup), String],
    ["join latency p50 / p99 (ms)", many((x) => `${ms(x.join.p50)} / ${ms(x.join.p99)}`), String],
    ["server CPU per delivery (µs)", many((x) => x.cpuMicrosPerDelivery), one, true],
    ["server memory RSS, all connected (MiB)", many((x) => x.memory.rss), int, true],
    ["other processes on the machine meanwhile (% of one core)", many((x) => x.otherCpuShare * 100), int],
    ["**Crowded room** (one room, each client 2 msg/s, knee: p99 ≤ 100 ms, nothing lost)", null],
    ["knee (clients in the room)", kneeOf((x) => x.kneeSize), (v) => `${v}${v === 200 ? "+" : ""}`, true],
    ["deliveries/s at the knee", kneeOf((x) => x.atKnee?.deliveriesPerSecond), int, true],
    ["p50 / p99 at the knee (ms)", kneeOf((x) => (x.atKnee ? `${ms(x.atKnee.latency.p50)} / ${ms(x.atKnee.latency.p99)}` : undefined)), String],
    ["next step: clients, p99 (ms)", kneeOf((x) => (x.beyond ? `${x.beyond.size}: ${x.beyond.error ?? ms(x.beyond.latency.p99)}` : "none")), String],
    ["**Join storm** (100 clients join one room at once)", null],
    ["join latency p50 (ms)", storm((x) => x.join.p50), ms, true],
    ["join latency p99 (ms)", storm((x) => x.join.p99), ms, true],
    ["all 100 in (ms)", storm((x) => x.allInMs), ms, true],
    ["**Wake-up** (first message after the room hibernated)", null],
    ["relay latency p50 after wake-up (ms)", wake((x) => x.wake.p50), ms, true],
    ["… slowest copy after wake-up (ms)", wake((x) => x.wake.max), ms, true],
    ["… the same room warm (ms)", wake((x) => x.warm.p50), ms, true],
    ["**Cold start** (a freshly started workerd, median of 3)", null],
    ["workerd start until it answers (ms)", cold((x) => x.readyMs.p50), ms, true],
    ["first request: socket opened to `welcome` (ms)", cold((x) => x.firstJoinMs.p50), ms, true],
    ["… a second join right after (ms)", cold((x) => x.secondJoinMs.p50), ms, true],
    ["**A room on the SFU** (32 members, each publishing 2 tracks without media; stand-in SFU)", null],
    ["join latency p50 / p99 of those who joined on the SFU (ms)", onSfu((x) => `${ms(x.join.p50)} / ${ms(x.join.p99)}`), String],
    ["worker CPU per track published (µs)", onSfu((x) => x.cpuMicrosPerTrack), one],
    ["API calls per member", onSfu((x) => x.apiCallsPerMember), one],
    ["**Server process**", null],
    ["peak memory RSS over the run (MiB)", (r) => r.peakMemory?.peak, int, true],
  ];
}

export function report(run, { previousLobbyRun, previousSfuSetupRun, previousUpstreamRun } = {}) {
  const targets = run.targets;
  const has = (key) => targets.some((t) => t.key === key && !t.error);
  const compare = has("room") ? ["floor", "jsdo", "socketio"].filter(has) : [];
  const label = (key) => targets.find((t) => t.key === key).label;
  const line = (cells) => `| ${cells.join(" | ")} |`;
  const table = [
    line(["", ...targets.map((t) => t.label), ...compare.map((k) => `Room ÷ ${label(k)}`)]),
    line(["---", ...targets.map(() => "---:"), ...compare.map(() => "---:")]),
  ];
  for (const [name, pick, format, withRatio] of rows(run)) {
    if (!pick) {
      table.push(line([name, ...targets.map(() => ""), ...compare.map(() => "")]));
      continue;
    }
    const results = (t) => run.results[t.key] ?? {};
    const values = Object.fromEntries(targets.map((t) => [t.key, t.error ? undefined : safe(() => pick(results(t)))]));
    const cells = targets.map((t) => {
      if (t.error) return "did not start";
      if (values[t.key] !== undefined) return format(values[t.key]);
      const phase = PHASE_OF_ROW.get(pick);
      const result = phase && results(t)[phase];
      return result?.skipped ? "n/a" : result?.error ? "failed" : "–";
    });
    table.push(line([name, ...cells, ...compare.map((k) => (withRatio ? ratio(values.room, values[k]) : ""))]));
  }

  const r = run.results;
  const m = run.machine;
  const lines = [
    "# Benchmarks",
    "",
    "How fast, how big and how cheap Room is, side by side with what users would pick instead:",
    "a plain-JavaScript Durable Object doing the same relay in the same runtime (workerd), and the",
    "classic Node socket.io \"Zoom clone\" signaling server. Every server runs locally and is driven",
    "over real websockets by the same load generator, in the same run; a single machine is noisy,",
    "so read the **ratios** (Room ÷ baseline, measured minutes apart) rather than the absolute numbers.",
    "",
    "## How to reproduce",
    "",
    "```sh",
    "bash scripts/bench.sh        # builds the worker, runs everything (< 10 min), rewrites this file",
    "```",
    "",
    "It installs what it needs on first use (the project's tools through `scripts/tools.sh`, and",
    "`bench/`'s own npm packages, socket.io among them, from `bench/package-lock.json`). The raw",
    "figures of the last run are in `test-results/bench.json`. `BENCH_TARGETS=room,jsdo` runs a subset",
    "of the targets and `BENCH_WORKLOADS=standard` of the workloads (with `BENCH_OUT=-`, which only",
    "prints: a quick A/B of one change).",
    "",
    "First, `bench/call-setup.mjs` times the set-up of a call in Chromium (see Call set-up below;",
    "alone: `node bench/call-setup.mjs`, and `--against main` for a same-load A/B of a client change).",
    "`node bench/call-setup.mjs --sfu` times it in a room on the SFU, with the stand-in SFU, and",
    "`node bench/upstream.mjs` measures one browser's upstream in a call of six, mesh against SFU",
    "(neither is part of `scripts/bench.sh`, which stays under ten minutes; their last figures are",
    "kept in this file).",
    "",
    "What runs (`bench/`):",
    "",
    "| target | what |",
    "| --- | --- |",
    "| Room (Miniflare) | the built worker (`build/`) in workerd through Miniflare 5, configured from `wrangler.toml` as the integration tests run it |",
    "| Room (wrangler dev) | the same worker through `wrangler dev` (its proxy worker in front); CPU and memory are those of wrangler's Node process and both workerd processes |",
    "| Floor (Miniflare) | `bench/floor/worker.mjs`: the least a relay Durable Object can do in this runtime, the floor for any relay: a `join` gets a minimal `welcome`, every other frame goes verbatim to every socket of the room (sender included), never parsed; hibernatable sockets, nothing stored |",
    "| JS DO (Miniflare) | `bench/js-do/worker.mjs`: the same relay (join/welcome/peer_joined/peer_left/chat/signal, hibernatable sockets, peers in socket attachments and in memory, chat history in SQLite, stored before it is sent as usually written, `ping` auto-answered) as a plain JavaScript Durable Object, in the same workerd; no rate limits, resume, sweeps or lobby |",
    "| socket.io (Node) | `bench/socketio/server.mjs`: rooms, nicknames, chat to the room (`io.to(room)`), offer/answer/ice to the rest of the room, in its own Node process |",
    "",
    "Workloads (`bench/lib/workloads.mjs`), each run on every target in turn while the others idle:",
    "",
    "- **standard load**: 4 rooms × 8 clients, each sending a chat message 10 times a second; run",
    "  three times (first, between and after the other workloads), 2 s warm-up then 8 s measured",
    "  each time; each figure is the median of the three rounds (`test-results/bench.json` has them all).",
    "  Before the first, every server runs one short round that is not counted, so that all are",
    "  measured warm, as a long-lived Durable Object is (V8 optimises wasm once a function is hot);",
    "- **burst**: the standard load, except that all 8 clients of a room send in the same instant",
    "  (one timer a room, rooms at random moments): a room's relay works through a queue of 8",
    "  frames, 64 deliveries, at once; 2 s warm-up, 8 s measured, one round;",
    "- **many rooms**: 50 rooms × 8 clients, each sending 1 message a second; join latency from the",
    "  400 joins (8 in flight at a time);",
    "- **crowded room**: one room grown 8, 16, 24, 32, 48, 64, 80, 96, 128, 160, 200 clients, each",
    "  sending 2 messages a second (the room's traffic grows with the square of its size); the knee",
    "  is the largest size whose relay p99 stayed ≤ 100 ms with nothing lost, in the best of up to",
    "  three attempts per size (other work on the machine only ever slows a step down);",
    "- **join storm**: 100 clients open a socket and join one room at the same moment; join latency",
    "  is from opening the socket to the `welcome`;",
    "- **wake-up**: a room of 8 is evicted from memory with its sockets kept open (hibernation,",
    "  Miniflare's `unsafeEvictDurableObject`; `wrangler dev` has no such hook, there the room idles",
    "  12 s and the runtime evicts it itself), then one message: its latency to the 7 others (5",
    "  samples; one under wrangler dev). socket.io has no hibernation.",
    "- **cold start** (Miniflare targets; run first, before the other servers start): a fresh",
    "  workerd with the worker, timed from starting it until it answers, then a join: from the",
    "  first request (the socket's upgrade) to the `welcome`, which includes making the Durable",
    "  Object (and, for Room, instantiating its wasm), then a second join, warm; three times.",
    "- **a room on the SFU** (`bench/lib/sfu.mjs`, Room only, after the cold starts and before",
    "  the other servers start):",
    "  a worker configured for the SFU, pointed at the tests' stand-in SFU in its own process; 32",
    "  members join one room one after another (the fifth moves it to the SFU), then each opens",
    "  its session and publishes a microphone and a camera track with no packets sent. Join",
    "  latency is that of the members who joined a room already on the SFU; CPU per track is",
    "  workerd's over the publishing, divided by the 64 tracks (each a `publish` call through the",
    "  room to the API, the member's record, and a `tracks` frame to the others).",
    "",
    "For the bench, Room and the baseline get `MAX_PEERS=1000` and Room's per-socket chat budget is",
    "lifted (`CHAT_RATE_PER_SEC=10000`, `CHAT_RATE_BURST=100000`): its rate limiter still runs, it",
    "just never refuses. So do the limits on opening sockets (the per-network rate-limiting binding",
    "is still called for every socket; in Miniflare that call is a fetch to a SQLite-backed",
    "Durable Object that writes, which a join storm queues on, where Cloudflare counts at the",
    "edge location).",
    "",
    "Definitions: a **delivery** is one copy of a chat message arriving at a peer other than its",
    "sender (every message must reach all 7 others, and its sender, who gets the echo the protocol",
    "promises: copies missing or seen twice are counted as **lost / duplicated** and must be 0).",
    "**Relay latency** is from just before the sender's `send` to the receiver's `message` event,",
    "on one clock (every client lives in the load generator's process). **Server CPU** is the",
    "user + system time of the server's processes (`/proc/<pid>/stat`) over the measured window,",
    "divided by its deliveries; **memory** is their resident set (`VmRSS`, peak `VmHWM`). **Other",
    "processes** is what the rest of the machine used meanwhile (`/proc/stat` less the server and",
    "the load generator): this machine is shared, and a high figure there explains a bad round.",
    "",
    "## Latest run",
    "",
    `${run.date.slice(0, 16).replace("T", " ")} UTC, Room at \`${run.revision}\`; machine: ${m.cores} cores (${m.cpu}), ` +
      `${m.memoryGiB.toFixed(0)} GiB memory, Linux ${m.kernel}, Node ${m.node}; the whole run took ${run.seconds.toFixed(0)} s.`,
    "",
    ...table,
    "",
    `Worker size: \`build/index_bg.wasm\` ${kib(run.wasm.raw)} raw, ${kib(run.wasm.gzip)} gzip (-9)` +
      (run.wasm.code ? `; its code ${kib(run.wasm.code.raw)} raw, ${kib(run.wasm.code.gzip)} gzip, its data ${kib(run.wasm.data.raw)} raw, ${kib(run.wasm.data.gzip)} gzip (see "The worker's size" below).` : "."),
    "",
    ...headline(run, compare),
    ...generatorNote(run),
    ...callSetupSection(run.callSetup),
    "",
    previousSfuSetupRun ?? `${SFU_SETUP_BEGIN}\n## Call set-up on the SFU\n\n(not run yet: \`node bench/call-setup.mjs --sfu\`)\n${SFU_SETUP_END}`,
    "",
    previousUpstreamRun ?? `${UPSTREAM_BEGIN}\n## Upstream at six\n\n(not run yet: \`node bench/upstream.mjs\`)\n${UPSTREAM_END}`,
    ...FINDINGS,
    ...LOBBY,
    previousLobbyRun ?? `${LOBBY_BEGIN}\n(not run yet: \`node bench/lobby.mjs\`)\n${LOBBY_END}`,
  ];
  return lines.join("\n") + "\n";
}

// The lobby's figures come from their own run (bench/lobby.mjs), written between these markers;
// a run of the other workloads keeps them as they are.
export const LOBBY_BEGIN = "<!-- lobby run: written by bench/lobby.mjs -->";
export const LOBBY_END = "<!-- end of lobby run -->";

// So are the figures of call set-up on the SFU (bench/call-setup.mjs --sfu).
export const SFU_SETUP_BEGIN = "<!-- call set-up on the SFU: written by bench/call-setup.mjs --sfu -->";
export const SFU_SETUP_END = "<!-- end of call set-up on the SFU -->";

// And one browser's upstream in a call of six, mesh against SFU (bench/upstream.mjs).
export const UPSTREAM_BEGIN = "<!-- upstream at six: written by bench/upstream.mjs -->";
export const UPSTREAM_END = "<!-- end of upstream at six -->";

/** The part of an existing docs/benchmarks.md between `begin` and `end`, markers included, if any. */
export function keptRun(doc, begin, end) {
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  return start >= 0 && stop > start ? doc.slice(start, stop + end.length) : undefined;
}

/** `doc` with the part between `begin` and `end` replaced by `text` (appended, marked, if absent). */
export function replaceKept(doc, begin, end, text) {
  const block = `${begin}\n${text}${end}`;
  const kept = keptRun(doc, begin, end);
  return kept ? doc.replace(kept, () => block) : `${doc.trimEnd()}\n\n${block}\n`;
}

const LOBBY = `
## The lobby

\`node bench/lobby.mjs\` (or \`BENCH_WORKLOADS=lobby node bench/run.mjs\`, after a build) measures
the public room list (\`bench/lib/lobby.mjs\`): a worker of its own per lobby layout
(\`LOBBY_SHARDS\` × \`LOBBY_FANOUT\`, \`BENCH_LOBBY_LAYOUTS=1x1,4x4\`), a table of 2,000 rooms
reported first (one in ten private; the public list holds the largest 100, as always), then

- **reports per second**: reports about random rooms of the table, as rooms send them (\`POST
  /report\` to the room's shard through a Durable Object binding, from a driver worker in the
  same workerd, \`bench/lobby-driver\`, so the load is the lobby's and not the rooms'), at 250,
  500, 1,000, 2,000, … a second for 5 s each, while 20 lobby pages listen; a rate passes while
  a change reaches the pages within 1 s (p99) and at least 90 % of the offered reports are
  answered within a second of the step's end;
- **lobby sockets**: 100, 1,000 and 5,000 open lobby pages (\`BENCH_LOBBY_SOCKETS\`),
  reports in the background at 50/s, and how long a change takes to reach each page (p50/p99
  over every page and change, a change every 500 ms for 6 s).

A change is timed with a marker room whose count rises by one each time, from just before its
report is sent to the first frame on a page that shows it (or a later count: frames are
coalesced). That includes the lobby's coalescing (250 ms at the shard, up to 250 ms more at
the hub's pacing) on purpose: it is what a page sees.
Everything runs in one workerd on this 2-core machine, the load generator included, so the
sharded layouts share the same two cores: what they show is each object's share of the work
(reports per shard, sockets per fan-out object) and how latency holds as pages grow, not a
machine's total. \`docs/scaling.md\` has the arithmetic for Cloudflare's network.
`.split("\n");

// What profiling Room found (V8's CPU profiler on the room's isolate through Miniflare's
// `inspectorPort`, under the standard load and in a room of 64), and what was done about it.
const FINDINGS = `## Where Room's time goes, and what was changed

Profiled with V8's CPU profiler attached to the worker's isolate (Miniflare \`inspectorPort\`),
under the standard load, in one room of 64 clients and in the join storm; to look again:
\`source scripts/tools.sh && node bench/profile.mjs room standard\` (or \`crowd\`, \`joinStorm\`;
\`jsdo\` for the baseline). A change is judged by a same-run A/B
(\`BENCH_TARGETS=room,jsdo BENCH_WORKLOADS=standard BENCH_OUT=- node bench/run.mjs\`, about a
minute); the figures below are medians of such runs, Room vs the JS DO, p50 / p99 in ms and
CPU per delivery in µs. Each change's commit message says more.

- **A storage write per chat line was half of Room's CPU and most of its tail.** Before:
  Room 1.08 / 4.48 ms, 77 µs; JS DO 0.98 / 2.61 ms, 59 µs. Switching the history write off, as
  an experiment, gave Room 0.56 / 1.85 ms, 37 µs. What did not help: writing to key-value
  storage with \`allowUnconfirmed\` so that the output gate no longer waits (p99 unchanged), not
  awaiting the write (unchanged), dropping the trim (4.62 ms, 70 µs); writing only every 8th
  line gave 3.32 ms, 45 µs. So the cost is in the write itself, per call. Now the last
  \`CHAT_HISTORY\` lines live in memory (a joiner's \`welcome\` reads them there), and are
  written in one \`put\` a while after the first unwritten one, as pages of up to 16 lines, a
  row per page; a page is deleted once all its lines have fallen out: no listing, no trim,
  a few rows a second in a busy room instead of a hundred (\`src/room/history.rs\`). A
  pending batch holds off an eviction (Miniflare's forced eviction waits for it), so a room
  goes to sleep with its history written. After, with batches 250 ms apart: Room 0.42 / 1.98 ms, 35 µs; JS DO
  0.90 / 3.60 ms, 43 µs. Each \`put\` still costs the room a stall of its own (the earlier
  experiments put it near half a millisecond of CPU per call), so the batches are now a second
  apart: Room's p99 over the baseline's in six A/B runs at 250 ms was 0.81 to 1.37 (median
  0.95), in four at 1 s 0.62 to 0.93 (median 0.78). A crash can cost the history up to a
  second of lines; a delivery, never.
- **Writing the sender's attachment on every frame** (its rate budgets and last-heard time):
  8 % of the room's samples. Now written when the peer changes (join, rename, media state);
  the budgets and time live in memory in between. A room is only evicted after seconds of
  silence, which refill the budgets, and liveness after a wake-up rests on the runtime's
  \`ping\` record. After: Room 0.42 / 1.79 ms, 33 µs; JS DO 0.79 / 2.16 ms, 44 µs.
- **Cloning every member for every frame**: \`relay::on_frame\` took the room's other members by
  value, so in a room of 200 each frame cloned 199 ids, nicknames and resume tokens. It borrows
  them now. Crowded room at 200, Room's CPU per delivery over the baseline's, same-run knee
  A/Bs: 1.12 and 1.19 before, 1.10 after; the room's isolate at 90 % of a core instead of 100 %.
- **The output gate** (earlier): the room stored the line and then sent it, and workerd holds
  what a Durable Object sends after a storage write until the write is durable. The room sends
  first; the baseline, written the usual way, stores first, which is most of its p50 gap.
- **Reading every socket's attachment on every frame** (earlier): a structured clone, a walk
  through serde-wasm-bindgen and allocations per socket per frame, about 30 % of the room's
  time at 8 per room. Attachments are one JSON string each, and each room instance keeps the
  sockets with their attachments in memory (\`Room::known\`), read once per wake-up.
- **Joins**: each join sent the lobby its own awaited report, read the room's name and privacy
  from SQLite for it, upserted the name on every upgrade and asked storage for the alarm. Now
  one report is in flight at a time (the next carries what changed meanwhile, the last always
  the live count), name and privacy are read once per wake-up and written when they change,
  and a known pending alarm is not asked for again. Join storm p50: about 120 to about 80 ms
  (the baseline: about 45 ms, with no lobby, no resume tokens and no origin check).
- What remains beyond the baseline's work: in a crowded room, each copy is a call from wasm
  into wasm-bindgen's JavaScript glue and a UTF-8 decode before the native \`send\`, about 10 %
  more CPU per delivery than the baseline's loop over \`ws.send\`; at 200 clients × 2 msg/s
  (80,000 deliveries/s) Room's isolate is at 90 % of a core or more, the baseline's at 82 to
  90 %, so on a slow spell of this machine Room's knee can fall to 160 (it did in one full
  run). At 8 per room: the per-event glue of workers-rs and worker-build's
  shim (a \`future_to_promise\`, a microtask, and a fresh \`Proxy\` with an async \`apply\`
  around every Durable Object method call: about 15 % of the room's samples) and garbage
  collection of the objects it makes (about 6 %, the baseline 2 %). \`WebSocket.send\` is now the
  largest part (a third at 8 per room, 44 % at 64), as in the baseline.
- Tried and not kept: handing each socket's \`send\` one JavaScript string per fan-out instead
  of web-sys' \`send_with_str\`, which decodes the frame's UTF-8 per recipient: in a room of 64
  \`send\` stayed at 44 % of the samples and the decode it saves was about 1 %, and at 200 the
  CPU per delivery over the baseline's was 1.10 with it and without it.
- **\`opt-level = 3\`** instead of \`"s"\`: in five same-run A/Bs each, Room's CPU per delivery
  over the baseline's had a median of 0.70 against 0.77, its p99 ratio ranged 0.61 to 1.30
  against 0.89 to 1.68; for 45 KB more wasm (18 KB gzipped). Kept: a room lives long, and a
  module is compiled once per isolate.
- **Warm servers**: a server just started runs cold code (V8 optimises wasm once a function is
  hot), and Room's first round after start often had a p99 two to four times its later ones.
  Every server now runs one uncounted round first.
- **What sets the p99 now**: timelines of the slow copies (the slowest 1 % of a round, by send
  time and room) show them in clusters at the load generator's 100 ms send period, where
  several of the 32 clients' timers fire together and the last message of the burst waits for
  the others to be relayed, and in process-wide stalls of 5 to 15 ms that hit whichever server
  is running. The history writes are no longer among them: batches 5 s apart gave 2.43 and
  2.58 ms against 1.96 and 2.93 at 1 s. So the p99 is about a burst times a message's cost,
  plus the machine's hiccups.
- **Noise**: on this 2-core machine the same build's standard-load p99 moves between about 1.3
  and 3.8 ms from run to run (the baseline's alike); hence three rounds and medians. Room's
  p50 is clearly below the baseline's (0.4 to 0.7×) and its CPU per delivery too (0.7 to
  0.87×); its p99 is at or below the baseline's in most same-run A/Bs, not all (0.62 to 1.68,
  median about 0.9 over the last dozen).
- Through \`wrangler dev\`, every frame also crosses wrangler's proxy worker (a second workerd),
  which costs CPU and memory on top of the same Room; Miniflare is the like-for-like comparison.

## What a join costs

The join storm's latency is a queue: a room is one thread, so 100 joins arriving together
wait for each other, and the p50 is about half of all their CPU. Profiled (\`node
bench/profile.mjs room joinStorm\`, and \`jsdo\`; samples every 100 µs, two runs each, 1 Dec
2026), Room's isolate was busy 548 and 649 ms for the 100 joins, the JavaScript baseline's
254 and 313 ms: about 2.1 times the work, and the join storm's p50 was 2.1 to 3.3 times
the baseline's in the runs of that day. Where Room's goes (inclusive, of the samples):

- Sending: 22 to 26 % (the baseline: 36 %, of fewer samples). Each join sends a \`welcome\`
  listing everyone and a \`peer_joined\` to each of the others, 5,050 frames in all; each
  crosses from wasm into wasm-bindgen's glue, which decodes the frame's UTF-8 before the
  native \`send\`. About 1.3 times the baseline's cost for the same frames.
- Everything else is spread thin over the per-event path of a Rust Durable Object: the
  Worker's front door (workers-rs turns each request into its own \`Request\`, reading the
  request's \`cf\` object at once: 3 to 4 %; the origin check 1.4 %), forwarding the upgrade to
  the room (5 to 6 %), the rate limit per network (4.6 to 5.6 %: in Miniflare a call into
  another object that writes to SQLite; at Cloudflare a count kept at the edge), the nickname
  rules (about 2 %, of which 1.6 to 1.8 % is comparing the joiner's name with every member's as a UTS #39
  skeleton), building the \`welcome\` (2 %), and the async glue around every call
  (\`future_to_promise\`, microtasks, a \`Proxy\` per Durable Object call), none of it over a
  few per cent by itself.
- Without the rate-limiting bindings (an experiment: the bench with \`[[ratelimits]]\` left
  out), Room's p50 was 401 and 379 ms against 445 and 581 ms with them, in alternating runs;
  the baseline's 164 to 196 ms.

So no one step stands between Room's join and the baseline's: the difference is the fixed
cost of each call between JavaScript and Rust through workers-rs (a crossing, a promise, a
microtask), which a JavaScript Durable Object does not pay, times the calls a join makes. The
changes that did pay (one lobby report in flight, name and privacy read once per wake-up, no
alarm asked for again) are listed above under "Joins"; handing the fan-out one JavaScript
string instead of decoding per socket was tried for chat and saved about 1 %. What is left
would take a thinner binding than workers-rs, not a faster step.

## The worker's size

What a cold isolate compiles is \`build/index_bg.wasm\`. By crate, from the linker's map
(\`node bench/wasm-breakdown.mjs\`, 1 Dec 2026, after the cuts below; before wasm-bindgen and
wasm-opt, which take a few per cent off the code):

| code, KiB | | data, KiB | |
| --- | ---: | --- | ---: |
| \`core\` (generic code, one copy per type: drops, formatting, sorting, collections) | 252 | \`unicode-security\` (UTS #39 confusables, identifier types) | 113 |
| Room's rooms (\`room::room\`: the Durable Object, relay, SFU calls) | 138 | \`unicode-normalization\` (NFC, NFD) | 110 |
| \`js-sys\` (futures: a promise, closures and a task per async entry point) | 135 | \`unicode-properties\` (general category) | 41 |
| Room's wire types (\`room::protocol\`: serde's code for every frame) | 90 | \`unicode-script\` | 36 |
| Room's lobby, operator API, Realtime calls, front door | 105 | \`unicode-segmentation\` (graphemes) | 21 |
| \`serde_json\`, \`serde\` | 69 | Room's own strings (messages, names) | 24 |
| \`url\`, \`idna\` | 59 | \`core\`, \`zmij\` (float printing), the rest | 70 |
| \`alloc\`, \`worker\`, \`futures\`, \`web-sys\`, the rest | 220 | | |
| **all code** | **1068** | **all data** | **415** |

What was cut: the \`idna\` crate's Unicode tables (107 KB of data and 25 KB of code, for
non-ASCII hostnames, which never reach a Worker: the runtime gives it URLs in punycode), by
its documented stub back end (Cargo.toml pins \`idna_adapter\` 1.0); and
\`serde_json::Value\` from the HTTP answers. Together 1462 → 1343 KiB raw, 591 → 537 KiB gzip.
The signal's \`data\` is relayed as the text it came as (\`RawValue\`), and release builds
strip function names (\`strip = true\`).

What stands between that and 200 KB gzip:
- The data alone is 194 KiB gzipped, and 320 KiB of its 415 are the Unicode tables behind
  the nickname rules (docs/security.md: no lookalike names, no invisible characters, no
  mixed scripts). The runtime has some of them in JavaScript (\`String.prototype.normalize\`,
  \`Intl.Segmenter\`, \`\\p{…}\` in regular expressions) but not UTS #39's confusables, and
  taking them from there would leave the native tests testing other code than production's.
- The code is 335 KiB gzipped. \`opt-level = "z"\` and \`wasm-opt -Oz\` (measured once:
  1343 → 1167 KiB raw, 537 → 472 KiB gzip, the code 281 KiB gzipped) cost CPU on every
  frame (\`"s"\` already cost about 9 % per delivery, above), so they were not taken. Most of
  the code is the price of each feature's types and entry points in Rust (serde's code per
  frame type, a future per Durable Object method), not one thing to drop.
- Moving the lobby and the operator API into a Worker of their own (a Durable Object can be
  bound from another script) would take about 75 KiB of code out, about 30 KiB gzipped. So
  200 KB would need the nickname rules' tables gone and the code under half: a different
  binding than workers-rs and serde's generated code, not a setting. Not attempted.
- The cold start did not move measurably with 8 % less wasm (the first join after workerd
  starts: 68 ms in the run before the cut, 81 ms in the first run after it, where the baselines' first
  joins were slower too: 9.9 → 10.7 and 10.2 → 12.6 ms).
`.split("\n");

function headline(run, compare) {
  const r = run.results;
  const room = r.room;
  if (!room) return [];
  const lines = ["### Headline", ""];
  const s = room.standard;
  for (const key of compare) {
    const b = r[key];
    const name = run.targets.find((t) => t.key === key).label;
    if (s?.latency && b.standard?.latency) {
      lines.push(
        `- Standard load, Room vs ${name}: relay p50 ${ms(s.latency.p50)} vs ${ms(b.standard.latency.p50)} ms ` +
          `(${ratio(s.latency.p50, b.standard.latency.p50)}), p99 ${ms(s.latency.p99)} vs ${ms(b.standard.latency.p99)} ms ` +
          `(${ratio(s.latency.p99, b.standard.latency.p99)}); CPU per delivery ${ratio(s.cpuMicrosPerDelivery, b.standard.cpuMicrosPerDelivery)}.`,
      );
    }
    if (room.knee?.kneeSize !== undefined && b.knee?.kneeSize !== undefined) {
      const size = (knee) => `${knee.kneeSize}${knee.reachedEnd ? "+" : ""}`;
      lines.push(`- Crowded room, Room vs ${name}: knee at ${size(room.knee)} vs ${size(b.knee)} clients.`);
    }
  }
  const js = r.jsdo;
  if (s?.latency && js?.standard?.latency && room.knee && js.knee) {
    const parts = [
      ["p50", s.latency.p50 <= js.standard.latency.p50],
      ["p99", s.latency.p99 <= js.standard.latency.p99],
      ["knee", room.knee.kneeSize >= js.knee.kneeSize],
    ];
    const verdict = parts.every(([, ok]) => ok)
      ? "**met**"
      : `**not met**: ${parts.map(([name, ok]) => `${name} ${ok ? "met" : "not met"}`).join(", ")}`;
    lines.push(
      `- **The bar** (Room's p50 and p99 at the standard load no worse than the JS DO's, its knee at least as high): ${verdict} in this run.`,
    );
  }
  lines.push("");
  return lines;
}

function generatorNote(run) {
  const shares = Object.values(run.results)
    .map((r) => r.knee?.atKnee?.generatorCpuShare)
    .filter(Number.isFinite);
  if (!shares.length) return [];
  return [
    `The load generator is one Node process on the same machine; at the knees it used up to ` +
      `${Math.round(Math.max(...shares) * 100)} % of a core, so on ${run.machine.cores} cores the knee is the server's, ` +
      "not the generator's, only while that stays well under 100 %.",
    "",
  ];
}

function safe(fn) {
  try {
    return fn();
  } catch {
    return undefined;
  }
}


/**
 * The "Call set-up" section, from bench/call-setup.mjs's result (test-results/call-setup.json):
 * the distribution of the third joiner's wait and of each step on the way (and, from a
 * comparison run, the same for the other revision's client).
 */
export function callSetupSection(result) {
  const sfu = result?.sfu === true;
  const lines = [sfu ? "## Call set-up on the SFU" : "## Call set-up", ""];
  if (!result?.n) {
    lines.push("Not measured in this run: `node bench/call-setup.mjs` measures it.", "");
    return lines;
  }
  const load = (when) => result.load[when].map((v) => v.toFixed(1)).join(", ");
  const base = result.against;
  const total = (r) => `p50 ${r.p50} ms, p90 ${r.p90} ms, max ${r.max} ms (${r.n} runs${r.failed ? `, ${r.failed} failed` : ""})`;
  lines.push(
    `${result.date.slice(0, 16).replace("T", " ")} UTC, ${result.cores} cores; load average (1, 5, 15 min) ${load("before")} at the start, ` +
      `${load("after")} at the end.`,
    "",
    `**Third joiner${sfu ? " of a room on the SFU (the stand-in)" : ""}, Join click to the first remote frame: ${total(result)}.**`,
    ...(base ? ["", `With the client of \`${base.revision}\`, alternating run by run: ${total(base)}.`] : []),
    "",
    `| step (Cy's, unless it says Ada or Bob) | p50 (ms after the click) | p90 | max |${base ? ` p50, \`${base.revision}\` | p90 |` : ""}`,
    `| --- | ---: | ---: | ---: |${base ? " ---: | ---: |" : ""}`,
  );
  const cell = (v) => v ?? "–";
  result.steps.forEach(({ label, p50, p90, max }, i) => {
    const other = base ? ` ${cell(base.steps[i].p50)} | ${cell(base.steps[i].p90)} |` : "";
    lines.push(`| ${label} | ${cell(p50)} | ${cell(p90)} | ${cell(max)} |${other}`);
  });
  const runs = (r) => r.all.map((run) => (run.error ? "failed" : `${run.ms} (${run.load?.toFixed(1) ?? "?"})`)).join(", ");
  lines.push("", `Every run, ms (the 1-minute load average after it): ${runs(result)}.`);
  if (base) lines.push("", `With \`${base.revision}\`'s client: ${runs(base)}.`);
  lines.push("", ...(sfu ? SFU_SETUP_NOTES : CALL_SETUP_FINDINGS));
  return lines;
}

// How bench/call-setup.mjs --sfu measures.
const SFU_SETUP_NOTES = `As the call set-up above, with the worker configured for the SFU and pointed at the tests'
stand-in SFU (a Node WebRTC stack on the same two cores, at niceness -10), and \`MESH_MAX=1\`:
Bob's join moves the room to the SFU, and Cy joins a room already on it: one connection, to
the SFU, made through the room's \`sfu\` calls. This is tests/browser/sfu.test.mjs's sixth
joiner with two browsers beside it rather than five, so that the figure is the path's rather
than that of two cores shared by six browsers (there: 1.9 to 7.0 s on 1 Dec 2026). Issue 15's
goal for it is 2 s.`.split("\n");

// What the traces of bench/call-setup.mjs showed, and what was changed in the client.
const CALL_SETUP_FINDINGS = `### How it is measured, and what the tail was

Each run is a fresh room on Room in Miniflare and one Chromium (fake camera, loopback, STUN at
\`127.0.0.1:9\`, which nothing answers, as in the browser tests): Ada and Bob join and see each
other, then Cy opens the lobby, types a name and clicks Join at once; the figure is Cy's wait
from the click to the first frame of a remote video (\`requestVideoFrameCallback\`). An init
script in every page timestamps the click, the sockets, the frames that matter, getUserMedia,
each RTCPeerConnection's candidates and states, tracks, and main-thread tasks of 50 ms or more
(\`longtask\`); \`test-results/call-setup.json\` keeps every run's three traces. The machine is
shared: its load average is printed with every run, and a client change is judged by
\`--against\`, which alternates the two clients run by run under the same load.

What the traces ruled out: no fixed timeout is on the way. getUserMedia had resolved before
the click in every run (it starts when the page loads); the lobby's socket is not on the path;
only the newcomer offers, so there are no collisions (no rollback in any trace); host
candidates go out as they are gathered, and the unanswerable STUN server costs nothing (two
connections in one page were connected in the same 25–60 ms with it and without any); the
first keyframe arrives whole (\`getStats\`: one keyframe, no PLI or NACK, under 60 ms of pacing).

What the tail was: the pages' main threads. The set-up is a chain of tasks on three pages
(Cy's click, Cy's welcome, Ada's and Bob's offer, Cy's answer, the first frame), and each
link waited for whatever else its page did in the same task; on a loaded machine every such
millisecond is several. In Cy's traces the click's task (70–200 ms) built the call view,
with a layout of the whole page, before the room's socket was even made; the welcome's task
(130–220 ms) made a throwaway RTCPeerConnection per ICE URL, built every tile (each added
tile measured the stage: a forced layout of the page), the chat and the People panel, and
only then, in the next task, did \`negotiationneeded\` start the offers. At a load average of
30 and more, single tasks of 1–3 s appear on every page, and a set-up takes up to 19 s: that
tail is the machine's, and no client change removes it.

What changed (each in its own commit):

- the room's socket is made first when Join is clicked, and the call view is built while it
  connects (\`call-view.js\`);
- a welcome starts the connections before the page shows anyone, and a new link makes its
  offer at once instead of in \`negotiationneeded\` (the browser makes it while the page
  builds the tiles; browsers fire no \`negotiationneeded\` for what that offer covers, since
  the event waits for a stable signaling state and checks again then) (\`call.js\`, \`peer.js\`);
- one RTCPeerConnection tries all the ICE URLs at once, each alone only if the browser refuses
  the list (\`peer.js\`);
- the grid lays its tiles out once before the next paint instead of on every tile added or
  removed (\`grid.js\`);
- connections bundle from the start (\`bundlePolicy: "max-bundle"\`): the default gathered a
  transport per kind until the answer, twice the candidates to gather, relay and check
  (\`peer.js\`).

Same-load A/B (\`--against\` the client before these changes, 12 runs each, alternating, load
average 3 to 11 over the run): p50 1156 → 888 ms, p90 1645 → 1457 ms, max 1739 → 1822 ms.
Medians of the gaps in Cy's traces, before → after: click to the room's socket made 94 → 14 ms,
welcome to the first offer sent 264 → 231 ms, offer to answer 166 → 145 ms, answer to connected
(ICE and DTLS) 303 → 196 ms, connected to the first frame 111 → 119 ms. On a quiet machine
(load average 2 to 3) three runs took 455, 481 and 775 ms.

What stands between that and the goal (p50 ≤ 400 ms and p90 ≤ 600 ms, not met on this shared
machine): the welcome's task is still 90–150 ms at low load (the chat's notice and the People
panel; a layout of about 30 ms remains in it, most likely the chat measuring its list as it
appends a line), and the offers only leave when it ends; the room's socket handshake in
workerd (about 70 ms at low load); the relay and the others' answer (they handle the new
tracks, tiles and all, before the browser makes the answer); ICE, DTLS and the first decoded
frame. Above a load average of about 10 every one of these is several times longer.
`.split("\n");

/** The "Upstream at six" section (markdown) from bench/upstream.mjs's result. */
export function upstreamSection(result) {
  const [mesh, sfu] = ["mesh", "sfu"].map((mode) => result.runs.find((run) => run.mode === mode));
  const video = (run) => run.streams.filter((stream) => stream.kind === "video");
  const row = (run) => {
    const streams = video(run)
      .map((s) => `${s.rid ?? "copy"} ${s.frameWidth ?? "?"}×${s.frameHeight ?? "?"} at ${s.framesPerSecond ?? "?"} fps, ${s.kbps ?? "?"} kbit/s (limited by ${s.qualityLimitationReason ?? "?"})`)
      .join("; ");
    return `| ${run.mode === "sfu" ? "SFU (the stand-in)" : "mesh"} | ${run.upstreamKbps} | ${video(run).length} | ${streams} |`;
  };
  return `## Upstream at six

${result.date.slice(0, 16).replace("T", " ")} UTC, \`node bench/upstream.mjs\`: one Chromium page's upstream in a call
of ${result.people}, camera only, its RTP payload over ${result.windowMs / 1000} s once everyone plays everyone. That page
keeps the client's own camera settings (640×360 at up to 24 frames a second); the others send
320×180 at 10, so that two cores carry the call. **Mesh ${mesh.upstreamKbps} kbit/s, SFU ${sfu.upstreamKbps} kbit/s.**

| media | upstream (kbit/s) | video streams sent | each stream at the end |
| --- | ---: | ---: | --- |
${row(mesh)}
${row(sfu)}

In a mesh a browser encodes and sends its camera once per other person, each copy with its
own rate; on the SFU once, in two simulcast layers, and the SFU forwards a layer to each.
"Limited by" is the encoder's own \`qualityLimitationReason\` (\`cpu\`: this machine's two cores,
not the network, held it back). Chromium's fake camera (a shape moving on a flat background)
compresses far better than a face in a room: the figures compare the two ways of carrying a
call; they do not size a home uplink. tests/browser/sfu.test.mjs checks, every run, that a
page on the SFU at six sends less than in a mesh of four.
`;
}

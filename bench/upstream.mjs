// Upstream at six: what one browser sends in a call of six people, in a mesh and on the SFU
// (the tests' stand-in), from its outbound-rtp stats. In a mesh it sends its camera once per
// other person; on the SFU once, in two simulcast layers.
//
// Six Chromium pages join one room through the UI, camera only. The page measured (the
// first) keeps the client's own camera settings (640×360 at up to 24 frames a second); the
// five others send 320×180 at 10, so that two cores can carry the call: their encoders, and
// the measured page's, should be held back by nothing but the network (each stream's
// `qualityLimitationReason` is printed to show it). Once everyone plays everyone, the first
// page's payload bytes are counted over WINDOW_MS.
//
//   node bench/upstream.mjs        (needs the built worker; BENCH_OUT=- only prints)
// writes test-results/upstream.json, prints the table and replaces the "Upstream at six"
// section of docs/benchmarks.md.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { startWorker, ROOT } from "../tests/support/worker.mjs";
import { startSfu } from "../tests/support/sfu/index.mjs";
import { realtimeVars } from "../tests/support/sfu-member.mjs";
import { launchBrowser } from "../tests/support/browser.mjs";
import { LOCAL_ICE, RESULTS, joinRoom, myId, openLobby, waitPlaying } from "../tests/support/ui.mjs";
import { sleep } from "../tests/support/wait.mjs";
import { UPSTREAM_BEGIN, UPSTREAM_END, replaceKept, upstreamSection } from "./lib/report.mjs";

const PEOPLE = 6;
/** How long the upstream is counted, once the call plays (after SETTLE_MS for the encoders' rates to climb). */
const WINDOW_MS = 10_000;
const SETTLE_MS = 5_000;

/** An init script: no microphone, and (for the light pages) a camera of 320×180 at 10 frames a second. */
const cameraOnly = (light) => {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices?.getUserMedia.bind(devices);
  if (!devices) return;
  devices.getUserMedia = (constraints = {}) => {
    if (constraints.audio) return Promise.reject(new DOMException("no microphone", "NotFoundError"));
    if (!light || !constraints.video) return getUserMedia(constraints);
    return getUserMedia({ ...constraints, video: { ...(constraints.video === true ? {} : constraints.video), width: 320, height: 180, frameRate: 10 } });
  };
};

/** One call of six in `mode` ("mesh" or "sfu"): the first page's streams and upstream. */
async function measure(mode) {
  const standIn = mode === "sfu" ? await startSfu() : null;
  // On the SFU from the second joiner on (MESH_MAX=1); without the SFU's settings, a mesh.
  const vars = standIn ? { ...LOCAL_ICE, ...realtimeVars(standIn), MESH_MAX: "1" } : LOCAL_ICE;
  const worker = await startWorker({ vars, liftLimits: true });
  const browser = await launchBrowser();
  try {
    const people = [];
    for (let i = 0; i < PEOPLE; i++) {
      const init = `(${cameraOnly})(${i > 0})`;
      const page = await openLobby(browser, worker.url + "/", { init, viewport: { width: 640, height: 360 } });
      await joinRoom(page, `P${i + 1}`, "upstream");
      people.push({ page, id: await myId(page) });
    }
    for (const { page, id } of people) {
      await waitPlaying(page, people.filter((other) => other.id !== id).map((other) => other.id), 60_000);
    }
    const [{ page: measured }] = people;
    // A figure for the wrong carrier would be worse than none.
    const media = await measured.evaluate(() => window.room.media);
    if (media !== mode) throw new Error(`the call is on ${media}, not ${mode}`);
    await sleep(SETTLE_MS);
    const before = await measured.evaluate(() => window.room.sending());
    await sleep(WINDOW_MS);
    const after = await measured.evaluate(() => window.room.sending());
    const total = (streams) => streams.reduce((sum, stream) => sum + stream.bytesSent, 0);
    const kbps = (bytes) => Math.round((bytes * 8) / WINDOW_MS);
    return {
      mode,
      upstreamKbps: kbps(total(after) - total(before)),
      // Each stream as it is at the end of the window, with its rate over the window (none
      // for a stream that began within it).
      streams: after.map((stream) => {
        const earlier = before.find(({ id }) => id === stream.id);
        return { ...stream, kbps: earlier ? kbps(stream.bytesSent - earlier.bytesSent) : null };
      }),
    };
  } finally {
    await browser.close();
    await worker.stop();
    await standIn?.stop();
  }
}

const result = { date: new Date().toISOString(), people: PEOPLE, windowMs: WINDOW_MS, runs: [] };
for (const mode of ["mesh", "sfu"]) {
  const run = await measure(mode);
  result.runs.push(run);
  process.stderr.write(`[upstream] ${mode}: ${run.upstreamKbps} kbit/s over ${run.streams.length} streams\n`);
}
await mkdir(RESULTS, { recursive: true });
await writeFile(path.join(RESULTS, "upstream.json"), JSON.stringify(result, null, 2));
const section = upstreamSection(result);
process.stdout.write(section);
if (process.env.BENCH_OUT !== "-") {
  const file = path.join(ROOT, "docs/benchmarks.md");
  await writeFile(file, replaceKept(await readFile(file, "utf8"), UPSTREAM_BEGIN, UPSTREAM_END, section));
}

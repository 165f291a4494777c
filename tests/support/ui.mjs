// Helpers for driving Room's web client the way a person does (fill fields, click buttons),
// and for reading what the page shows. Pages come from separate browser contexts, so each
// is its own "person" (own storage, own camera).
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, afterEach, before } from "node:test";
import { ROOT, startWorker } from "./worker.mjs";
import { launchBrowser } from "./browser.mjs";
import { sleep, until } from "./wait.mjs";

export const RESULTS = path.join(ROOT, "test-results");

/**
 * Worker vars that keep calls on this machine: /api/ice would otherwise hand the browsers the
 * default public STUN server (and Chromium would look its name up). Nothing listens on the
 * loopback discard port, so the STUN check fails at once and host candidates do the work.
 */
export const LOCAL_ICE = { STUN_URLS: "stun:127.0.0.1:9" };

/** A screenshot in test-results/ (ignored by git), for people to look at. */
export async function screenshot(page, name) {
  await mkdir(RESULTS, { recursive: true });
  const file = path.join(RESULTS, name);
  await page.screenshot({ path: file });
  return file;
}

/** Every page a test opened (through `openLobby` or `watchErrors`) and not yet closed. */
const watched = new Set();

/**
 * Collects the page's uncaught errors in `page.errors`, for `checkPageErrors`. Resolves with
 * the page.
 */
export function watchErrors(page) {
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error));
  watched.add(page);
  page.on("close", () => watched.delete(page));
  return page;
}

/**
 * The hooks a browser test file needs: one worker (`startWorker(options)`) and one browser
 * for the whole file, handed to `started({ worker, browser })` before the first test and
 * stopped after the last, and a failed test for any page that threw (`checkPageErrors`).
 * `options` may be an async function that gives them, for a worker configured with what
 * another server started first tells (its address).
 */
export function browserSuite(options, started) {
  let running = {};
  before(async () => {
    // Both started side by side; if one fails, the other is kept so that `after` stops it
    // (a worker left running kept the test process, and its workerd, alive for hours).
    const workerOptions = typeof options === "function" ? options() : options;
    const [worker, browser] = await Promise.allSettled([Promise.resolve(workerOptions).then(startWorker), launchBrowser()]);
    running = { worker: worker.value, browser: browser.value };
    for (const outcome of [worker, browser]) if (outcome.status === "rejected") throw outcome.reason;
    started(running);
  });
  after(async () => {
    await running.browser?.close();
    await running.worker?.stop();
  });
  afterEach(checkPageErrors);
}

/**
 * Fails if any page opened so far threw an uncaught error since the last check (those errors
 * are then forgotten, so the next test starts clean). Every browser test file runs it after
 * each test (`afterEach(checkPageErrors)`): a page that throws fails the test it threw in.
 */
export function checkPageErrors() {
  const thrown = [];
  for (const page of watched) {
    for (const error of page.errors.splice(0)) thrown.push(`${page.url()}: ${error.stack ?? error}`);
  }
  if (thrown.length) throw new Error(`uncaught page errors:\n${thrown.join("\n")}`);
}

/**
 * An init script (for `openLobby`) that answers every camera and microphone request as a
 * browser does when the person said no: for people a test needs without media.
 */
export const denyMedia = () => {
  navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("denied", "NotAllowedError"));
};

/**
 * A new person on the lobby page, in a browser of either driver: Chromium (playwright-core) or
 * Firefox (puppeteer-core, tests/support/firefox.mjs). Uncaught page errors are collected in
 * `page.errors`. Chromium's person prefers `locale` (the page speaks Korean for "ko-KR");
 * Firefox's has the machine's, English here.
 */
export async function openLobby(browser, url, { viewport = { width: 1280, height: 720 }, init, locale = "en-US" } = {}) {
  const page = browser.newContext ? await playwrightPage(browser, viewport, init, locale) : await puppeteerPage(browser, viewport, init);
  watchErrors(page);
  await page.goto(url);
  return page;
}

async function playwrightPage(browser, viewport, init, locale) {
  const context = await browser.newContext({ viewport, locale });
  if (init) await context.addInitScript(init);
  return context.newPage();
}

async function puppeteerPage(browser, viewport, init) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(viewport);
  if (init) await page.evaluateOnNewDocument(init);
  // Closing the page closes its context too, as in playwright where each person is a context.
  page.once("close", () => context.close().catch(() => {}));
  return page;
}

/**
 * Waits until `fn(arg)` is true in the page, for either driver: playwright takes the argument
 * before the options, puppeteer after them.
 */
export function waitFor(page, fn, arg, ms = 10_000) {
  const isPlaywright = typeof page.context === "function";
  return isPlaywright ? page.waitForFunction(fn, arg, { timeout: ms }) : page.waitForFunction(fn, { timeout: ms }, arg);
}

/** Types a name and a room and clicks Join; resolves with the click time once the call shows. */
export async function joinRoom(page, nick, room) {
  await page.locator("#nick").fill(nick);
  await page.locator("#room-name").fill(room);
  const clicked = Date.now();
  await page.click("#join");
  await page.waitForSelector("#call:not([hidden])");
  await page.waitForFunction(() => window.room.state === "in-call");
  return clicked;
}

/**
 * The remote tiles whose video is really playing: frames decoded (videoWidth > 0), and both
 * time and the count of frames shown advancing over `gapMs`. The time alone is not enough: a
 * `<video>` showing a MediaStream keeps its clock running while no frame arrives (a frozen
 * picture). Returns a Set of "<peer id>" or "<peer id>:screen".
 */
export async function playing(page, gapMs = 400) {
  const sample = () =>
    page.evaluate(() =>
      // The video shown (a tile may play a new stream beneath it until it has a frame).
      [...document.querySelectorAll(".tile[data-peer] video:not([data-incoming])")].map((video) => {
        const tile = video.closest(".tile");
        const key = tile.dataset.kind === "screen" ? `${tile.dataset.peer}:screen` : tile.dataset.peer;
        // Frames presented, counted by requestVideoFrameCallback from the first sample on
        // (`getVideoPlaybackQuality` would do in Chromium, but Firefox's stays at 0 for a
        // MediaStream).
        if (video.framesShown === undefined) {
          video.framesShown = 0;
          const count = () => {
            video.framesShown++;
            video.requestVideoFrameCallback(count);
          };
          video.requestVideoFrameCallback(count);
        }
        return { key, width: video.videoWidth, time: video.currentTime, frames: video.framesShown };
      }),
    );
  const before = await sample();
  await sleep(gapMs);
  const after = await sample();
  const keys = new Set();
  for (const now of after) {
    const then = before.find((b) => b.key === now.key);
    if (then && now.width > 0 && now.time > then.time && now.frames > then.frames) keys.add(now.key);
  }
  return keys;
}

/** Waits until exactly these remote tiles (keys as from `playing`) are playing. */
export async function waitPlaying(page, keys, ms = 20_000) {
  const want = [...keys].sort().join(",");
  let seen = "";
  try {
    await until(
      async () => {
        seen = [...(await playing(page))].sort().join(",");
        return seen === want;
      },
      { ms, what: `videos [${want}] playing` },
    );
  } catch (error) {
    const tiles = await page.evaluate(() =>
      [...document.querySelectorAll(".tile[data-peer]")].map((tile) => {
        const video = tile.querySelector("video");
        const tracks = video.srcObject?.getTracks().map((t) => `${t.kind}:${t.readyState}${t.muted ? ":muted" : ""}`);
        return `${tile.dataset.peer}/${tile.dataset.kind} ${video.videoWidth}px t=${video.currentTime.toFixed(1)} paused=${video.paused} [${tracks}]`;
      }),
    );
    error.message += `; playing: [${seen}]; tiles: ${tiles.join(" | ")}`;
    throw error;
  }
}

/** Every RTCPeerConnection of the page, per peer: { id, nick, connectionState, sending… }. */
export function peers(page) {
  return page.evaluate(() => window.room.peers());
}

/** Waits until the page has `n` peers, all with a connected RTCPeerConnection. */
export async function waitConnected(page, n, ms = 20_000) {
  await until(
    async () => {
      const list = await peers(page);
      return list.length === n && list.every((p) => p.connectionState === "connected");
    },
    { ms, what: `${n} connected peers` },
  );
}

export function myId(page) {
  return page.evaluate(() => window.room.me.id);
}

/** The tag the page shows after a person's name: "#" and the first 4 hex digits of the id. */
export function tagOf(id) {
  return `#${id.slice(0, 4)}`;
}

/** Types `text` in the call's chat and sends it with Enter, as a person does (either driver). */
export async function sendChat(page, text) {
  await page.locator("#chat-input").fill(text);
  await page.keyboard.press("Enter");
}

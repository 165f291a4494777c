// Rooms that grow: six people join one room through the UI, one after another, with the real
// worker in SFU mode pointed at the stand-in SFU (tests/support/sfu/). The first four are a
// mesh, and the SFU has no session; the fifth moves everyone to the SFU, make-before-break (on
// every page, each tile's peer-to-peer connection stops only once a frame of the SFU's copy
// is on the tile), and no remote video stops for long; the sixth, on the SFU from the start,
// sees everyone play soon after its Join click, and one browser's upstream at six on the SFU
// is less than at four in the mesh. Then, on the SFU: a camera switch, a dropped socket (a new session,
// published and subscribed anew), a screen share, and a browser that closes (gone for the
// others, its tracks closed on the SFU).
//
// The third person is Firefox, through the switch and on the SFU; the others are Chromium.
// Cameras send 320×180 at 10 frames a second, and each page is a 640×360 window: six pages
// share two cores with the SFU. Headless browsers composite in software, on the CPU a real
// browser leaves to its GPU: at 1280×720 that took about twice as much (measured in a mesh of
// three: Chromium's compositor 22 % of a core against 10 %, Firefox's 17 % against 11 %), and
// the saturated cores froze videos for up to 2.5 s during the switch.
//
// The tests build on each other, in file order: each needs the call as the one before left it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { watchMachineCpu } from "../../bench/lib/proc.mjs";
import { launchFirefox } from "../support/firefox.mjs";
import { startSfu } from "../support/sfu/index.mjs";
import { LOCAL_ICE, browserSuite, joinRoom, myId, openLobby, peers, screenshot, waitFor, waitPlaying } from "../support/ui.mjs";
import { sleep, until } from "../support/wait.mjs";

const ROOM = "grows";
// Issue 15's goals are that no remote video stands still for more than 1.5 s during the switch, and
// that a joiner of a room on the SFU sees everyone play within 2 s of Join. Each run prints its
// figures against them, with the machine's CPU meanwhile. What is asserted is a bound that six
// browsers with the stand-in SFU on two cores stay under: the switch's, for a picture that stops
// for seconds on the way (a peer-to-peer sender stopped before the SFU's copy is shown); the
// join's, for a join that waits on a timeout (the client's 15 s for an SFU answer, a session made
// anew after a failed connection). A tile left on a closed link, or a subscription that never
// plays, fails other checks first. Measured on 1 and 2 Dec 2026: the worst tile of the switch stood
// still 0.9 to 2.9 s in runs of this file alone, 1.8 to 3.1 s in CI's runs of the whole suite; the
// sixth joiner took 1.9 to 7.0 s alone, 3.4 to 7.7 s in CI. Both are what two cores give six
// browsers: both cores are 100 % busy during each, and the host takes next to none of them (steal 0
// to 1 %; the load average, near 20 by then, is this file's own runnable threads). Traced on 2 Dec,
// the sixth's page did 0.56 s of work on its main thread during its join, which took 9.5 s on the
// clock waiting for a core; the Room object sent its welcome 1 ms after the join came, and the
// stand-in spends under 30 ms on each call. With two browsers beside it rather than five, the same
// join takes 1 s (`node bench/call-setup.mjs --sfu`).
const SWITCH_FREEZE_GOAL_MS = 1500;
const SWITCH_FREEZE_BOUND_MS = 6000;
const SFU_JOIN_GOAL_MS = 2000;
const SFU_JOIN_BOUND_MS = 12_000;
const againstGoal = (ms, goal) => `${ms} ms (goal ${goal} ms: ${ms <= goal ? "met" : "not met"})`;
/** The machine's CPU over a measurement (`watchMachineCpu`), said beside its figure. */
const cpuSaid = ({ busy, steal }, when) => `the machine's two cores ${when}: ${busy} % busy, ${steal} % stolen by the host`;
/** How long upstream is measured for. */
const BITRATE_WINDOW_MS = 5000;

let worker, chromium, firefox, sfu;
browserSuite(
  async () => {
    sfu = await startSfu();
    const vars = { ...LOCAL_ICE, REALTIME_APP_ID: sfu.appId, REALTIME_APP_SECRET: sfu.secret, REALTIME_API_URL: sfu.url };
    return { vars, liftLimits: true };
  },
  (started) => ({ worker, browser: chromium } = started),
);
before(async () => {
  firefox = await launchFirefox();
});
after(async () => {
  await firefox?.close();
  await sfu?.stop();
});

// Only Ana and Fox have a microphone (the others' pages find none, as if none were plugged in):
// with six microphones, sound alone (capture, processing, a decoder per stream) took half of
// what the six pages and the SFU cost, and two saturated cores froze videos for seconds.
const ana = { nick: "Ana", engine: () => chromium, microphone: true };
const ben = { nick: "Ben", engine: () => chromium };
const fox = { nick: "Fox", engine: () => firefox, microphone: true };
const dee = { nick: "Dee", engine: () => chromium };
const eve = { nick: "Eve", engine: () => chromium };
const sam = { nick: "Sam", engine: () => chromium };
/** Who is in the call now, in joining order. */
const inCall = [];
/** The tile keys (peer ids) of everyone in the call but `me`. */
const othersOf = (me) => inCall.filter((p) => p !== me).map((p) => p.id);
/** Measurements, printed as the test's diagnostics and in the final summary. */
const measured = {};

/**
 * An init script for every page (`setUpPage({ microphone })`): the camera at 320×180 and 10
 * frames a second, no microphone unless `microphone`, and a watch
 * on every remote tile's video (`window.frameWatch`, by tile key) that counts the frames it
 * presents (requestVideoFrameCallback), notes when the first came, and every 50 ms samples the
 * count to keep the longest time it did not advance (`longest`, ms, since the last reset, and
 * when that began, `stillSince`) and when the tile last got another stream (`swappedAt`); and
 * when the Join button was clicked (`joinClickedAt`: the click event, not the driver's call,
 * which first waits for the button to be stable, two animation frames of a busy page).
 *
 * A tile plays a new stream in a second <video> beneath the one shown (`data-incoming`) until
 * it has a frame on screen; the watch follows the video shown, whichever element that is.
 *
 * And a watch of the move to the SFU (`window.switchWatch`, by peer id), for what each camera
 * tile shows against the peer-to-peer connection that carried it (`window.room.carriers`):
 * when the tile came to show a video of the SFU's stream of that person (`sfuShownAt`), when a
 * frame of it was first on screen there (`sfuFirstFrameAt`: that, or the video's first
 * presented frame if later), and when that connection stopped (`p2pDownAt`: this page closed
 * it, the time of its `close()`, or its state left new/connecting/connected, as when the
 * other side closed it).
 */
const setUpPage = ({ microphone }) => {
  // Not on Firefox's first blank document, which has no media devices.
  const devices = navigator.mediaDevices;
  const getUserMedia = devices?.getUserMedia.bind(devices);
  if (devices) {
    devices.getUserMedia = (constraints = {}) => {
      // The page then asks for the camera alone, and says that no microphone was found.
      if (constraints.audio && !microphone) return Promise.reject(new DOMException("no microphone", "NotFoundError"));
      if (!constraints.video) return getUserMedia(constraints);
      const video = { ...(constraints.video === true ? {} : constraints.video), width: 320, height: 180, frameRate: 10 };
      return getUserMedia({ ...constraints, video });
    };
  }
  addEventListener("click", ({ target }) => target.closest?.("#join") && (window.joinClickedAt = Date.now()), true);
  // When this page closed each connection.
  if (window.RTCPeerConnection) {
    const close = RTCPeerConnection.prototype.close;
    RTCPeerConnection.prototype.close = function () {
      this.closedAt ??= Date.now();
      return close.call(this);
    };
  }
  const switches = (window.switchWatch = new Map());
  const switchOf = (id) => {
    if (!switches.has(id)) switches.set(id, { p2p: null, p2pDownAt: null, sfuShownAt: null, sfuFirstFrameAt: null });
    return switches.get(id);
  };
  // When the room socket sent `join` and each SFU call, and when the welcome and each answer came
  // (`timeline`: [time, what]), to say where a join's time went.
  const timeline = (window.timeline = []);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const frame = typeof data === "string" && data.startsWith("{") ? JSON.parse(data) : null;
    if (frame?.type === "join") {
      this.addEventListener("message", ({ data }) => {
        const answer = typeof data === "string" && /^\{"type":"(welcome|sfu)"/.test(data) ? JSON.parse(data) : null;
        if (answer) timeline.push([Date.now(), answer.type === "welcome" ? "welcome" : `answer ${answer.req}`]);
      });
    }
    if (frame?.type === "join" || frame?.type === "sfu") timeline.push([Date.now(), frame.type === "join" ? "join" : `${frame.call} ${frame.req}`]);
    return send.call(this, data);
  };
  // And when a connection connected (for a joiner of a room on the SFU, its one connection).
  const Connection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Connection {
    constructor(config) {
      super(config);
      this.addEventListener("connectionstatechange", () => this.connectionState === "connected" && timeline.push([Date.now(), "connected"]));
    }
    // And how long the browser took to apply each description (on two busy cores, the answer
    // to the SFU's offer has taken 0.6 s, finishing as the connection connects).
    async setRemoteDescription(description) {
      timeline.push([Date.now(), `remote ${description.type} from`]);
      await super.setRemoteDescription(description);
      timeline.push([Date.now(), `remote ${description.type} set`]);
    }
    async setLocalDescription(description) {
      timeline.push([Date.now(), "local description from"]);
      await super.setLocalDescription(description);
      timeline.push([Date.now(), "local description set"]);
    }
  };
  const tiles = (window.frameWatch = new Map());
  const keyOf = (tile) => (tile.dataset.kind === "screen" ? `${tile.dataset.peer}:screen` : tile.dataset.peer);
  // The SFU's streams of each person seen so far (the SFU may rebuild a person's stream, as
  // when their sound comes after their picture: any of them is the SFU's copy).
  const sfuCopies = new WeakSet();
  const isSfuCopy = (key, video) => {
    const sfuCamera = key.endsWith(":screen") ? null : window.room?.carriers(key).sfuCamera;
    if (sfuCamera) sfuCopies.add(sfuCamera);
    return sfuCopies.has(video.srcObject);
  };
  /** The watch of the tile that shows `video` (null while it plays beneath the one shown). */
  const shownIn = (video) => {
    const tile = video.closest(".tile[data-peer]");
    if (!tile || video.hasAttribute("data-incoming")) return null;
    const key = keyOf(tile);
    if (!tiles.has(key)) tiles.set(key, { video, frames: 0, firstFrameAt: null, seen: 0, advancedAt: null, longest: 0, stillSince: null, stream: null, swappedAt: null });
    const entry = tiles.get(key);
    entry.video = video;
    return { key, entry };
  };
  /** `video` is shown and has presented a frame: if it plays the SFU's copy, that frame is on screen. */
  const sfuFrameShown = (key, video) => {
    if (video.shownAt && video.firstPresentedAt && isSfuCopy(key, video)) {
      switchOf(key).sfuShownAt ??= video.shownAt;
      switchOf(key).sfuFirstFrameAt ??= Math.max(video.shownAt, video.firstPresentedAt);
    }
  };
  // When each video first presented a frame, as any requestVideoFrameCallback of it (the
  // page's own too) learns: a callback of the watch's own, though asked for as the video is
  // added, is at times called one frame after the page's, for a video beneath another.
  const presentedCallback = window.HTMLVideoElement?.prototype.requestVideoFrameCallback;
  if (presentedCallback) {
    HTMLVideoElement.prototype.requestVideoFrameCallback = function (callback) {
      return presentedCallback.call(this, (...args) => {
        this.firstPresentedAt ??= Date.now();
        callback(...args);
      });
    };
  }
  // Every video's presented frames, counted from the moment it is added (before it can present
  // one), for its tile while it is the one shown.
  const watchFrames = (video) => {
    const count = () => {
      const shown = shownIn(video);
      if (shown) {
        shown.entry.frames++;
        shown.entry.firstFrameAt ??= Date.now();
        sfuFrameShown(shown.key, video);
      }
      if (video.isConnected) video.requestVideoFrameCallback(count);
    };
    video.requestVideoFrameCallback(count);
  };
  // And when each video became the one shown (added without `data-incoming`, or lost it): one
  // that presented a frame beneath the one shown has it on screen from then on.
  const videosIn = (node) => (node.localName === "video" ? [node] : [...(node.querySelectorAll?.("video") ?? [])]);
  new MutationObserver((records) => {
    const now = Date.now();
    for (const { target, addedNodes } of records) {
      for (const node of addedNodes) videosIn(node).forEach(watchFrames);
      for (const video of [target, ...addedNodes].flatMap(videosIn)) {
        if (video.shownAt || !video.isConnected || video.hasAttribute("data-incoming")) continue;
        video.shownAt = now;
        const shown = shownIn(video);
        if (shown && isSfuCopy(shown.key, video)) switchOf(shown.key).sfuShownAt ??= now;
        if (shown) sfuFrameShown(shown.key, video);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributeFilter: ["data-incoming"] });
  setInterval(() => {
    const now = Date.now();
    for (const video of document.querySelectorAll(".tile[data-peer] video:not([data-incoming])")) shownIn(video);
    for (const video of document.querySelectorAll(".tile[data-peer]:not([data-kind=screen]) video:not([data-incoming])")) {
      const watch = switchOf(video.closest(".tile").dataset.peer);
      const { p2p } = window.room?.carriers(video.closest(".tile").dataset.peer) ?? {};
      // A new connection (one side started over) is the one to watch from now on.
      if (p2p && p2p !== watch.p2p) Object.assign(watch, { p2p, p2pDownAt: null });
      if (watch.p2p && watch.p2pDownAt === null && !["new", "connecting", "connected"].includes(watch.p2p.connectionState)) {
        watch.p2pDownAt = watch.p2p.closedAt ?? now;
      }
    }
    for (const entry of tiles.values()) {
      if (entry.video.srcObject !== entry.stream) {
        entry.stream = entry.video.srcObject;
        entry.swappedAt = now;
      }
      if (entry.frames !== entry.seen) {
        entry.seen = entry.frames;
        entry.advancedAt = now;
      } else if (entry.advancedAt !== null && now - entry.advancedAt > entry.longest) {
        entry.longest = now - entry.advancedAt;
        entry.stillSince = entry.advancedAt;
      }
    }
  }, 50);
};

/** Opens `person`'s lobby and joins the room through the UI; resolves with the click's time. */
async function join(person) {
  const init = `(${setUpPage})(${JSON.stringify({ microphone: Boolean(person.microphone) })})`;
  person.page = await openLobby(person.engine(), worker.url + "/", { init, viewport: { width: 640, height: 360 } });
  if (process.env.SFU_DEBUG) person.page.on("console", (m) => /warn|error/.test(m.type()) && console.log(`[${person.nick}] ${m.text()}`));
  await joinRoom(person.page, person.nick, ROOM);
  person.id = await myId(person.page);
  inCall.push(person);
  return person.page.evaluate(() => window.joinClickedAt);
}

/** What a page knows of the call: its media mode and, per other person, what carries them. */
function callState(page) {
  return page.evaluate(() => ({ media: window.room.media, peers: window.room.peers() }));
}

/**
 * Waits until every page in the call is on the SFU with no peer-to-peer connection left, every
 * other person's media comes from the SFU, and every remote video plays.
 */
async function everyoneOnSfu(ms = 30_000) {
  await onSfuOnly(inCall, ms);
  for (const person of inCall) await waitPlayingFor(person, othersOf(person), ms);
}

/** Waits until these people's pages are on the SFU, everyone's media from it, no peer-to-peer connection left. */
async function onSfuOnly(people, ms = 30_000) {
  for (const person of people) {
    await until(
      async () => {
        const { media, peers } = await callState(person.page);
        return media === "sfu" && peers.length === inCall.length - 1 && peers.every((p) => p.via === "sfu" && !p.p2p);
      },
      { ms, what: `${person.nick} on the SFU with no peer-to-peer connection` },
    );
  }
}

/** `waitPlaying` on `person`'s page, failing with their name. */
async function waitPlayingFor(person, keys, ms) {
  try {
    await waitPlaying(person.page, keys, ms);
  } catch (error) {
    error.message = `${person.nick}: ${error.message}`;
    throw error;
  }
}

/** Forgets the longest stillness each page's frame watch has seen so far. */
function resetFrameWatch(pages) {
  return Promise.all(pages.map((page) => page.evaluate(() => window.frameWatch.forEach((entry) => (entry.longest = 0)))));
}

/**
 * The longest stillness of each tile a page's frame watch saw since the last reset, by key:
 * { ms, stillSince, swappedAt } (times as Date.now()).
 */
function longestStillness(page) {
  return page.evaluate(() => {
    const now = Date.now();
    return Object.fromEntries(
      [...window.frameWatch].map(([key, e]) => {
        const still = e.advancedAt === null ? 0 : now - e.advancedAt;
        const ongoing = still > e.longest;
        return [key, { ms: Math.max(e.longest, still), stillSince: ongoing ? e.advancedAt : e.stillSince, swappedAt: e.swappedAt }];
      }),
    );
  });
}

/**
 * What `page`'s switch watch saw of each of `ids`: when the tile got the SFU's stream
 * (`sfuShownAt`) and showed its first frame (`sfuFirstFrameAt`), and when the peer-to-peer
 * connection stopped (`p2pDownAt`), by id.
 */
function switchOrder(page, ids) {
  return page.evaluate(
    (ids) =>
      Object.fromEntries(
        ids.map((id) => {
          const { sfuShownAt = null, sfuFirstFrameAt = null, p2pDownAt = null, p2p = null } = window.switchWatch.get(id) ?? {};
          return [id, { sfuShownAt, sfuFirstFrameAt, p2pDownAt, p2pState: p2p?.connectionState ?? null }];
        }),
      ),
    ids,
  );
}

/** One page's upstream, in kbit/s: RTP bytes sent over every connection in BITRATE_WINDOW_MS. */
async function upstreamKbps(page) {
  const bytes = async () => (await page.evaluate(() => window.room.sending())).reduce((sum, stream) => sum + stream.bytesSent, 0);
  const before = await bytes();
  await sleep(BITRATE_WINDOW_MS);
  return Math.round(((await bytes()) - before) * 8 / BITRATE_WINDOW_MS);
}

/** A call to the stand-in by method and path, without its session id ("PUT sessions/:id/renegotiate"). */
const callName = ({ method, path }) => `${method} ${path.replace(/^.*\/sessions\/(new|[^/]+)/, (_, id) => (id === "new" ? "sessions/new" : "sessions/:id"))}`;

/** How many of `calls` (the stand-in's record of them) there are of each name. */
function countByName(calls) {
  const counts = {};
  for (const call of calls) counts[callName(call)] = (counts[callName(call)] ?? 0) + 1;
  return counts;
}

/**
 * The stand-in's sessions that publish or did, with their published tracks' status by name
 * (closed tracks stay listed, as inactive).
 */
async function publishingSessions() {
  return (await sfu.sessions())
    .map((s) => ({ id: s.sessionId, published: Object.fromEntries(s.tracks.filter((t) => t.location === "local").map((t) => [t.trackName, t.status])) }))
    .filter((s) => Object.keys(s.published).length);
}

/** Whether a session of `publishingSessions` still publishes something. */
const stillPublishing = (session) => Object.values(session.published).includes("active");

test("four people are a mesh: every video plays peer to peer and the SFU has no session", async (t) => {
  for (const person of [ana, ben, fox, dee]) await join(person);
  for (const person of inCall) {
    await waitPlayingFor(person, othersOf(person));
    const { media, peers } = await callState(person.page);
    assert.equal(media, "mesh", person.nick);
    assert.ok(peers.every((p) => p.via === "p2p"), `${person.nick}: ${JSON.stringify(peers)}`);
  }
  assert.deepEqual(await sfu.sessions(), []);
  measured.meshUpstreamAt4 = await upstreamKbps(ana.page);
  t.diagnostic(`Ana's upstream in a mesh of 4 (3 copies): ${measured.meshUpstreamAt4} kbit/s`);
});

test("the fifth joiner moves everyone to the SFU, and no remote video stands still for long", async (t) => {
  const mesh = [ana, ben, fox, dee];
  for (const person of mesh) await waitPlayingFor(person, othersOf(person));
  const callsBefore = (await sfu.calls()).length;
  await resetFrameWatch(mesh.map((p) => p.page));
  const cpu = watchMachineCpu();
  const clicked = await join(eve);
  // The switch is over when each of the four shows everyone from the SFU and has closed its
  // peer-to-peer connections; a second more, for the tiles whose link closed last.
  await onSfuOnly(mesh);
  await sleep(1000);
  measured.switchCpu = cpu();
  let worst = { ms: 0 };
  const every = [];
  for (const person of mesh) {
    const stillness = await longestStillness(person.page);
    // The tiles that played before the switch (the fifth's own is new: its start is no freeze).
    for (const other of mesh.filter((p) => p !== person)) {
      const { ms, stillSince, swappedAt } = stillness[other.id];
      const seen = { ms, viewer: person.nick, of: other.nick, stillFrom: stillSince - clicked, swappedAt: swappedAt - clicked };
      every.push(`${seen.viewer}→${seen.of} ${ms} ms (from ${seen.stillFrom}, swap ${seen.swappedAt})`);
      if (ms > worst.ms) worst = seen;
    }
  }
  t.diagnostic(`each tile's longest stillness, ms after the fifth's click: ${every.join("; ")}`);
  measured.switchFreeze = worst;
  const switchCalls = (await sfu.calls()).slice(callsBefore);
  measured.switchCalls = switchCalls.length;
  t.diagnostic(
    `longest a remote video stood still during the switch: ${againstGoal(worst.ms, SWITCH_FREEZE_GOAL_MS)} (${worst.viewer} watching ${worst.of}, ` +
      `still from ${worst.stillFrom} ms after the fifth's click; that tile got the SFU's stream at ${worst.swappedAt} ms; ${cpuSaid(measured.switchCpu, "from the fifth's lobby to the switch's end")})`,
  );
  t.diagnostic(`SFU API calls for the switch of 5 people: ${measured.switchCalls} ${JSON.stringify(countByName(switchCalls))}`);
  // Make before break, as each person sees it: every tile of the others came to show the SFU's
  // copy and present frames of it, and the peer-to-peer connection that carried the tile's
  // picture stopped only once a frame of the SFU's copy was on the tile.
  const seen = new Map();
  for (const person of mesh) {
    const ids = mesh.filter((p) => p !== person).map((p) => p.id);
    const order = await until(
      async () => {
        const order = await switchOrder(person.page, ids);
        return Object.values(order).every((tile) => tile.sfuFirstFrameAt !== null) && order;
      },
      { ms: 15_000, what: `${person.nick}'s tiles showing a frame of the SFU's copy` },
    ).catch(() => switchOrder(person.page, ids));
    seen.set(person, order);
  }
  const order = [];
  const broken = [];
  for (const person of mesh) {
    for (const other of mesh.filter((p) => p !== person)) {
      const { sfuShownAt, sfuFirstFrameAt, p2pDownAt, p2pState } = seen.get(person)[other.id];
      const at = (time) => (time === null ? "never" : `${time - clicked}`);
      const pair = `${person.nick}→${other.nick}`;
      order.push(`${pair} SFU copy shown ${at(sfuShownAt)}, its first frame ${at(sfuFirstFrameAt)}, p2p down ${at(p2pDownAt)} (${p2pState})`);
      if (sfuShownAt === null) broken.push(`${pair}: the tile never showed the SFU's copy`);
      else if (sfuFirstFrameAt === null) broken.push(`${pair}: the tile never presented a frame of the SFU's copy`);
      if (p2pDownAt === null) broken.push(`${pair}: the peer-to-peer connection never stopped (${p2pState})`);
      else if (sfuFirstFrameAt === null || p2pDownAt < sfuFirstFrameAt) {
        const when = sfuFirstFrameAt === null ? "" : ` ${sfuFirstFrameAt - p2pDownAt} ms`;
        broken.push(`${pair}: the peer-to-peer connection stopped (${p2pState})${when} before a frame of the SFU's copy was on the tile`);
      }
    }
  }
  t.diagnostic(`the switch per tile, ms after the fifth's click: ${order.join("; ")}`);
  assert.deepEqual(broken, [], "make before break");
  assert.ok(worst.ms <= SWITCH_FREEZE_BOUND_MS, `${worst.viewer}'s video of ${worst.of} stood still for ${worst.ms} ms`);
  await everyoneOnSfu();
  // One session publishing per person. A connection to the SFU that fails on the way is made
  // anew, with a new session, and the room closes the old one's tracks (the stand-in lists
  // them as inactive).
  await until(async () => (await publishingSessions()).filter(stillPublishing).length === 5, {
    what: "five sessions publishing on the SFU, one per person",
  });
  for (const person of inCall) assert.equal((await callState(person.page)).media, "sfu");
});

test("a sixth joiner on the SFU sees everyone play soon after Join, and everyone sees five videos", async (t) => {
  const callsBefore = await sfu.calls();
  await sfu.loopDelay();
  const cpu = watchMachineCpu();
  const clicked = await join(sam);
  // The first frame of each of the five others' videos, as the page's watch saw it come.
  const firstFrames = await until(
    async () => {
      const times = await sam.page.evaluate((ids) => ids.map((id) => window.frameWatch.get(id)?.firstFrameAt ?? null), othersOf(sam));
      return times.every((time) => time !== null) && times;
    },
    { ms: 20_000, what: "a first frame of every video" },
  );
  const setup = Math.max(...firstFrames) - clicked;
  measured.sixthJoin = setup;
  measured.sixthJoinCpu = cpu();
  const timeline = await sam.page.evaluate(() => window.timeline);
  const steps = [...timeline.map(([time, what]) => [time, what]), ...firstFrames.map((time) => [time, "first frame"])].sort(([a], [b]) => a - b);
  t.diagnostic(
    `sixth joiner, Join click to every video's first frame: ${againstGoal(setup, SFU_JOIN_GOAL_MS)} (${steps.map(([time, what]) => `${what} ${time - clicked}`).join(", ")}; ` +
      `${cpuSaid(measured.sixthJoinCpu, "from the sixth's lobby to its last first frame")})`,
  );
  // How much of that the stand-in itself took: each call's time in it, and how late its event
  // loop (which also forwards every packet) ran meanwhile.
  const late = await sfu.loopDelay();
  await everyoneOnSfu();
  for (const person of inCall) assert.equal((await peers(person.page)).length, 5);
  const calls = (await sfu.calls()).slice(callsBefore.length);
  measured.joinCalls = calls.length;
  measured.joinCallsByPath = countByName(calls);
  t.diagnostic(`SFU API calls for one join into a room of 5: ${calls.length} ${JSON.stringify(measured.joinCallsByPath)}`);
  t.diagnostic(
    `the stand-in's calls, in order (came ms after the click, took ms): ${calls.map((call) => `${callName(call).replace(/^.*sessions\/(:id\/)?/, "")} +${call.at - clicked} ${call.ms}`).join(", ")}; ` +
      `its event loop ran late by p50 ${late.p50.toFixed(0)} / p99 ${late.p99.toFixed(0)} / max ${late.max.toFixed(0)} ms`,
  );
  await screenshot(sam.page, "call-sfu.png");
  measured.sfuUpstreamAt6 = await upstreamKbps(ana.page);
  t.diagnostic(`Ana's upstream on the SFU at 6 (1 copy): ${measured.sfuUpstreamAt6} kbit/s; in the mesh of 4 (3 copies): ${measured.meshUpstreamAt4} kbit/s`);
  // The point of the SFU: one copy up, however many people. (A mesh of six is not measured:
  // thirty connections on two cores starve the encoders, which then send less each.)
  assert.ok(measured.sfuUpstreamAt6 < measured.meshUpstreamAt4, JSON.stringify(measured));
  assert.ok(setup <= SFU_JOIN_BOUND_MS, `every video played ${setup} ms after the click`);
});

test("on the SFU, a camera switch goes onto the SFU's sender and the others keep playing", async () => {
  const switchTo = async (label) => {
    await ben.page.click("#settings-btn");
    await ben.page.selectOption("#camera-select", { label });
    await until(async () => (await peers(ben.page)).every((p) => p.sending.video === label), { what: `the SFU sender on ${label}` });
    await ben.page.keyboard.press("Escape");
  };
  // As in call.test.mjs: fake_device_1's frames do not move; back on fake_device_0 they must.
  await switchTo("fake_device_1");
  await switchTo("fake_device_0");
  for (const person of inCall) await waitPlayingFor(person, othersOf(person));
});

test("on the SFU, a dropped socket comes back with a new session, published and received anew", async () => {
  const sessionsBefore = (await publishingSessions()).map((s) => s.id);
  await dee.page.evaluate(() => window.room.dropSocket());
  await dee.page.waitForSelector("#conn-banner:not([hidden])");
  await dee.page.waitForSelector("#conn-banner", { state: "hidden" });
  assert.equal(await myId(dee.page), dee.id, "the resume token gave back the same id");
  await until(async () => (await publishingSessions()).some((s) => !sessionsBefore.includes(s.id) && s.published.camera === "active"), {
    what: "a new session publishing a camera",
  });
  await everyoneOnSfu();
});

test("on the SFU, a screen share plays for everyone (Firefox too) and goes when it stops", async () => {
  await ben.page.click("#screen-btn");
  await ben.page.waitForSelector("#screen-btn.active");
  for (const person of inCall.filter((p) => p !== ben)) await waitPlayingFor(person, [...othersOf(person), `${ben.id}:screen`]);
  await screenshot(fox.page, "call-sfu-screen-firefox.png");
  await ben.page.click("#screen-btn");
  for (const person of inCall.filter((p) => p !== ben)) {
    await waitFor(person.page, (id) => !document.querySelector(`.tile[data-peer="${id}"][data-kind="screen"]`), ben.id);
    await until(async () => !(await person.page.evaluate((id) => window.room.sfuReceiving()[id]?.includes("screen"), ben.id)), {
      what: `${person.nick} no longer receiving Ben's screen`,
    });
  }
  await until(async () => (await publishingSessions()).some((s) => s.published.screen === "inactive"), { what: "the screen closed on the SFU" });
});

test("a browser that closes disappears from the others, and its tracks are closed on the SFU", async () => {
  // Sam's session is the newest that publishes (Dee's new one came later: find Sam's by its camera).
  const before = await publishingSessions();
  await sam.page.context().close();
  inCall.splice(inCall.indexOf(sam), 1);
  for (const person of inCall) {
    await waitFor(person.page, (id) => !document.querySelector(`.tile[data-peer="${id}"]`), sam.id);
    await until(async () => !(await person.page.evaluate((id) => id in window.room.sfuReceiving(), sam.id)), {
      what: `${person.nick} no longer receiving Sam`,
    });
  }
  await until(
    async () => {
      const now = await publishingSessions();
      const closed = now.filter((s) => !stillPublishing(s));
      const stillActive = before.filter(stillPublishing).length;
      return closed.length >= 1 && now.filter((s) => s.published.camera === "active").length === stillActive - 1;
    },
    { what: "Sam's published tracks closed on the SFU" },
  );
  for (const person of inCall) await waitPlayingFor(person, othersOf(person));
});

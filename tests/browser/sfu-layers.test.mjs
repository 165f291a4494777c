// Simulcast on the SFU (docs/protocol.md, "Simulcast"): three people in a room on the stand-in
// SFU (MESH_MAX 1: a room of two is on the SFU already), Ann and Bob in Chromium and Fox in
// Firefox. Every camera is published in two layers; each page receives each camera in the layer
// its tile's size calls for. When Ann's window shrinks, the pictures her tiles receive become
// narrower (the low layer, half the width), with one `layer` call however many steps the resize
// took; when it grows again the high layer comes back. Fox's window, in Firefox, likewise.
//
// What is measured is the received picture's width (`videoWidth` of the tile's <video>), which
// only changes if the layer choice reaches the SFU and the SFU forwards the other layer.
// Cameras send 640×360 (Room's own request) at 10 frames a second, and only Ann has a
// microphone: three pages encoding two layers each share two cores with the SFU.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { firefoxForFile } from "../support/firefox.mjs";
import { startSfu } from "../support/sfu/index.mjs";
import { realtimeVars } from "../support/sfu-member.mjs";
import { LOCAL_ICE, browserSuite, joinRoom, myId, openLobby, waitPlaying } from "../support/ui.mjs";
import { sleep, until } from "../support/wait.mjs";

const ROOM = "layers";
const LARGE = { width: 1600, height: 900 };
const SMALL = { width: 480, height: 400 };

let worker, chromium, sfu;
browserSuite(
  async () => {
    sfu = await startSfu();
    return { vars: realtimeVars(sfu, { ...LOCAL_ICE, MESH_MAX: "1" }), liftLimits: true };
  },
  (started) => ({ worker, browser: chromium } = started),
);
after(() => sfu?.stop());
const firefox = firefoxForFile();

/**
 * An init script for every page (`setUpPage({ microphone })`): the camera at 10 frames a second
 * (its size as Room asks), no microphone unless `microphone`, and each `layer` call the page
 * sends kept in `window.layerCalls` ({ at, tracks }).
 */
const setUpPage = ({ microphone }) => {
  const devices = navigator.mediaDevices;
  if (devices) {
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints = {}) => {
      // The page then asks for the camera alone, and says that no microphone was found.
      if (constraints.audio && !microphone) return Promise.reject(new DOMException("no microphone", "NotFoundError"));
      if (!constraints.video) return getUserMedia(constraints);
      const video = { ...(constraints.video === true ? {} : constraints.video), frameRate: 10 };
      return getUserMedia({ ...constraints, video });
    };
  }
  window.layerCalls = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const frame = typeof data === "string" && data.startsWith("{") ? JSON.parse(data) : null;
    if (frame?.type === "sfu" && frame.call === "layer") window.layerCalls.push({ at: Date.now(), tracks: frame.tracks });
    return send.call(this, data);
  };
};

const ann = { nick: "Ann", engine: () => chromium, viewport: LARGE, microphone: true };
const bob = { nick: "Bob", engine: () => chromium, viewport: LARGE };
const fox = { nick: "Fox", engine: firefox, viewport: LARGE };
const people = [ann, bob, fox];
const othersOf = (me) => people.filter((p) => p !== me);

async function join(person) {
  const init = `(${setUpPage})(${JSON.stringify({ microphone: Boolean(person.microphone) })})`;
  person.page = await openLobby(person.engine(), worker.url + "/", { viewport: person.viewport, init });
  await joinRoom(person.page, person.nick, ROOM);
  person.id = await myId(person.page);
}

/** The width of the picture each remote camera tile of `person`'s page receives, and the tile's, by id. */
function received(person) {
  return person.page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('.tile[data-peer][data-kind="camera"]')].map((tile) => {
        const video = tile.querySelector("video");
        return [tile.dataset.peer, { picture: video.videoWidth, tile: Math.round(video.getBoundingClientRect().width) }];
      }),
    ),
  );
}

/** Resizes `person`'s window, with either driver, in `steps` steps 50 ms apart. */
async function resize(person, size, steps = 1) {
  const from = person.viewport;
  for (let i = 1; i <= steps; i++) {
    const step = {
      width: Math.round(from.width + ((size.width - from.width) * i) / steps),
      height: Math.round(from.height + ((size.height - from.height) * i) / steps),
    };
    await (person.page.setViewportSize ? person.page.setViewportSize(step) : person.page.setViewport(step));
    if (i < steps) await sleep(50);
  }
  person.viewport = size;
}

/** Waits until every remote camera `person` receives is `wide(width)`; resolves with the widths. */
async function picturesBecome(person, wide, what) {
  let last;
  try {
    await until(
      async () => {
        last = await received(person);
        return othersOf(person).every((other) => wide(last[other.id]?.picture ?? 0));
      },
      { ms: 20_000, what: `${person.nick}'s pictures ${what}` },
    );
  } catch (error) {
    error.message += `: ${JSON.stringify(last)}; layers ${JSON.stringify(await person.page.evaluate(() => window.room.sfuLayers()))}`;
    throw error;
  }
  return Object.fromEntries(othersOf(person).map((other) => [other.nick, last[other.id]]));
}

/** The widths each page receives while its window is large, by person: the high layer. */
const high = {};

/** Every camera publication the stand-in has a record of: { sessionId, status, packetsByRid }. */
async function cameraRecords() {
  return (await sfu.sessions()).flatMap(({ sessionId, tracks }) =>
    tracks.filter((t) => t.location === "local" && t.trackName === "camera").map(({ status, packetsByRid }) => ({ sessionId, status, packetsByRid })),
  );
}

/**
 * Packets of each camera layer the stand-in received, by publication still active: { l, h }.
 * A page may have published its camera before (a session replaced under load): the stand-in
 * keeps those records, inactive, as the API does.
 */
async function layersArrived() {
  return (await cameraRecords()).filter((camera) => camera.status === "active").map((camera) => camera.packetsByRid);
}

test("three on the SFU: each camera is sent in two layers, and a large tile receives the high one", async (t) => {
  for (const person of people) await join(person);
  for (const person of people) await waitPlaying(person.page, othersOf(person).map((p) => p.id), 30_000);
  // A browser sends its low layer first, and adds the high one as its estimate of the bandwidth
  // grows (slowly through the stand-in, which gives little feedback for it).
  let arrived;
  const both = async () => (arrived = await layersArrived()).length === 3 && arrived.every((camera) => camera.l > 0 && camera.h > 0);
  await until(both, { ms: 40_000, what: "both layers of every camera at the SFU" }).catch(async (error) => {
    // Closed ones too, by session: tells a page that published twice.
    error.message += `: ${JSON.stringify(arrived)}; every camera record: ${JSON.stringify(await cameraRecords())}`;
    throw error;
  });
  // Firefox's stats list one outbound stream for its camera, whatever it sends.
  for (const person of [ann, bob]) t.diagnostic(`${person.nick} sends ${await person.page.evaluate(() => window.room.sfuVideoSent())}`);
  for (const person of [ann, fox]) {
    high[person.nick] = await picturesBecome(person, (width) => width >= 480, "from the high layer");
    t.diagnostic(`${person.nick}'s large window receives ${JSON.stringify(high[person.nick])}`);
  }
});

test("Ann's window made small: her tiles receive the low layer, after one `layer` call", async (t) => {
  const callsBefore = await ann.page.evaluate(() => window.layerCalls.length);
  // Six steps in 250 ms, as a person dragging a window's corner: one call once it has settled.
  await resize(ann, SMALL, 6);
  const low = await picturesBecome(ann, (width) => width > 0 && width <= 360, "from the low layer");
  for (const other of othersOf(ann)) assert.ok(low[other.nick].picture * 1.5 <= high.Ann[other.nick].picture, JSON.stringify({ low, high }));
  const calls = (await ann.page.evaluate(() => window.layerCalls)).slice(callsBefore);
  assert.equal(calls.length, 1, JSON.stringify(calls));
  assert.deepEqual(calls[0].tracks.map((track) => track.layer), ["low", "low"]);
  assert.deepEqual(await ann.page.evaluate(() => window.room.sfuLayers()), { [bob.id]: "low", [fox.id]: "low" });
  t.diagnostic(`Ann's small window receives ${JSON.stringify(low)}`);
});

test("Ann's window large again: the high layer comes back", async () => {
  await resize(ann, LARGE, 3);
  const back = await picturesBecome(ann, (width) => width >= 480, "from the high layer again");
  for (const other of othersOf(ann)) assert.equal(back[other.nick].picture, high.Ann[other.nick].picture);
});

test("Firefox: Fox's window made small receives the low layer of Ann's and Bob's cameras", async (t) => {
  await resize(fox, SMALL, 3);
  const low = await picturesBecome(fox, (width) => width > 0 && width <= 360, "from the low layer");
  for (const other of othersOf(fox)) assert.ok(low[other.nick].picture * 1.5 <= high.Fox[other.nick].picture, JSON.stringify({ low, high }));
  t.diagnostic(`Fox's small window receives ${JSON.stringify(low)}`);
  const cameras = (await sfu.sessions()).flatMap((s) => s.tracks).filter((track) => track.location === "remote" && track.trackName === "camera");
  t.diagnostic(`the stand-in forwards the camera layers ${cameras.map((track) => track.rid).sort().join(", ")}`);
});

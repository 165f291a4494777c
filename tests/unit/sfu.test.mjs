// What the web client's SFU link decides without a browser (site/js/sfu.js): which tracks to
// subscribe to and which to close so that what it receives matches what the others publish,
// how many tracks go in one call, and which layer of each camera its tile's size calls for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TRACKS_PER_CALL, batches, cameraLayer, layerChanges, subscriptionChanges } from "../../site/js/sfu.js";

const wanted = (entries) => new Map(entries.map(([id, kinds]) => [id, new Set(kinds)]));
const held = (entries) => new Map(entries.map(([id, mids]) => [id, new Map(Object.entries(mids))]));

test("nothing held: every wanted track is subscribed to, nothing closed", () => {
  assert.deepEqual(subscriptionChanges(wanted([["a", ["mic", "camera"]], ["b", ["mic"]]]), new Map()), {
    subscribe: [
      { id: "a", kind: "mic" },
      { id: "a", kind: "camera" },
      { id: "b", kind: "mic" },
    ],
    close: [],
  });
});

test("what is held and wanted is left alone", () => {
  const changes = subscriptionChanges(wanted([["a", ["mic", "camera"]]]), held([["a", { mic: "0", camera: "1" }]]));
  assert.deepEqual(changes, { subscribe: [], close: [] });
});

test("a screen that started is subscribed to; one that stopped is closed by its mid", () => {
  assert.deepEqual(subscriptionChanges(wanted([["a", ["mic", "camera", "screen"]]]), held([["a", { mic: "0", camera: "1" }]])), {
    subscribe: [{ id: "a", kind: "screen" }],
    close: [],
  });
  assert.deepEqual(subscriptionChanges(wanted([["a", ["mic", "camera"]]]), held([["a", { mic: "0", camera: "1", screen: "4" }]])), {
    subscribe: [],
    close: [{ id: "a", kind: "screen", mid: "4" }],
  });
});

test("a member who left (wanted no more) has every track closed", () => {
  const changes = subscriptionChanges(wanted([["b", ["mic"]]]), held([["a", { mic: "0", camera: "1" }], ["b", { mic: "2" }]]));
  assert.deepEqual(changes, {
    subscribe: [],
    close: [
      { id: "a", kind: "mic", mid: "0" },
      { id: "a", kind: "camera", mid: "1" },
    ],
  });
});

test("subscriptions go in calls of at most the SFU's limit of tracks", () => {
  const tracks = Array.from({ length: 2 * TRACKS_PER_CALL + 1 }, (_, i) => ({ id: `m${i}`, kind: "mic" }));
  const runs = batches(tracks, TRACKS_PER_CALL);
  assert.deepEqual(
    runs.map((run) => run.length),
    [TRACKS_PER_CALL, TRACKS_PER_CALL, 1],
  );
  assert.deepEqual(runs.flat(), tracks);
  assert.deepEqual(batches([], TRACKS_PER_CALL), []);
});

test("a large tile gets a camera's high layer, a small one or none the low layer", () => {
  assert.equal(cameraLayer({ width: 640, height: 360 }), "high");
  assert.equal(cameraLayer({ width: 400, height: 225 }), "high");
  assert.equal(cameraLayer({ width: 320, height: 180 }), "low");
  assert.equal(cameraLayer({ width: 160, height: 90 }), "low");
  assert.equal(cameraLayer(null), "low");
  assert.equal(cameraLayer(undefined), "low");
  // A tile taller than 16:9 shows its picture cropped at the sides: it needs a wider one.
  assert.equal(cameraLayer({ width: 300, height: 300 }), "high");
});

test("between the bounds a camera keeps its layer, so a size near one does not flip it", () => {
  const between = { width: 360, height: 202 };
  assert.equal(cameraLayer(between, "low"), "low");
  assert.equal(cameraLayer(between, "high"), "high");
  // First seen there: the picture that fills the tile.
  assert.equal(cameraLayer(between), "high");
  assert.equal(cameraLayer({ width: 399, height: 224 }, "low"), "low");
  assert.equal(cameraLayer({ width: 321, height: 180 }, "high"), "high");
});

test("only the cameras whose layer should change are asked for anew", () => {
  const sizes = new Map([
    ["big", { width: 800, height: 450 }],
    ["small", { width: 200, height: 112 }],
    ["middling", { width: 360, height: 202 }],
  ]);
  const layers = new Map([
    ["big", "low"],
    ["small", "low"],
    ["middling", "low"],
    ["unseen", "high"],
  ]);
  assert.deepEqual(layerChanges(["big", "small", "middling", "unseen"], sizes, layers), [
    { id: "big", kind: "camera", layer: "high" },
    { id: "unseen", kind: "camera", layer: "low" },
  ]);
  assert.deepEqual(layerChanges([], sizes, layers), []);
});

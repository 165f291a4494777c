// What the web client's SFU link decides without a browser (site/js/sfu.js): which tracks to
// subscribe to and which to close so that what it receives matches what the others publish,
// and how many tracks go in one call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TRACKS_PER_CALL, batches, subscriptionChanges } from "../../site/js/sfu.js";

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

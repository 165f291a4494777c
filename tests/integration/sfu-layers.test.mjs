// Simulcast layers on the SFU (docs/protocol.md, "Simulcast"), through the real worker in
// Miniflare with the stand-in SFU as the Realtime API and werift endpoints: a subscription
// names the layer it wants of a camera, and a `layer` call changes it, which the room turns
// into a read of the caller's own session and a tracks/update of the mid receiving that
// camera. Nobody can change what another member receives, nor name a camera they do not get.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { startSfu } from "../support/sfu/index.mjs";
import { SfuMember, realtimeVars } from "../support/sfu-member.mjs";
import { until } from "../support/wait.mjs";

let sfu, worker;
before(async () => {
  sfu = await startSfu();
  // A room of two is on the SFU already.
  worker = await startWorker({ vars: realtimeVars(sfu, { MESH_MAX: "1" }) });
});
after(() => Promise.all([worker?.stop(), sfu?.stop()]));

/** Joins `room` as `nick`; the member leaves when test `t` ends. */
async function join(t, room, nick) {
  const member = new SfuMember(await worker.join(room, nick));
  t.after(() => member.close());
  return member;
}

/** Makes `member` a session; resolves with its id at the stand-in (sessions are made one at a time). */
async function startSession(member) {
  await member.session();
  return (await sfu.sessions()).at(-1).sessionId;
}

/** Session `session`'s receiving track on `mid`, as the stand-in has it. */
async function receiving(session, mid) {
  const { tracks } = (await sfu.sessions()).find((s) => s.sessionId === session);
  return tracks.find((t) => t.location === "remote" && t.mid === mid);
}

/** The API calls the stand-in got from the `count`-th on. */
async function callsSince(count) {
  return (await sfu.calls()).slice(count).map(({ method, path, status }) => `${method} ${path.replace(/^\/v1\/apps\/[^/]+/, "")} ${status}`);
}

const SIMULCAST = { priorityOrdering: "asciibetical", ridNotAvailable: "asciibetical" };

test("a layer is asked for on subscribe and changed with `layer`: tracks/update of the caller's own mid", async (t) => {
  const room = uniqueRoom("layers");
  const cy = await join(t, room, "Cy");
  const ann = await join(t, room, "Ann");
  assert.equal(ann.welcome.media, "sfu");
  const bob = await join(t, room, "Bob");
  const cySession = await startSession(cy);
  await cy.publish(["camera", "mic"]);
  await until(async () => (await sfu.sessions())[0].tracks.every((t) => t.packetsReceived > 0), { what: "Cy's media at the SFU" });
  const annSession = await startSession(ann);
  const bobSession = await startSession(bob);

  // Ann and Bob receive Cy's camera in its high layer.
  const camera = (layer) => ({ id: cy.id, kind: "camera", layer });
  const annGot = await ann.subscribe([camera("high"), { id: cy.id, kind: "mic" }]);
  const bobGot = await bob.subscribe([camera("high")]);
  const [annMid, bobMid] = [annGot.tracks[0].mid, bobGot.tracks[0].mid];
  assert.deepEqual((await receiving(annSession, annMid)).simulcast, { preferredRid: "h", ...SIMULCAST });
  assert.equal((await receiving(annSession, annMid)).sessionId, cySession);
  assert.equal((await receiving(annSession, annGot.tracks[1].mid)).simulcast, undefined);

  // Ann wants it small: her session is read, and her mid receiving Cy's camera updated.
  const before = (await sfu.calls()).length;
  const changed = await ann.call("layer", { tracks: [camera("low")] });
  assert.deepEqual(changed, {
    type: "sfu",
    req: ann.req,
    renegotiate: false,
    tracks: [{ mid: annMid, id: cy.id, kind: "camera" }],
  });
  assert.deepEqual(await callsSince(before), [`GET /sessions/${annSession} 200`, `PUT /sessions/${annSession}/tracks/update 200`]);
  const annCamera = await receiving(annSession, annMid);
  assert.deepEqual(
    { sessionId: annCamera.sessionId, trackName: annCamera.trackName, simulcast: annCamera.simulcast, status: annCamera.status },
    { sessionId: cySession, trackName: "camera", simulcast: { preferredRid: "l", ...SIMULCAST }, status: "active" },
  );
  // Bob's copy is his own: unchanged.
  assert.equal((await receiving(bobSession, bobMid)).simulcast.preferredRid, "h");
  // Cy's camera has one layer here (a werift endpoint): it keeps coming, whatever the layer asked.
  const received = () => ann.endpoint.received.get(annMid);
  const sofar = received();
  await until(async () => received() > sofar + 10, { what: "Cy's camera still arriving at Ann" });

  // Bob changes his, and only his.
  const bobChanged = await bob.call("layer", { tracks: [camera("low")] });
  assert.deepEqual(bobChanged.tracks, [{ mid: bobMid, id: cy.id, kind: "camera" }]);
  assert.equal((await receiving(bobSession, bobMid)).simulcast.preferredRid, "l");
  await ann.call("layer", { tracks: [camera("high")] });
  assert.equal((await receiving(annSession, annMid)).simulcast.preferredRid, "h");
  assert.equal((await receiving(bobSession, bobMid)).simulcast.preferredRid, "l");
});

test("a layer of a camera one does not receive, of someone who publishes none, or of nobody here is refused", async (t) => {
  const room = uniqueRoom("layer-refusals");
  const cy = await join(t, room, "Cy");
  const dee = await join(t, room, "Dee");
  // Zed is in a room of two (on the SFU too).
  const elsewhere = uniqueRoom("elsewhere");
  const stranger = await join(t, elsewhere, "Zed");
  await join(t, elsewhere, "Yul");
  await startSession(cy);
  await cy.publish(["camera"]);
  const deeSession = await startSession(dee);
  await startSession(stranger);
  const refusal = async (member, tracks) => (await member.call("layer", { tracks })).error.code;

  // Dee receives nothing: her own session is read, nothing is updated.
  const before = (await sfu.calls()).length;
  assert.equal(await refusal(dee, [{ id: cy.id, kind: "camera", layer: "low" }]), "no_track");
  assert.deepEqual(await callsSince(before), [`GET /sessions/${deeSession} 200`]);
  // Refused by the room itself, with no API call: Dee publishes no camera, Dee is herself, Cy is
  // nobody in Zed's room.
  const again = (await sfu.calls()).length;
  assert.equal(await refusal(cy, [{ id: dee.id, kind: "camera", layer: "low" }]), "no_track");
  assert.equal(await refusal(dee, [{ id: dee.id, kind: "camera", layer: "low" }]), "unknown_peer");
  assert.equal(await refusal(stranger, [{ id: cy.id, kind: "camera", layer: "low" }]), "unknown_peer");
  assert.deepEqual(await callsSince(again), []);
  // Only cameras have layers, and only two: not understood at all.
  for (const tracks of [[{ id: cy.id, kind: "mic", layer: "low" }], [{ id: cy.id, kind: "camera", layer: "medium" }]]) {
    dee.client.send({ type: "sfu", req: 99, call: "layer", tracks });
    assert.equal((await dee.take("error")).code, "bad_message");
  }
});

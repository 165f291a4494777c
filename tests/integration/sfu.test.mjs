// Rooms that grow (docs/protocol.md, "Rooms that grow: mesh and SFU"), through the real worker
// in Miniflare with the stand-in SFU (tests/support/sfu/) as the Realtime API, and werift
// endpoints making real offers and sending synthetic media: the move to the SFU decided once
// with joins at the same moment, rooms without an SFU as before, the record of tracks through
// hibernation, departures and resumes, what a member may do (only with its own session, only
// with people of its own room), budgets, malformed frames, and an SFU that fails or forgets.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";
import { startSfu } from "../support/sfu/index.mjs";
import { createSfu, serve } from "../support/sfu/server.mjs";
import { SfuMember, realtimeVars } from "../support/sfu-member.mjs";
import { freePort } from "../support/net.mjs";
import { until } from "../support/wait.mjs";

let sfu;
let worker;
const everyone = [];

before(async () => {
  sfu = await startSfu();
  // The budget refills at 1 call a second, not 10: its test sends 45 calls at once and
  // counts the refusals, which must not depend on how fast a busy machine reads them.
  worker = await startWorker({ vars: realtimeVars(sfu, { SFU_RATE_PER_SEC: "1" }) });
});

after(async () => {
  await Promise.all(everyone.map((member) => member.close()));
  await worker?.stop();
  await sfu?.stop();
});

/** Joins `room` as `nick` on `on` (the worker with the stand-in, by default). */
async function join(room, nick, { on = worker, extra } = {}) {
  const member = new SfuMember(await on.join(room, nick, extra));
  everyone.push(member);
  return member;
}

/** A room that moved to the SFU when its fifth person came: five people, in order. */
async function sfuRoom(label, on = worker) {
  const room = uniqueRoom(label);
  const people = [];
  for (let i = 0; i < 5; i++) people.push(await join(room, `${label} ${i}`, { on }));
  for (const person of people.slice(0, 4)) assert.deepEqual(await person.take("media"), { type: "media", mode: "sfu" });
  assert.equal(people[4].welcome.media, "sfu");
  return { room, people };
}

/** Frames about `member`. */
const from = (member) => (frame) => frame.id === member.id;

/** Frames on `client` up to the chat with `text` (sent after the frames under test). */
async function framesUntil(client, text) {
  const frames = [];
  for (;;) {
    const frame = await client.next();
    if (frame.type === "chat" && frame.text === text) return frames;
    frames.push(frame);
  }
}

/**
 * Makes `member` a session; resolves with its id as the stand-in knows it (the newest session:
 * this file's tests run one at a time). The member itself never learns it.
 */
async function startSession(member) {
  await member.session();
  return (await sfu.sessions()).at(-1).sessionId;
}

/** The tracks of session `id` at the stand-in: `{location, mid, trackName, status, …}`. */
async function tracksOf(id) {
  return (await sfu.sessions()).find((s) => s.sessionId === id).tracks;
}

/** Waits until what session `id` publishes has reached the SFU. */
async function mediaArrives(id) {
  let last;
  try {
    await until(async () => (last = await tracksOf(id)).filter((t) => t.location === "local").every((t) => t.packetsReceived > 0));
  } catch {
    assert.fail(`no media of session ${id} at the SFU: ${JSON.stringify(last)}; ${JSON.stringify(await sfu.sessions())}`);
  }
}

/** The tracks of session `id` that are still active at the stand-in, published or received. */
async function activeTracks(id) {
  return (await tracksOf(id)).filter((t) => t.status === "active");
}

/** Waits until nothing is active on session `id`: what it published and what it subscribed to. */
async function sessionEmptied(id, tracks = tracksOf) {
  let last;
  try {
    await until(async () => (last = await tracks(id)).every((t) => t.status === "inactive"));
  } catch {
    assert.fail(`session ${id} still has active tracks: ${JSON.stringify(last)}`);
  }
}

function tracksClosed(id) {
  return until(async () => (await tracksOf(id)).filter((t) => t.location === "local").every((t) => t.status === "inactive"), {
    what: `tracks of session ${id} closed`,
  });
}

test("five sockets joining at once: the room moves to the SFU exactly once, and its cap is MAX_PEERS_SFU", async () => {
  const room = uniqueRoom("switch");
  const url = `${worker.wsUrl}/ws/rooms/${encodeURIComponent(room)}`;
  const clients = await Promise.all([0, 1, 2, 3, 4].map(() => Client.connect(url)));
  clients.forEach((client, i) => client.send({ type: "join", nick: `joiner ${i}` }));
  const welcomes = await Promise.all(clients.map((client) => client.next("welcome")));
  assert.deepEqual(
    welcomes.map((w) => `${w.count} ${w.media}`).sort(),
    ["1 mesh", "2 mesh", "3 mesh", "4 mesh", "5 sfu"],
  );
  for (const welcome of welcomes) assert.equal(welcome.limits.maxPeers, 32);
  const fifth = welcomes.findIndex((w) => w.media === "sfu");
  clients[fifth].send({ type: "chat", text: "after the fifth" });
  for (const [i, client] of clients.entries()) {
    const frames = await framesUntil(client, "after the fifth");
    const media = frames.filter((f) => f.type === "media");
    if (i === fifth) {
      assert.deepEqual(media, []);
      continue;
    }
    // One move, told before the fifth joiner's arrival, so nobody calls them peer to peer.
    assert.deepEqual(media, [{ type: "media", mode: "sfu" }]);
    const arrived = frames.findIndex((f) => f.type === "peer_joined" && f.peer.id === welcomes[fifth].you.id);
    assert.ok(frames.indexOf(media[0]) < arrived, JSON.stringify(frames));
  }
  // A sixth finds the room on the SFU, and nobody is told again.
  const sixth = await worker.join(room, "joiner 5");
  assert.equal(sixth.welcome.media, "sfu");
  sixth.client.send({ type: "chat", text: "after the sixth" });
  for (const client of clients) {
    const frames = await framesUntil(client, "after the sixth");
    assert.deepEqual(frames.map((f) => f.type), ["peer_joined"]);
  }
  await Promise.all([...clients, sixth.client].map((c) => c.close()));
});

test("without an SFU configured a room is a mesh as before: no move, no tracks, sfu calls refused", async () => {
  const mesh = await startWorker();
  try {
    const room = uniqueRoom("mesh");
    const people = [];
    for (let i = 0; i < 6; i++) people.push(await join(room, `mesh ${i}`, { on: mesh }));
    for (const person of people) {
      assert.equal(person.welcome.media, "mesh");
      assert.equal(person.welcome.limits.maxPeers, 8);
      for (const peer of person.welcome.peers) assert.deepEqual(peer.tracks, []);
    }
    const answer = await people[5].call("session");
    assert.deepEqual(Object.keys(answer).sort(), ["error", "req", "type"]);
    assert.equal(answer.error.code, "not_sfu");
    people[5].client.send({ type: "chat", text: "barrier" });
    for (const person of people) {
      const frames = await framesUntil(person.client, "barrier");
      assert.ok(frames.every((f) => f.type === "peer_joined"), JSON.stringify(frames));
    }
  } finally {
    await mesh.stop();
  }
});

test("the record of tracks: a publish tells the room, survives hibernation, and subscribers get the media", async () => {
  const { room, people } = await sfuRoom("tracks");
  const [ann, bob, ...rest] = people;
  const annSession = await startSession(ann);
  const published = await ann.publish(["mic", "camera"]);
  assert.equal(published.renegotiate, false);
  assert.deepEqual(
    published.tracks.map((t) => Object.keys(t).sort().join()),
    ["kind,mid", "kind,mid"],
  );
  assert.deepEqual(published.tracks.map((t) => t.kind), ["mic", "camera"]);
  for (const other of [bob, ...rest]) {
    assert.deepEqual(await other.take("tracks"), { type: "tracks", id: ann.id, tracks: ["mic", "camera"] });
  }
  await mediaArrives(annSession);

  await worker.evictRoom(room);
  await startSession(bob);
  const subscribed = await bob.subscribe([{ id: ann.id, kind: "camera" }]);
  assert.equal(subscribed.renegotiate, true);
  const [camera] = subscribed.tracks;
  assert.deepEqual(Object.keys(camera).sort(), ["id", "kind", "mid"]);
  assert.deepEqual([camera.id, camera.kind], [ann.id, "camera"]);
  await until(() => bob.endpoint.received.get(camera.mid) > 0, { what: "ann's camera at bob's" });

  // A joiner after another eviction sees in its welcome what ann publishes.
  await worker.evictRoom(room);
  const late = await join(room, "late");
  assert.equal(late.welcome.media, "sfu");
  assert.deepEqual(late.welcome.peers.find((p) => p.id === ann.id).tracks, ["mic", "camera"]);
  assert.deepEqual(late.welcome.peers.find((p) => p.id === bob.id).tracks, []);
});

test("frames handled while a call is under way are kept: the answer changes only the record of tracks", async () => {
  const { room, people } = await sfuRoom("meanwhile");
  const [ann, bob] = people;
  await ann.session();
  const { sdp, mids } = await ann.endpoint.publish(["video"]);
  // The state frame arrives while the room waits for the SFU's answer to the publish.
  ann.client.send({ type: "sfu", req: 100, call: "publish", offer: sdp, tracks: [{ mid: mids[0], kind: "camera" }] });
  ann.client.send({ type: "state", muted: true });
  ann.client.send({ type: "nick", nick: "ann renamed" });
  const answer = await ann.answer(100);
  await ann.endpoint.accept(answer.answer);
  assert.deepEqual((await bob.take("state", from(ann))).muted, true);
  assert.deepEqual((await bob.take("tracks", from(ann))).tracks, ["camera"]);
  await worker.evictRoom(room);
  const late = await join(room, "late");
  const seen = late.welcome.peers.find((p) => p.id === ann.id);
  assert.deepEqual([seen.nick, seen.muted, seen.tracks], ["ann renamed", true, ["camera"]]);
});

test("a member's calls go one at a time in the order sent: a publish and a subscribe sent together", async () => {
  const { people } = await sfuRoom("inline");
  const [ann, bob] = people;
  const annSession = await startSession(ann);
  await ann.publish(["camera"]);
  await mediaArrives(annSession);
  const bobSession = await startSession(bob);
  const callsBefore = (await sfu.calls()).length;
  // As a joining page does: the subscribe right behind the publish, before its answer.
  const { sdp, mids } = await bob.endpoint.publish(["video"]);
  bob.client.send({ type: "sfu", req: 200, call: "publish", offer: sdp, tracks: [{ mid: mids[0], kind: "camera" }] });
  bob.client.send({ type: "sfu", req: 201, call: "subscribe", tracks: [{ id: ann.id, kind: "camera" }] });
  // As a page does, the publish's answer is applied as it comes, the SFU's offer after it.
  const published = await bob.answer(200);
  await bob.endpoint.accept(published.answer);
  const subscribed = await bob.answer(201);
  assert.deepEqual(bob.aside.filter((f) => f.type === "sfu"), [], "the answers came in order");
  assert.equal(subscribed.renegotiate, true, JSON.stringify(subscribed));
  bob.client.send({ type: "sfu", req: 202, call: "renegotiate", answer: await bob.endpoint.answer(subscribed.offer) });
  assert.equal((await bob.answer(202)).error, undefined);
  // The SFU got the subscribe only once it had answered the publish.
  const [publish, subscribe] = (await sfu.calls()).slice(callsBefore).filter((c) => c.path.includes(bobSession));
  assert.ok(subscribe.at >= publish.at + publish.ms, JSON.stringify({ publish, subscribe }));
});

test("departures and resumes: what a member published is closed on the SFU, and the room is told", async () => {
  const { room, people } = await sfuRoom("leaving");
  const [ann, bob, cy, dee, eve] = people;
  const sessions = {};
  for (const member of [ann, bob, cy]) {
    sessions[member.id] = await startSession(member);
    await member.publish(["camera"]);
    await mediaArrives(sessions[member.id]);
  }
  const stillOpen = async (id) => (await tracksOf(id)).some((t) => t.location === "local" && t.status === "active");

  // Ann leaves: the others hear it as always, and her camera stops on the SFU.
  await ann.client.close();
  for (const other of [bob, cy, dee, eve]) assert.equal((await other.take("peer_left")).id, ann.id);
  await tracksClosed(sessions[ann.id]);
  assert.ok(await stillOpen(sessions[bob.id]));

  // Bob's page reconnects while his old socket is still open: the new page has no session yet,
  // so his old camera is closed and the others hear, after his camera, that he publishes nothing.
  const bobAgain = await join(room, "leaving 1", { extra: { resume: bob.welcome.resume } });
  assert.equal(bobAgain.id, bob.id);
  assert.equal(bobAgain.welcome.resumed, true);
  assert.deepEqual(bobAgain.welcome.you.tracks, []);
  assert.equal((await bob.client.closed).code, 4004);
  for (const other of [cy, dee, eve]) {
    assert.deepEqual((await other.take("tracks", from(bob))).tracks, ["camera"]);
    assert.deepEqual(await other.take("tracks", from(bob)), { type: "tracks", id: bob.id, tracks: [] });
  }
  await tracksClosed(sessions[bob.id]);

  // Cy's connection is lost without a close: the same, once the room notices.
  await cy.client.kill();
  for (const other of [bobAgain, dee, eve]) assert.equal((await other.take("peer_left")).id, cy.id);
  await tracksClosed(sessions[cy.id]);
});

test("a departure closes what the member subscribed to as well: its session has no active track left", async () => {
  const { room, people } = await sfuRoom("emptied");
  const [ann, bob, cy, dee] = people;
  const annSession = await startSession(ann);
  await ann.publish(["camera", "mic"]);
  await mediaArrives(annSession);
  // Bob publishes and receives; Cy and Dee only receive (they publish nothing).
  const bobSession = await startSession(bob);
  await bob.publish(["camera"]);
  await mediaArrives(bobSession);
  const sessions = { [annSession]: ann, [bobSession]: bob };
  for (const member of [cy, dee]) sessions[await startSession(member)] = member;
  const id = (member) => Object.keys(sessions).find((s) => sessions[s] === member);
  for (const member of [bob, cy, dee]) {
    const { tracks } = await member.subscribe([
      { id: ann.id, kind: "camera" },
      { id: ann.id, kind: "mic" },
    ]);
    await until(() => tracks.every((t) => member.endpoint.received.get(t.mid) > 0), { what: `ann's media at ${member.id}` });
  }
  assert.deepEqual((await activeTracks(id(bob))).map((t) => `${t.location} ${t.trackName}`).sort(), ["local camera", "remote camera", "remote mic"]);
  const callsBefore = (await sfu.calls()).length;

  // Bob leaves: what he published and what he received are closed, in one look-up and one close.
  await bob.client.close();
  await sessionEmptied(id(bob));
  const onBob = (await sfu.calls()).slice(callsBefore).filter((c) => c.path.endsWith(`/sessions/${id(bob)}`) || c.path.includes(`/sessions/${id(bob)}/`));
  assert.deepEqual(onBob.map((c) => `${c.method} ${c.path.replace(/^.*\/sessions\/[^/]+/, "")} ${c.status}`), ["GET  200", "PUT /tracks/close 200"]);
  // Nobody else's tracks: ann still publishes, and Cy and Dee still receive her.
  assert.equal((await activeTracks(annSession)).length, 2);
  for (const member of [cy, dee]) assert.equal((await activeTracks(id(member))).length, 2);

  // Cy, who only receives, comes back on a new page while the old one is still open: the old
  // page's session is emptied.
  const cyAgain = await join(room, "emptied 2", { extra: { resume: cy.welcome.resume } });
  assert.equal(cyAgain.id, cy.id);
  await sessionEmptied(id(cy));

  // Dee makes a new session: the one it replaces is emptied.
  await dee.session();
  await sessionEmptied(id(dee));
  assert.equal((await activeTracks(annSession)).length, 2);

  // Ann's connection is lost without a close: once the room notices, her session is emptied.
  await ann.client.kill();
  await sessionEmptied(annSession);
});

test("authorization: only one's own session, only people of one's own room, only what they publish", async () => {
  const { people } = await sfuRoom("mine");
  const { people: strangers } = await sfuRoom("theirs");
  const [ann, bob, cy, dee] = people;
  const [zed] = strangers;
  const annSession = await startSession(ann);
  const published = await ann.publish(["camera"]);
  await mediaArrives(annSession);
  for (const other of [bob, cy, dee]) assert.deepEqual((await other.take("tracks", from(ann))).tracks, ["camera"]);
  await startSession(bob);
  await startSession(zed);

  const refusal = async (member, call, fields) => (await member.call(call, fields)).error.code;
  // An id of another room is nobody here, whatever it is there.
  assert.equal(await refusal(zed, "subscribe", { tracks: [{ id: ann.id, kind: "camera" }] }), "unknown_peer");
  assert.equal(await refusal(bob, "subscribe", { tracks: [{ id: bob.id, kind: "camera" }] }), "unknown_peer");
  assert.equal(await refusal(bob, "subscribe", { tracks: [{ id: ann.id, kind: "mic" }] }), "no_track");
  assert.equal(await refusal(cy, "subscribe", { tracks: [{ id: ann.id, kind: "camera" }] }), "no_session");
  assert.equal(await refusal(ann, "publish", { offer: "v=0", tracks: [{ mid: "9", kind: "camera" }] }), "already_published");

  // Bob names ann's mids: the close acts on bob's own session, where no such track is.
  const mids = published.tracks.map((t) => t.mid);
  const closed = await bob.call("close", { mids });
  assert.deepEqual(closed.tracks.map((t) => t.mid), mids);
  for (const track of closed.tracks) assert.match(track.error, /^close_track_error: /);
  assert.ok((await tracksOf(annSession)).every((t) => t.status === "active"));
  // And nothing was published or unpublished for anyone.
  dee.client.send({ type: "chat", text: "nothing about tracks" });
  assert.deepEqual(
    (await framesUntil(dee.client, "nothing about tracks")).filter((f) => f.type === "tracks"),
    [],
  );

  // Each track's result counts, not only the call's: a mid the offer does not have is refused
  // by the SFU, and only the other track is published.
  const { sdp, mids: offered } = await bob.endpoint.publish(["video"]);
  const mixed = await bob.call("publish", {
    offer: sdp,
    tracks: [
      { mid: offered[0], kind: "camera" },
      { mid: "99", kind: "screen" },
    ],
  });
  assert.deepEqual(mixed.tracks[0], { mid: offered[0], kind: "camera" });
  assert.equal(mixed.tracks[1].kind, "screen");
  assert.match(mixed.tracks[1].error, /^invalid_params: /);
  assert.deepEqual(await cy.take("tracks", from(bob)), { type: "tracks", id: bob.id, tracks: ["camera"] });
});

test("sfu calls have their own budget: 40 at once, then rate_limited", async () => {
  const { people } = await sfuRoom("budget");
  const [ann] = people;
  for (let req = 1; req <= 45; req++) ann.client.send({ type: "sfu", req, call: "session" });
  const answers = [];
  while (answers.length < 45) {
    const frame = await ann.client.next(undefined, 15_000);
    if (frame.type === "sfu" || frame.type === "error") answers.push(frame);
  }
  const refused = answers.filter((f) => f.type === "error");
  assert.deepEqual(
    refused.map((f) => f.code),
    ["rate_limited", "rate_limited", "rate_limited", "rate_limited", "rate_limited"],
  );
  const answered = answers.filter((f) => f.type === "sfu");
  assert.equal(answered.length, 40);
  for (const answer of answered) assert.deepEqual(answer, { type: "sfu", req: answer.req, renegotiate: false, tracks: [] });
});

test("malformed sfu calls are bad_message and the socket stays; an oversize SDP closes it with 1009", async () => {
  const { people } = await sfuRoom("malformed");
  const [ann] = people;
  await startSession(ann);
  for (const bad of [
    { type: "sfu", call: "session" },
    { type: "sfu", req: -1, call: "session" },
    { type: "sfu", req: 2 ** 31, call: "session" },
    { type: "sfu", req: 1, call: "teleport" },
    { type: "sfu", req: 1, call: "publish", offer: "v=0", tracks: [{ mid: "0", kind: "hologram" }] },
    { type: "sfu", req: 1, call: "publish", offer: "v=0", tracks: Array.from({ length: 65 }, (_, i) => ({ mid: `${i}`, kind: "mic" })) },
    { type: "sfu", req: 1, call: "subscribe", tracks: "everyone" },
    { type: "sfu", req: 1, call: "close", mids: [] },
    { type: "sfu", req: 1, call: "renegotiate", answer: "" },
  ]) {
    ann.client.send(bad);
    const error = await ann.client.next("error");
    assert.equal(error.code, "bad_message", JSON.stringify(bad));
  }
  assert.deepEqual(await ann.call("session"), { type: "sfu", req: ann.req, renegotiate: false, tracks: [] });
  const huge = "v=0\r\n" + "a=x-padding:0123456789abcdef\r\n".repeat(3000);
  ann.client.send({ type: "sfu", req: 9, call: "publish", offer: huge, tracks: [{ mid: "0", kind: "mic" }] });
  assert.equal((await ann.client.next("error")).code, "too_large");
  assert.equal((await ann.client.closed).code, 1009);
});

test("an SFU that hangs or cannot be reached: sfu_unavailable within REALTIME_TIMEOUT_MS, never a hang", async () => {
  const port = await freePort();
  const silent = createServer(() => {}); // takes every request and never answers
  await new Promise((resolve) => silent.listen(port, "127.0.0.1", resolve));
  const secret = "a-secret-nobody-sees";
  const down = await startWorker({
    vars: { REALTIME_APP_ID: "app", REALTIME_APP_SECRET: secret, REALTIME_API_URL: `http://127.0.0.1:${port}/v1`, REALTIME_TIMEOUT_MS: "500" },
  });
  try {
    const { people } = await sfuRoom("down", down);
    const [ann] = people;
    let started = Date.now();
    const hung = await ann.call("session");
    assert.equal(hung.error.code, "sfu_unavailable");
    assert.match(hung.error.message, /500 ms/);
    assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    started = Date.now();
    const refused = await ann.call("session");
    assert.equal(refused.error.code, "sfu_unavailable");
    assert.ok(Date.now() - started < 3000);
    for (const frame of ann.seen) assert.ok(!JSON.stringify(frame).includes(secret));
  } finally {
    if (silent.listening) silent.close();
    await down.stop();
  }
});

/**
 * The stand-in in this process, behind a door: `hold()` makes it keep every request unanswered
 * until `release()` hands them on, as a slow or hung SFU would.
 */
async function heldSfu(app) {
  const sfu = createSfu(app);
  let held = null;
  const server = createServer((request, response) => (held ? held.push([request, response]) : void sfu.handle(request, response)));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    ...app,
    sessions: async () => sfu.state().sessions,
    held: () => held?.length ?? 0,
    hold: () => (held = []),
    release() {
      for (const [request, response] of held ?? []) void sfu.handle(request, response);
      held = null;
    },
    async close() {
      await sfu.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test("an operator's kick and a host's removal are answered while the SFU hangs; the session is emptied once it answers", async (t) => {
  const slow = await heldSfu({ appId: "held-app", secret: "held-secret" });
  const token = "sfu-admin-token-0123456789abcdef";
  // The default REALTIME_TIMEOUT_MS (10 s): a departure that waited on the SFU would take that long.
  const held = await startWorker({ vars: realtimeVars(slow, { ADMIN_TOKEN: token }) });
  try {
    const { room, people } = await sfuRoom("held", held);
    const [ann, bob, cy, dee, eve] = people;
    assert.equal(ann.welcome.you.host, true);
    const sessions = {};
    for (const member of [bob, cy]) {
      await member.session();
      sessions[member.id] = (await slow.sessions()).at(-1).sessionId;
      await member.publish(["camera"]);
    }
    const active = async (member) => (await slow.sessions()).find((s) => s.sessionId === sessions[member.id]).tracks.filter((t) => t.status === "active");
    await until(async () => (await active(bob)).length === 1 && (await active(cy)).length === 1);

    slow.hold();
    let started = Date.now();
    const kicked = await fetch(`${held.url}/api/admin/rooms/${encodeURIComponent(room)}/kick`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, Connection: "close" },
      body: JSON.stringify({ id: bob.id }),
    });
    const kickMs = Date.now() - started;
    assert.equal(kicked.status, 200);
    assert.equal((await bob.client.closed).code, 4003);
    for (const other of [ann, cy, dee, eve]) assert.equal((await other.take("peer_left")).id, bob.id);

    // A host's removal: the others hear it at once, and the host's next frame is answered.
    started = Date.now();
    ann.client.send({ type: "remove", id: cy.id });
    assert.equal((await cy.client.closed).code, 4003);
    for (const other of [ann, dee, eve]) assert.equal((await other.take("peer_left")).id, cy.id);
    ann.client.send({ type: "chat", text: "after the removal" });
    await ann.take("chat", (f) => f.text === "after the removal");
    const removeMs = Date.now() - started;
    t.diagnostic(`with the SFU holding every call: the kick answered in ${kickMs} ms, the removal and a chat after it in ${removeMs} ms`);
    assert.ok(kickMs < 3000, `the kick was answered after ${kickMs} ms`);
    assert.ok(removeMs < 3000, `the removal took ${removeMs} ms`);
    // Their sessions' look-ups wait at the SFU's door meanwhile.
    await until(() => slow.held() >= 2, { what: "the look-ups of both sessions, held" });
    assert.equal((await active(bob)).length, 1);

    // The SFU answers (within REALTIME_TIMEOUT_MS): both sessions are emptied.
    slow.release();
    for (const member of [bob, cy]) {
      await until(async () => (await active(member)).length === 0, { ms: 8000, what: `${member.id}'s session emptied` });
    }
  } finally {
    slow.release();
    await held.stop();
    await slow.close();
  }
});

test("a session the SFU forgot: session_gone, the room forgets it too, and a new one works", async () => {
  const port = await freePort();
  const app = { appId: "forgetful-app", secret: "forgetful-secret" };
  let standin = await serve({ port, ...app });
  const forgetful = await startWorker({ vars: realtimeVars({ ...app, url: standin.url }) });
  try {
    const { people } = await sfuRoom("forgot", forgetful);
    const [ann, bob] = people;
    await ann.session();
    await ann.publish(["camera"]);
    assert.deepEqual(await bob.take("tracks"), { type: "tracks", id: ann.id, tracks: ["camera"] });
    // The SFU restarts and knows no session.
    await standin.close();
    standin = await serve({ port, ...app });
    const { sdp, mids } = await ann.endpoint.publish(["audio"]);
    const gone = await ann.call("publish", { offer: sdp, tracks: [{ mid: mids[0], kind: "mic" }] });
    assert.equal(gone.error.code, "session_gone");
    assert.deepEqual(await bob.take("tracks"), { type: "tracks", id: ann.id, tracks: [] });
    assert.equal((await ann.call("renegotiate", { answer: "v=0" })).error.code, "no_session");
    await ann.session();
    await ann.publish(["mic"]);
    assert.deepEqual(await bob.take("tracks"), { type: "tracks", id: ann.id, tracks: ["mic"] });
  } finally {
    await forgetful.stop();
    await standin.close();
  }
});

test("no frame to anyone carried the app secret or a session id", async () => {
  const sessions = (await sfu.sessions()).map((s) => s.sessionId);
  assert.ok(sessions.length > 10, "the tests above made sessions");
  const seen = everyone.flatMap((member) => member.seen.map((frame) => JSON.stringify(frame)));
  for (const text of seen) {
    assert.ok(!text.includes(sfu.secret), text);
    for (const id of sessions) assert.ok(!text.includes(id), `${id} in ${text}`);
  }
});

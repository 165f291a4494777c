// Locked rooms and knocks (docs/protocol.md, "Hosts": Lock and knock): who hears of a knock,
// admitting, denying, giving up, timing out, the limits on knocking, the lock across an
// eviction and in the lobby, against the real built worker over real websockets.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client, chatBarrier } from "../support/client.mjs";
import { sleep, until } from "../support/wait.mjs";
import {
  closeAll, expectError, framesBefore, knock, knockerGotNothing, people, sameFrames, sendJoin,
} from "../support/hosts.mjs";

// Budgets big enough that no test of this worker runs into them.
const ADMIN_TOKEN = "knock-test-token";
let worker;
// Small knock limits, a short join timeout (which a knock outlasts), and a room of 4. Knocks
// there time out only after far longer than any test takes, even on a loaded machine: a knock
// that timed out would free a place at the door and spoil the test of the limits.
const JOIN_TIMEOUT_MS = 700;
const RESUME_WINDOW_MS = 300;
const PATIENT_KNOCK_MS = 120_000;
let tight;
// The knock timeout on its own worker, short.
const KNOCK_TIMEOUT_MS = 3000;
let impatient;
before(async () => {
  [worker, tight, impatient] = await Promise.all([
    startWorker({
      vars: {
        ADMIN_TOKEN,
        LIST_AFTER_SECONDS: "0",
        CHAT_RATE_BURST: "1000",
        REFUSAL_RATE_BURST: "1000",
        KNOCK_RATE_BURST: "1000",
        KNOCK_RATE_PER_MIN: "1000",
      },
    }),
    startWorker({
      vars: {
        MAX_KNOCKING: "2",
        KNOCK_RATE_BURST: "3",
        KNOCK_RATE_PER_MIN: "1",
        KNOCK_TIMEOUT_MS: String(PATIENT_KNOCK_MS),
        JOIN_TIMEOUT_MS: String(JOIN_TIMEOUT_MS),
        MAX_PEERS: "4",
        RESUME_WINDOW_MS: String(RESUME_WINDOW_MS),
        SWEEP_INTERVAL_MS: "100",
      },
    }),
    startWorker({
      vars: {
        KNOCK_TIMEOUT_MS: String(KNOCK_TIMEOUT_MS),
        JOIN_TIMEOUT_MS: String(JOIN_TIMEOUT_MS),
        SWEEP_INTERVAL_MS: "100",
      },
    }),
  ]);
});
after(() => Promise.all([worker.stop(), tight.stop(), impatient.stop()]));

const roomFrame = (locked, by) => ({ type: "room", locked, by });
const ended = (id, outcome) => ({ type: "knock_ended", id, outcome });
const joinedFrame = (welcome, count) => ({ type: "peer_joined", peer: welcome.you, count });

/** `people` in `room`, the first of them host, who locks it (everyone reads the `room` frame). */
async function lockedRoom(w, room, nicks, extra) {
  const all = await people(w, room, nicks, extra);
  all[0].client.send({ type: "lock", locked: true });
  for (const who of all) assert.deepEqual(await who.client.next(), roomFrame(true, all[0].id));
  return all;
}

/** ann, bob and cy in `room`, ann and bob hosts, the room locked by ann (every frame of that read). */
async function lockedWithTwoHosts(room) {
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "host", id: b.id, host: true });
  for (const who of [a, b, c]) await who.client.next("host");
  a.client.send({ type: "lock", locked: true });
  for (const who of [a, b, c]) await who.client.next("room");
  return [a, b, c];
}

/** Knocks as `nick`, and reads the `knock` every host in `hosts` gets; resolves with its id. */
async function knockAt(w, room, nick, hosts, extra) {
  const client = await knock(w, room, nick, extra);
  let id;
  for (const host of hosts) {
    const frame = await host.client.next("knock");
    assert.match(frame.id, /^[0-9a-f]{16}$/);
    assert.deepEqual(frame, { type: "knock", id: frame.id, nick });
    id ??= frame.id;
    assert.equal(frame.id, id, "every host hears of the same knocker");
  }
  return { client, id, nick };
}

test("lock: a host locks and unlocks the room, and everyone hears it (room, by)", async () => {
  const room = uniqueRoom("lock");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "lock", locked: true });
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), roomFrame(true, a.id));
  a.client.send({ type: "lock", locked: false });
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), roomFrame(false, a.id));
  await chatBarrier(a.client, [a.client, b.client, c.client]);
  const d = await worker.join(room, "dee");
  assert.equal(d.welcome.locked, false);
  await closeAll(a, b, c, d);
});

test("knock: a join to a locked room knocks; every host gets knock, non-hosts and the knocker nothing more", async () => {
  const room = uniqueRoom("knock");
  const [a, b, c] = await lockedWithTwoHosts(room);
  const k = await knockAt(worker, room, "kim", [a, b]);
  assert.ok(![a.id, b.id, c.id].includes(k.id));
  for (const frames of await framesBefore(c.client, [a.client, b.client, c.client])) assert.deepEqual(frames, []);
  await knockerGotNothing(k.client);
  // A knocker is no member: the head count leaves them out.
  const d = await worker.join(room, "dee", { resume: c.welcome.resume });
  assert.equal(d.welcome.count, 3);
  await closeAll(a, b, d, k);
});

test("admit: the knocker gets welcome with the others, they get peer_joined, every host knock_ended admitted", async () => {
  const room = uniqueRoom("admit");
  const [a, b, c] = await lockedWithTwoHosts(room);
  const k = await knockAt(worker, room, "kim", [a, b]);
  b.client.send({ type: "admit", id: k.id });
  const welcome = await k.client.next("welcome");
  // Reading: the knocker keeps the id the hosts knew them by.
  assert.equal(welcome.you.id, k.id);
  assert.deepEqual([welcome.you.nick, welcome.you.host, welcome.count, welcome.resumed], ["kim", false, 4, false]);
  assert.deepEqual(welcome.peers.map((p) => [p.id, p.host]).sort(), [[a.id, true], [b.id, true], [c.id, false]].sort());
  assert.equal(welcome.locked, true);
  assert.deepEqual(welcome.knocking, []);
  assert.match(welcome.resume, /^[0-9a-f]{32}$/);
  const seen = await framesBefore(k.client, [a.client, b.client, c.client, k.client]);
  const joined = joinedFrame(welcome, 4);
  sameFrames(seen[0], [joined, ended(k.id, "admitted")], "host a");
  sameFrames(seen[1], [joined, ended(k.id, "admitted")], "host b");
  sameFrames(seen[2], [joined], "non-host c");
  assert.deepEqual(seen[3], [], "the admitted knocker");
  await closeAll(a, b, c, k);
});

test("deny: the knocker gets denied and 4007, every host knock_ended denied, nobody else hears", async () => {
  const room = uniqueRoom("deny");
  const [a, b, c] = await lockedWithTwoHosts(room);
  const k = await knockAt(worker, room, "kim", [a, b]);
  a.client.send({ type: "deny", id: k.id });
  assert.equal((await expectError(k.client, "denied")).hostNick, "ann");
  assert.equal((await k.client.closed).code, 4007);
  assert.deepEqual(k.client.frames, []);
  const seen = await framesBefore(a.client, [a.client, b.client, c.client]);
  assert.deepEqual(seen, [[ended(k.id, "denied")], [ended(k.id, "denied")], []]);
  // The knock is over: admitting it now names nobody knocking.
  a.client.send({ type: "admit", id: k.id });
  await expectError(a.client, "unknown_peer");
  await closeAll(a, b, c);
});

test("knock: a knocker who leaves or closes the socket gives up (knock_ended left)", async () => {
  const room = uniqueRoom("give-up");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const k1 = await knockAt(worker, room, "kim", [a]);
  k1.client.send({ type: "leave" });
  assert.equal((await k1.client.closed).code, 1000);
  assert.deepEqual(await a.client.next(), ended(k1.id, "left"));
  const k2 = await knockAt(worker, room, "kay", [a]);
  await k2.client.close();
  assert.deepEqual(await a.client.next(), ended(k2.id, "left"));
  const k3 = await knockAt(worker, room, "kit", [a]);
  await k3.client.kill();
  assert.deepEqual(await a.client.next(), ended(k3.id, "left"));
  for (const frames of await framesBefore(a.client, [a.client, b.client])) assert.deepEqual(frames, []);
  await closeAll(a, b);
});

test("knock: a knocking socket may send only leave; anything else is not_joined, and it still waits", async () => {
  const room = uniqueRoom("knocker-talks");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const k = await knockAt(worker, room, "kim", [a]);
  const frames = [
    { type: "chat", text: "hello?" },
    { type: "state", muted: true },
    { type: "nick", nick: "kimberly" },
    { type: "hand", raised: true },
    { type: "react", emoji: "👍" },
    { type: "signal", to: a.id, data: {} },
    { type: "ice" },
    { type: "lock", locked: false },
    { type: "admit", id: k.id },
  ];
  for (const frame of frames) {
    k.client.send(frame);
    await expectError(k.client, "not_joined", JSON.stringify(frame));
  }
  for (const seen of await framesBefore(a.client, [a.client, b.client])) assert.deepEqual(seen, []);
  a.client.send({ type: "admit", id: k.id });
  const welcome = await k.client.next("welcome");
  assert.equal(welcome.you.nick, "kim");
  assert.equal(welcome.you.muted, false, "the state sent while knocking did nothing");
  await closeAll(a, b, k);
});

test("knock: a second join from a knocking socket is already_joined, and it still waits", async () => {
  const room = uniqueRoom("knocker-joins");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const k = await knockAt(worker, room, "kim", [a]);
  k.client.send({ type: "join", nick: "kim" });
  await expectError(k.client, "already_joined", "join while knocking");
  await knockerGotNothing(k.client);
  for (const seen of await framesBefore(a.client, [a.client, b.client])) assert.deepEqual(seen, []);
  await closeAll(a, b, k);
});

test("unlock: an admitted knocker hears nothing before its welcome (no room frame while not a member)", async () => {
  const room = uniqueRoom("unlock-first");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const k = await knockAt(worker, room, "kim", [a]);
  a.client.send({ type: "lock", locked: false });
  const first = await k.client.next();
  assert.equal(first?.type, "welcome", `the knocker's first frame: ${JSON.stringify(first)}`);
  await closeAll(a, b, k);
});

test("knock: the nickname is checked like any (bad_nick; nick_taken against members and knockers)", async () => {
  const room = uniqueRoom("knock-nick");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const cases = [
    ["blank", "   ", "bad_nick"],
    ["too long", "n".repeat(33), "bad_nick"],
    ["a bidi override", "ki\u202Em", "bad_nick"],
    ["a member's, in capitals", "ANN", "nick_taken"],
    ["a member's lookalike", "B0B", "nick_taken"],
  ];
  for (const [label, nick, code] of cases) {
    const client = await sendJoin(worker, room, nick);
    await expectError(client, code, label);
    // The socket stays open and can knock with a good name.
    client.send({ type: "join", nick: "kim" });
    assert.deepEqual(await client.next(), { type: "knocking" }, label);
    assert.deepEqual((await a.client.next("knock")).nick, "kim");
    client.send({ type: "leave" });
    await client.closed;
    assert.equal((await a.client.next("knock_ended")).outcome, "left");
  }
  const k = await knockAt(worker, room, "kim", [a]);
  const twin = await sendJoin(worker, room, "KIM");
  await expectError(twin, "nick_taken", "another knocker's name");
  // Only the good knock reached the host.
  for (const seen of await framesBefore(a.client, [a.client, b.client])) assert.deepEqual(seen, []);
  await closeAll(a, b, k, twin);
});

test("unlock: unlocking lets everyone waiting in, oldest first", async () => {
  const room = uniqueRoom("unlock");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const k1 = await knockAt(worker, room, "kim", [a]);
  const k2 = await knockAt(worker, room, "kay", [a], { webrtc: false });
  a.client.send({ type: "lock", locked: false });
  const w1 = await k1.client.next("welcome");
  const w2 = await k2.client.next("welcome");
  assert.deepEqual([w2.you.webrtc, w2.you.muted], [false, true], "a chat-only knocker comes in chat-only");
  assert.deepEqual([w1.you.id, w1.count, w1.locked], [k1.id, 3, false]);
  assert.deepEqual(w1.peers.map((p) => p.id).sort(), [a.id, b.id].sort());
  assert.deepEqual([w2.you.id, w2.count, w2.locked], [k2.id, 4, false]);
  assert.deepEqual(w2.peers.map((p) => p.id).sort(), [a.id, b.id, k1.id].sort(), "the first one in is among the second's peers");
  const seen = await framesBefore(a.client, [a.client, b.client, k1.client, k2.client]);
  const joins = [joinedFrame(w1, 3), joinedFrame(w2, 4)];
  sameFrames(seen[0], [roomFrame(false, a.id), ...joins, ended(k1.id, "admitted"), ended(k2.id, "admitted")], "host");
  sameFrames(seen[1], [roomFrame(false, a.id), ...joins], "member");
  assert.deepEqual(seen[1].filter((f) => f.type === "peer_joined"), joins, "oldest first");
  assert.deepEqual(seen[2], [joinedFrame(w2, 4)], "the first knocker hears of the second");
  assert.deepEqual(seen[3], []);
  await closeAll(a, b, k1, k2);
});

test("lock: a host arriving later is told in welcome.knocking who is knocking, a host made later by knock; a non-host is not", async () => {
  const room = uniqueRoom("knocking-list");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const k = await knockAt(worker, room, "kim", [a]);
  const a2 = await worker.join(room, "ann", { resume: a.welcome.resume });
  assert.equal((await a.client.closed).code, 4004);
  assert.deepEqual([a2.id, a2.welcome.you.host, a2.welcome.locked], [a.id, true, true]);
  assert.deepEqual(a2.welcome.knocking, [{ id: k.id, nick: "kim" }]);
  const b2 = await worker.join(room, "bob", { resume: b.welcome.resume });
  assert.deepEqual([b2.id, b2.welcome.you.host, b2.welcome.locked], [b.id, false, true]);
  assert.deepEqual(b2.welcome.knocking, []);
  // Made host while someone knocks: told of the knock at once (reading: a host must be able
  // to let in whoever waits).
  a2.client.send({ type: "host", id: b.id, host: true });
  const seen = await framesBefore(a2.client, [a2.client, b2.client]);
  assert.deepEqual(seen[0], [{ type: "host", id: b.id, host: true, by: a.id }]);
  sameFrames(seen[1], [{ type: "host", id: b.id, host: true, by: a.id }, { type: "knock", id: k.id, nick: "kim" }]);
  await knockerGotNothing(k.client);
  await closeAll(a2, b2, k);
});

test("lock: a member's resume token still gets in after a lost connection, without knocking", async () => {
  const room = uniqueRoom("resume-locked");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  await b.client.kill();
  await a.client.next("peer_left");
  const back = await worker.join(room, "bob", { resume: b.welcome.resume });
  assert.deepEqual([back.id, back.welcome.resumed, back.welcome.locked], [b.id, true, true]);
  const seen = await framesBefore(back.client, [a.client, back.client]);
  assert.deepEqual(seen, [[joinedFrame(back.welcome, 2)], []]);
  await closeAll(a, back);
});

test("lock: the lock, who is host and who is knocking survive the room's eviction", async () => {
  const room = uniqueRoom("lock-evict");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  const early = await knockAt(worker, room, "kim", [a]);
  await worker.evictRoom(room);
  const late = await knockAt(worker, room, "kay", [a]);
  await chatBarrier(b.client, [a.client, b.client]);
  b.client.send({ type: "admit", id: late.id });
  await expectError(b.client, "forbidden");
  // Both knocks are still known: the one from before the eviction too.
  for (const k of [early, late]) {
    a.client.send({ type: "admit", id: k.id });
    const welcome = await k.client.next("welcome");
    assert.deepEqual([welcome.you.id, welcome.locked], [k.id, true]);
    assert.deepEqual(await a.client.next("peer_joined"), joinedFrame(welcome, welcome.count));
    assert.deepEqual(await a.client.next(), ended(k.id, "admitted"));
  }
  await closeAll(a, b, early, late);
});

test("lobby: a locked room is listed with locked: true, everywhere the lobby lists it", async () => {
  const room = uniqueRoom("lobby-lock");
  const lobby = await Client.connect(`${worker.wsUrl}/ws/lobby`);
  let frame = await lobby.next("rooms");
  const entry = () => frame.rooms.find((r) => r.name === room);
  const [a] = await people(worker, room, ["ann"]);
  while (!entry()) frame = await lobby.next("rooms");
  assert.deepEqual(entry(), { name: room, count: 1, locked: false });
  a.client.send({ type: "lock", locked: true });
  await a.client.next("room");
  while (!entry()?.locked) frame = await lobby.next("rooms");
  assert.deepEqual(entry(), { name: room, count: 1, locked: true });
  const listed = await until(async () => {
    const { rooms } = await (await fetch(`${worker.url}/api/rooms`)).json();
    return rooms.find((r) => r.name === room && r.locked);
  }, { ms: 5000, what: "/api/rooms to show the lock" });
  assert.deepEqual(listed, { name: room, count: 1, locked: true });
  const ns = await worker.mf.getDurableObjectNamespace("LOBBY");
  const all = await (await ns.get(ns.idFromName("lobby")).fetch("https://lobby/all")).json();
  assert.deepEqual(all.rooms.find((r) => r.name === room), { name: room, count: 1, private: false, locked: true });
  a.client.send({ type: "lock", locked: false });
  await a.client.next("room");
  while (entry()?.locked !== false) frame = await lobby.next("rooms");
  assert.deepEqual(entry(), { name: room, count: 1, locked: false });
  await closeAll(a, lobby);
});

test("handover: a member who becomes host while someone knocks is told of the knock", async () => {
  // Reading: whoever becomes host must be able to let in those waiting (as welcome.knocking
  // tells a host who arrives later).
  const room = uniqueRoom("handover-knock");
  const [a, b, c] = await lockedRoom(worker, room, ["ann", "bob", "cy"]);
  const k = await knockAt(worker, room, "kim", [a]);
  a.client.send({ type: "leave" });
  await a.client.closed;
  const left = { type: "peer_left", id: a.id, nick: "ann", count: 2 };
  const host = { type: "host", id: b.id, host: true, by: null };
  const seen = await framesBefore(c.client, [b.client, c.client]);
  sameFrames(seen[0], [left, host, { type: "knock", id: k.id, nick: "kim" }], "the new host");
  sameFrames(seen[1], [left, host], "a non-host");
  b.client.send({ type: "admit", id: k.id });
  assert.equal((await k.client.next("welcome")).you.id, k.id);
  await closeAll(b, c, k);
});

test("handover: the last host leaving a locked room with nobody else in it unlocks it and lets the waiting in, the first as host", async () => {
  const room = uniqueRoom("leave-unlock");
  const [a] = await lockedRoom(worker, room, ["ann"]);
  const k1 = await knockAt(worker, room, "kim", [a]);
  const k2 = await knockAt(worker, room, "kay", [a]);
  a.client.send({ type: "leave" });
  assert.equal((await a.client.closed).code, 1000);
  const w1 = await k1.client.next("welcome");
  const w2 = await k2.client.next("welcome");
  assert.deepEqual([w1.you.id, w1.you.host, w1.locked, w1.count], [k1.id, true, false, 1]);
  assert.deepEqual([w2.you.id, w2.you.host, w2.locked, w2.count], [k2.id, false, false, 2]);
  assert.deepEqual(w2.peers.map((p) => [p.id, p.host]), [[k1.id, true]]);
  const seen = await framesBefore(k1.client, [k1.client, k2.client]);
  assert.deepEqual(seen, [[joinedFrame(w2, 2)], []]);
  // Unlocked for good: the next one walks in.
  const c = await worker.join(room, "cy");
  assert.equal(c.welcome.locked, false);
  await closeAll(k1, k2, c);
});

// ---- Limits and timeouts (the tight and impatient workers) ------------------------------------

test("operator: a room's view shows its lock, its hosts and hands, and leaves knockers out", async () => {
  const room = uniqueRoom("admin-view");
  const [a, b] = await lockedRoom(worker, room, ["ann", "bob"]);
  b.client.send({ type: "hand", raised: true });
  const { hand } = await a.client.next("hand");
  await b.client.next("hand");
  const k = await knockAt(worker, room, "kim", [a]);
  const res = await fetch(`${worker.url}/api/admin/rooms/${encodeURIComponent(room)}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  const view = await res.json();
  assert.deepEqual([view.name, view.private, view.locked, view.count], [room, false, true, 2]);
  const peers = Object.fromEntries(view.peers.map((p) => [p.nick, p]));
  assert.deepEqual(Object.keys(peers).sort(), ["ann", "bob"], "no knocker among the participants");
  assert.deepEqual([peers.ann.id, peers.ann.host, peers.ann.hand], [a.id, true, null]);
  assert.deepEqual([peers.bob.id, peers.bob.host, peers.bob.hand], [b.id, false, hand]);
  await closeAll(a, b, k);
});

// These wait for timeouts, or use up a room's limits, each in its own room: they run side by side.
describe("limits and timeouts", { concurrency: true }, () => {
  test("knock: nobody answering within KNOCK_TIMEOUT_MS closes the knock with 4009 (not the join timeout)", async () => {
    const room = uniqueRoom("knock-timeout");
    const [a, b] = await lockedRoom(impatient, room, ["ann", "bob"]);
    const started = Date.now();
    const k = await knockAt(impatient, room, "kim", [a]);
    const { code } = await k.client.closed;
    const waited = Date.now() - started;
    assert.equal(code, 4009);
    assert.ok(waited >= KNOCK_TIMEOUT_MS - 200 && waited < KNOCK_TIMEOUT_MS + 5000, `closed after ${waited} ms`);
    assert.deepEqual(k.client.frames, [], "nothing but the close");
    assert.deepEqual(await a.client.next(), ended(k.id, "left"));
    for (const seen of await framesBefore(a.client, [a.client, b.client])) assert.deepEqual(seen, []);
    await closeAll(a, b);
  });

  test("knock: past MAX_KNOCKING the next knocker gets knock_limit and 4008, and the hosts hear nothing of it", async () => {
    const room = uniqueRoom("knock-max");
    const [a, b] = await lockedRoom(tight, room, ["ann", "bob"]);
    const k1 = await knockAt(tight, room, "kim", [a]);
    const k2 = await knockAt(tight, room, "kay", [a]);
    const k3 = await sendJoin(tight, room, "kit");
    await expectError(k3, "knock_limit");
    assert.equal((await k3.closed).code, 4008);
    for (const seen of await framesBefore(a.client, [a.client, b.client])) assert.deepEqual(seen, []);
    // The two waiting are unaffected.
    a.client.send({ type: "admit", id: k2.id });
    assert.equal((await k2.client.next("welcome")).you.id, k2.id);
    await knockerGotNothing(k1.client, "the first knocker");
    await closeAll(a, b, k1, k2);
  });

  test("knock: past the room's knock budget (KNOCK_RATE_BURST) a knock gets knock_limit and 4008", async () => {
    const room = uniqueRoom("knock-rate");
    const [a, b] = await lockedRoom(tight, room, ["ann", "bob"]);
    for (const nick of ["k1", "k2", "k3"]) {
      const k = await knockAt(tight, room, nick, [a]);
      k.client.send({ type: "leave" });
      await k.client.closed;
      assert.deepEqual(await a.client.next(), ended(k.id, "left"));
    }
    // Nobody is waiting, yet the fourth knock in a row is refused.
    const k4 = await sendJoin(tight, room, "k4");
    await expectError(k4, "knock_limit");
    assert.equal((await k4.closed).code, 4008);
    for (const seen of await framesBefore(a.client, [a.client, b.client])) assert.deepEqual(seen, []);
    await closeAll(a, b);
  });

  test("admit: into a full room is room_full for the host, and the knock keeps waiting", async () => {
    const room = uniqueRoom("admit-full");
    const [a, b, c] = await lockedRoom(tight, room, ["ann", "bob", "cy"]);
    const k1 = await knockAt(tight, room, "kim", [a]);
    const k2 = await knockAt(tight, room, "kay", [a]);
    a.client.send({ type: "admit", id: k1.id });
    const w1 = await k1.client.next("welcome");
    assert.equal(w1.count, 4);
    a.client.send({ type: "admit", id: k2.id });
    const seen = await framesBefore(a.client, [a.client, b.client, c.client, k1.client]);
    sameFrames(seen[0], [joinedFrame(w1, 4), ended(k1.id, "admitted"), { type: "error", code: "room_full" }], "host");
    for (const frames of seen.slice(1, 3)) assert.deepEqual(frames, [joinedFrame(w1, 4)]);
    assert.deepEqual(seen[3], []);
    await knockerGotNothing(k2.client, "the knock still waiting");
    // Once there is room, the same knock gets in.
    c.client.send({ type: "leave" });
    await c.client.closed;
    a.client.send({ type: "admit", id: k2.id });
    assert.equal((await k2.client.next("welcome")).you.id, k2.id);
    await closeAll(a, b, k1, k2);
  });

  test("unlock: lets the waiting in as far as the room has space; the rest get room_full and 4001", async () => {
    const room = uniqueRoom("unlock-full");
    const [a, b, c] = await lockedRoom(tight, room, ["ann", "bob", "cy"]);
    const k1 = await knockAt(tight, room, "kim", [a]);
    const k2 = await knockAt(tight, room, "kay", [a]);
    a.client.send({ type: "lock", locked: false });
    const w1 = await k1.client.next("welcome");
    assert.equal(w1.count, 4);
    await expectError(k2.client, "room_full");
    assert.equal((await k2.client.closed).code, 4001);
    const seen = await framesBefore(a.client, [a.client, b.client, c.client]);
    assert.equal(seen[0].filter((f) => f.type === "knock_ended" && f.id === k2.id).length, 1, "the hosts hear the second knock end");
    const k2End = seen[0].find((f) => f.type === "knock_ended" && f.id === k2.id);
    sameFrames(seen[0], [roomFrame(false, a.id), joinedFrame(w1, 4), ended(k1.id, "admitted"), k2End], "host");
    for (const frames of seen.slice(1)) sameFrames(frames, [roomFrame(false, a.id), joinedFrame(w1, 4)]);
    await closeAll(a, b, c, k1);
  });

  test("handover: when the last host is gone for good and nobody is left, the room unlocks itself and lets the waiting in, the first as host", async () => {
    const room = uniqueRoom("self-unlock");
    const [a] = await lockedRoom(tight, room, ["ann"]);
    const k1 = await knockAt(tight, room, "kim", [a]);
    const k2 = await knockAt(tight, room, "kay", [a]);
    await a.client.kill();
    // Through the resume window, the knockers wait.
    await sleep(RESUME_WINDOW_MS / 2);
    assert.deepEqual([k1.client.frames, k2.client.frames], [[], []]);
    const w1 = await k1.client.next("welcome", 20_000);
    const w2 = await k2.client.next("welcome", 20_000);
    assert.deepEqual([w1.you.id, w1.you.host, w1.locked], [k1.id, true, false]);
    assert.deepEqual([w2.you.id, w2.you.host, w2.locked], [k2.id, false, false]);
    assert.deepEqual(w2.peers.map((p) => [p.id, p.host]), [[k1.id, true]]);
    const seen = await framesBefore(k1.client, [k1.client, k2.client]);
    assert.deepEqual(seen, [[joinedFrame(w2, 2)], []]);
    await closeAll(k1, k2);
  });
});

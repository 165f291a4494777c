// Hosts (docs/protocol.md, "Hosts"): who is host and how the role is handed on (leaving,
// giving it up, being removed, losing the connection), and removing someone, with the refusals
// of each, against the real built worker over real websockets. What hosts do to others, hands
// and reactions: host-actions.test.mjs; locks and knocks: knock.test.mjs.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { chatBarrier } from "../support/client.mjs";
import { sleep } from "../support/wait.mjs";
import {
  PEER_KEYS, closeAll, expectError, framesBefore, knock, knockerGotNothing, people, sameFrames, sendJoin,
} from "../support/hosts.mjs";

const ADMIN_TOKEN = "host-test-token";
// Budgets big enough that no test of this worker runs into them.
let worker;
// A short resume window, and a sweep that notices its end soon.
const RESUME_WINDOW_MS = 2000;
const SWEEP_INTERVAL_MS = 250;
let tight;
before(async () => {
  [worker, tight] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN, CHAT_RATE_BURST: "1000", REFUSAL_RATE_BURST: "1000" } }),
    startWorker({ vars: { RESUME_WINDOW_MS: String(RESUME_WINDOW_MS), SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS) } }),
  ]);
});
after(() => Promise.all([worker.stop(), tight.stop()]));

const hostFrame = (id, host, by) => ({ type: "host", id, host, by });
const BROWSER = { a: "a".repeat(16), b: "0123456789abcdef0123456789abcdef", c: "c0ffee".repeat(8) };

function kick(room, id) {
  return fetch(`${worker.url}/api/admin/rooms/${encodeURIComponent(room)}/kick`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, Connection: "close" },
    body: JSON.stringify({ id }),
  });
}

// ---- Roles ----------------------------------------------------------------------------------

test("roles: the first joiner is host, the second is not, and every peer record says so", async () => {
  const room = uniqueRoom("roles");
  const a = await worker.join(room, "ann");
  assert.deepEqual(Object.keys(a.welcome.you).sort(), PEER_KEYS);
  assert.equal(a.welcome.you.host, true);
  assert.equal(a.welcome.you.hand, null);
  assert.equal(a.welcome.locked, false);
  assert.deepEqual(a.welcome.knocking, []);
  const b = await worker.join(room, "bob");
  assert.equal(b.welcome.you.host, false);
  assert.equal(b.welcome.you.hand, null);
  assert.deepEqual(b.welcome.peers, [a.welcome.you], "the host as the host's own welcome shows it");
  assert.deepEqual(b.welcome.knocking, []);
  assert.deepEqual(await a.client.next("peer_joined"), { type: "peer_joined", peer: b.welcome.you, count: 2 });
  // The creator of a private room is its host too.
  const s = await worker.join(uniqueRoom("roles-private"), "sam", { private: true });
  assert.equal(s.welcome.you.host, true);
  await closeAll(a, b, s);
});

test("roles: a host makes another a host, and everyone hears it with by", async () => {
  const room = uniqueRoom("make");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "host", id: b.id, host: true });
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), hostFrame(b.id, true, a.id));
  // The new host can do what hosts do: make another.
  b.client.send({ type: "host", id: c.id, host: true });
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), hostFrame(c.id, true, b.id));
  await chatBarrier(a.client, [a.client, b.client, c.client]);
  const d = await worker.join(room, "dee");
  assert.deepEqual(d.welcome.peers.map((p) => [p.nick, p.host]).sort(), [["ann", true], ["bob", true], ["cy", true]]);
  assert.equal(d.welcome.you.host, false);
  await closeAll(a, b, c, d);
});

test("roles: a host giving the role up while another host remains just stops being one", async () => {
  const room = uniqueRoom("giveup");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "host", id: b.id, host: true });
  for (const who of [a, b, c]) await who.client.next("host");
  a.client.send({ type: "host", id: a.id, host: false });
  // Reading: `by` is whoever did it, here the person giving the role up.
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), hostFrame(a.id, false, a.id));
  await chatBarrier(b.client, [a.client, b.client, c.client]);
  a.client.send({ type: "lock", locked: true });
  await expectError(a.client, "forbidden", "a former host locking");
  await closeAll(a, b, c);
});

test("roles: the only person in a room cannot give the role up (forbidden)", async () => {
  // Reading: the room always has a host while anyone is in it, and there is nobody to hand to.
  const room = uniqueRoom("alone");
  const [a] = await people(worker, room, ["ann"]);
  a.client.send({ type: "host", id: a.id, host: false });
  await expectError(a.client, "forbidden");
  await chatBarrier(a.client, [a.client]);
  const b = await worker.join(room, "bob");
  assert.equal(b.welcome.peers[0].host, true);
  await closeAll(a, b);
});

test("handover: the last host giving the role up hands it to the member present longest (by null)", async () => {
  const room = uniqueRoom("giveup-last");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "host", id: a.id, host: false });
  // The barrier comes from a, whose frames the room handles in order.
  const seen = await framesBefore(a.client, [a.client, b.client, c.client]);
  for (const frames of seen) sameFrames(frames, [hostFrame(a.id, false, a.id), hostFrame(b.id, true, null)]);
  b.client.send({ type: "lock", locked: true });
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), { type: "room", locked: true, by: b.id });
  await closeAll(a, b, c);
});

test("roles: a host cannot take the role from another host (forbidden)", async () => {
  const room = uniqueRoom("take");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "host", id: b.id, host: true });
  for (const who of [a, b, c]) await who.client.next("host");
  b.client.send({ type: "host", id: a.id, host: false });
  await expectError(b.client, "forbidden", "b taking a's role");
  a.client.send({ type: "host", id: b.id, host: false });
  await expectError(a.client, "forbidden", "a taking b's role");
  await chatBarrier(c.client, [a.client, b.client, c.client]);
  const d = await worker.join(room, "dee");
  assert.deepEqual(d.welcome.peers.map((p) => [p.nick, p.host]).sort(), [["ann", true], ["bob", true], ["cy", false]]);
  await closeAll(a, b, c, d);
});

test("roles: every host action from a non-host is forbidden, changes nothing, and the socket stays open", async () => {
  const room = uniqueRoom("nonhost");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  c.client.send({ type: "state", muted: true, screen: true });
  c.client.send({ type: "hand", raised: true });
  await a.client.next("state");
  await b.client.next("state");
  for (const who of [a, b, c]) await who.client.next("hand");
  a.client.send({ type: "lock", locked: true });
  for (const who of [a, b, c]) await who.client.next("room");
  const k = await knock(worker, room, "kim");
  const { id: kid } = await a.client.next("knock");
  const actions = [
    { type: "lock", locked: false },
    { type: "lock", locked: true },
    { type: "admit", id: kid },
    { type: "deny", id: kid },
    { type: "remove", id: c.id },
    { type: "remove", id: a.id },
    { type: "mute", id: a.id },
    { type: "mute_all" },
    { type: "stop_screen", id: c.id },
    { type: "ask_unmute", id: c.id },
    { type: "host", id: b.id, host: true },
    { type: "host", id: c.id, host: true },
    { type: "host", id: a.id, host: false },
    { type: "hand", raised: false, id: c.id },
  ];
  for (const frame of actions) {
    b.client.send(frame);
    await expectError(b.client, "forbidden", JSON.stringify(frame));
  }
  // Nothing happened to anyone (and b's chat, the barrier, still goes through).
  await chatBarrier(b.client, [a.client, b.client, c.client]);
  await knockerGotNothing(k, "the knocker");
  assert.equal(b.client.closeInfo, undefined);
  const d = await worker.join(room, "dee", { resume: c.welcome.resume });
  const seen = Object.fromEntries(d.welcome.peers.map((p) => [p.nick, p]));
  assert.equal(d.welcome.locked, true, "still locked");
  assert.deepEqual([seen.ann.host, seen.bob.host], [true, false]);
  assert.deepEqual([d.welcome.you.muted, d.welcome.you.screen, typeof d.welcome.you.hand], [true, true, "number"]);
  await closeAll(a, b, d, k);
});

// ---- Handing the role on ----------------------------------------------------------------------

test("handover: the host leaving on purpose hands the role to the member present longest", async () => {
  // Five, so that a room picking someone else (the last, or the first in some map) is caught.
  const [a, b, ...rest] = await people(worker, uniqueRoom("leave"), ["ann", "bob", "cy", "dee", "eve"]);
  a.client.send({ type: "leave" });
  assert.equal((await a.client.closed).code, 1000);
  const seen = await framesBefore(b.client, [b, ...rest].map((p) => p.client));
  const expected = [{ type: "peer_left", id: a.id, nick: "ann", count: 4 }, hostFrame(b.id, true, null)];
  for (const frames of seen) sameFrames(frames, expected);
  await closeAll(b, ...rest);
});

test("handover: an operator kick of the only host hands the role on", async () => {
  const room = uniqueRoom("kick");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  const res = await kick(room, a.id);
  assert.equal(res.status, 200);
  assert.equal((await a.client.closed).code, 4003);
  const seen = await framesBefore(c.client, [b.client, c.client]);
  const expected = [{ type: "peer_left", id: a.id, nick: "ann", count: 2 }, hostFrame(b.id, true, null)];
  for (const frames of seen) sameFrames(frames, expected);
  await closeAll(b, c);
});

test("handover: a host removed by another host leaves the remover in charge, nobody else is made host", async () => {
  const room = uniqueRoom("remove-host");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "host", id: c.id, host: true });
  for (const who of [a, b, c]) await who.client.next("host");
  c.client.send({ type: "remove", id: a.id });
  await expectError(a.client, "removed");
  assert.equal((await a.client.closed).code, 4003);
  const seen = await framesBefore(c.client, [b.client, c.client]);
  for (const frames of seen) sameFrames(frames, [{ type: "peer_left", id: a.id, nick: "ann", count: 2 }]);
  await closeAll(b, c);
});

// These wait for the resume window to end, each in its own room: they run side by side.
describe("after a lost connection", { concurrency: true }, () => {
  test("handover: a host whose connection is lost stays host through the resume window and comes back as host", async () => {
    const room = uniqueRoom("lost");
    const [a, b, c] = await people(tight, room, ["ann", "bob", "cy"]);
    const lost = Date.now();
    await a.client.kill();
    for (const who of [b, c]) assert.deepEqual(await who.client.next(), { type: "peer_left", id: a.id, nick: "ann", count: 2 });
    // Meanwhile nobody takes over: not the longest present, not a newcomer.
    const d = await tight.join(room, "dee");
    assert.equal(d.welcome.you.host, false);
    assert.deepEqual(d.welcome.peers.map((p) => p.host), [false, false]);
    for (const who of [b, c]) await who.client.next("peer_joined");
    b.client.send({ type: "lock", locked: true });
    await expectError(b.client, "forbidden", "bob is no host meanwhile");
    const saw = await framesBefore(b.client, [b.client, c.client, d.client]);
    assert.deepEqual(saw, [[], [], []], "no host frame meanwhile");
    const back = await tight.join(room, "ann", { resume: a.welcome.resume });
    assert.deepEqual([back.id, back.welcome.resumed, back.welcome.you.host], [a.id, true, true]);
    for (const who of [b, c, d]) {
      const joined = await who.client.next("peer_joined");
      assert.deepEqual([joined.peer.id, joined.peer.host, joined.count], [a.id, true, 4]);
    }
    // Past the end of the window the room still has its host back, and hands nothing on.
    assert.ok(Date.now() - lost < RESUME_WINDOW_MS, "back within the window (a loaded machine may need a longer one)");
    await sleep(lost + RESUME_WINDOW_MS + 2 * SWEEP_INTERVAL_MS - Date.now());
    back.client.send({ type: "lock", locked: true });
    for (const who of [back, b, c, d]) assert.deepEqual(await who.client.next(), { type: "room", locked: true, by: a.id });
    await chatBarrier(back.client, [back.client, b.client, c.client, d.client]);
    await closeAll(back, b, c, d);
  });

  test("handover: a lost host who is not back within RESUME_WINDOW_MS is replaced (by null)", async () => {
    const room = uniqueRoom("gone");
    const [a, b, c] = await people(tight, room, ["ann", "bob", "cy"]);
    const lost = Date.now();
    await a.client.kill();
    for (const who of [b, c]) assert.deepEqual(await who.client.next(), { type: "peer_left", id: a.id, nick: "ann", count: 2 });
    for (const who of [b, c]) assert.deepEqual(await who.client.next("host", RESUME_WINDOW_MS + 5000), hostFrame(b.id, true, null));
    const after = Date.now() - lost;
    assert.ok(after >= RESUME_WINDOW_MS - 100, `handed on after ${after} ms, before the window ended`);
    await chatBarrier(b.client, [b.client, c.client]);
    // The token is of no use now: an ordinary join, no host.
    const again = await tight.join(room, "ann", { resume: a.welcome.resume });
    assert.deepEqual([again.id !== a.id, again.welcome.resumed, again.welcome.you.host], [true, false, false]);
    await closeAll(again, b, c);
  });

  test("handover: a newcomer while the lost host may still come back is not host, and becomes host when the window ends", async () => {
    const room = uniqueRoom("gone-alone");
    const [a] = await people(tight, room, ["ann"]);
    const lost = Date.now();
    await a.client.kill();
    const d = await tight.join(room, "dee");
    assert.deepEqual([d.welcome.you.host, d.welcome.count], [false, 1]);
    d.client.send({ type: "lock", locked: true });
    await expectError(d.client, "forbidden", "not host meanwhile");
    assert.deepEqual(await d.client.next("host", RESUME_WINDOW_MS + 5000), hostFrame(d.id, true, null));
    assert.ok(Date.now() - lost >= RESUME_WINDOW_MS - 100, `handed on after ${Date.now() - lost} ms`);
    await chatBarrier(d.client, [d.client]);
    await closeAll(d);
  });
});

// ---- Remove -----------------------------------------------------------------------------------

test("remove: the removed person gets removed and 4003, the others peer_left, and the resume token dies", async () => {
  const room = uniqueRoom("remove");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"], { bob: { browser: BROWSER.b } });
  a.client.send({ type: "remove", id: b.id });
  const error = await expectError(b.client, "removed");
  assert.match(error.message, /ann/, "the message names the host");
  assert.equal(error.hostNick, "ann", "and so does hostNick, for the client's own sentence");
  assert.equal((await b.client.closed).code, 4003);
  assert.deepEqual(b.client.frames, []);
  const left = { type: "peer_left", id: b.id, nick: "bob", count: 2 };
  for (const frames of await framesBefore(a.client, [a.client, c.client])) sameFrames(frames, [left]);
  // The old token, from another browser: an ordinary join with a new id.
  const again = await worker.join(room, "bob", { resume: b.welcome.resume, browser: BROWSER.c });
  assert.notEqual(again.id, b.id);
  assert.equal(again.welcome.resumed, false);
  for (const who of [a, c]) assert.equal((await who.client.next("peer_joined")).peer.id, again.id);
  await closeAll(a, c, again);
});

test("remove: the removed browser is refused with removed and 4003, with or without its token, even knocking", async () => {
  const room = uniqueRoom("remove-browser");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"], { bob: { browser: BROWSER.b } });
  a.client.send({ type: "remove", id: b.id });
  assert.equal((await b.client.closed).code, 4003);
  for (const who of [a, c]) await who.client.next("peer_left");
  // The browser key is kept until the room is forgotten: through an eviction too.
  await worker.evictRoom(room);
  for (const extra of [{}, { resume: b.welcome.resume }]) {
    const back = await sendJoin(worker, room, "bobby", { browser: BROWSER.b, ...extra });
    await expectError(back, "removed", `the same browser again with ${JSON.stringify(extra)}`);
    assert.equal((await back.closed).code, 4003);
    assert.deepEqual(back.frames, []);
  }
  a.client.send({ type: "lock", locked: true });
  for (const who of [a, c]) await who.client.next("room");
  const knocker = await sendJoin(worker, room, "bobby", { browser: BROWSER.b });
  await expectError(knocker, "removed", "the same browser knocking");
  assert.equal((await knocker.closed).code, 4003);
  // Nobody heard of any of it.
  for (const frames of await framesBefore(a.client, [a.client, c.client])) assert.deepEqual(frames, []);
  await closeAll(a, c);
});

test("join: a malformed browser key is bad_message, and the socket can still join", async () => {
  const room = uniqueRoom("browser");
  const cases = [
    ["too short", "abcdef0123"],
    ["15 characters", "f".repeat(15)],
    ["65 characters", "f".repeat(65)],
    ["not hex", "0123456789abcdeg"],
    ["a number", 1234567890123456],
    ["an array", ["0123456789abcdef"]],
    ["an object", { key: "0123456789abcdef" }],
  ];
  for (const [label, browser] of cases) {
    const client = await sendJoin(worker, room, "tester", { browser });
    await expectError(client, "bad_message", label);
    client.send({ type: "join", nick: "tester", browser: BROWSER.a });
    const welcome = await client.next("welcome");
    assert.equal(welcome.count, 1, label);
    await client.close();
  }
  // 16 and 64 hex characters are fine.
  for (const browser of ["0".repeat(16), "9".repeat(64)]) {
    const ok = await worker.join(room, "ok", { browser });
    await ok.client.close();
  }
});

// Hosts (docs/protocol.md, "Hosts"): who is host and how the role is handed on, removing,
// muting, stopping a share, asking to unmute, hands, reactions, and the refusals of each,
// against the real built worker over real websockets. Locks and knocks: knock.test.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { chatBarrier } from "../support/client.mjs";
import { sleep } from "../support/wait.mjs";
import {
  NOBODY, PEER_KEYS, closeAll, expectError, framesBefore, knock, knockerGotNothing, people, sameFrames, sendJoin,
} from "../support/hosts.mjs";

const ADMIN_TOKEN = "host-test-token";
// Budgets big enough that no test here runs into them but the one about them.
let worker;
// A short resume window (and a sweep to notice its end), and a small chat budget.
const RESUME_WINDOW_MS = 1500;
const SWEEP_INTERVAL_MS = 250;
const CHAT_RATE_BURST = 6;
let tight;
before(async () => {
  [worker, tight] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN, CHAT_RATE_BURST: "1000", REFUSAL_RATE_BURST: "1000" } }),
    startWorker({
      vars: {
        RESUME_WINDOW_MS: String(RESUME_WINDOW_MS),
        SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
        CHAT_RATE_BURST: String(CHAT_RATE_BURST),
        CHAT_RATE_PER_SEC: "1",
      },
    }),
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

test("handover: the last host giving the role up hands it to the member present longest (by null)", async () => {
  const room = uniqueRoom("giveup-last");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "host", id: a.id, host: false });
  const seen = await framesBefore(c.client, [a.client, b.client, c.client]);
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
  const [a, b, c] = await people(worker, uniqueRoom("leave"), ["ann", "bob", "cy"]);
  a.client.send({ type: "leave" });
  assert.equal((await a.client.closed).code, 1000);
  const seen = await framesBefore(c.client, [b.client, c.client]);
  const expected = [{ type: "peer_left", id: a.id, nick: "ann", count: 2 }, hostFrame(b.id, true, null)];
  for (const frames of seen) sameFrames(frames, expected);
  await closeAll(b, c);
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

test("handover: a host whose connection is lost stays host through the resume window and comes back as host", async () => {
  const room = uniqueRoom("lost");
  const [a, b, c] = await people(tight, room, ["ann", "bob", "cy"]);
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
  await sleep(RESUME_WINDOW_MS + 3 * SWEEP_INTERVAL_MS);
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

// ---- Remove -----------------------------------------------------------------------------------

test("remove: the removed person gets removed and 4003, the others peer_left, and the resume token dies", async () => {
  const room = uniqueRoom("remove");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"], { bob: { browser: BROWSER.b } });
  a.client.send({ type: "remove", id: b.id });
  const error = await expectError(b.client, "removed");
  assert.match(error.message, /ann/, "the message names the host");
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

// ---- Mute, stop sharing, ask to unmute --------------------------------------------------------

test("mute: state with by reaches everyone, the person included; muting again sends nothing", async () => {
  const room = uniqueRoom("mute");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  a.client.send({ type: "mute", id: b.id });
  const muted = { type: "state", id: b.id, muted: true, camera: true, screen: false, by: a.id };
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), muted);
  a.client.send({ type: "mute", id: b.id });
  await chatBarrier(a.client, [a.client, b.client, c.client]);
  const d = await worker.join(room, "dee");
  assert.equal(d.welcome.peers.find((p) => p.id === b.id).muted, true, "the record changed");
  await closeAll(a, b, c, d);
});

test("stop_screen: state with by reaches everyone; stopping a share that is not running sends nothing", async () => {
  const [a, b, c] = await people(worker, uniqueRoom("screen"), ["ann", "bob", "cy"]);
  a.client.send({ type: "stop_screen", id: b.id });
  await chatBarrier(a.client, [a.client, b.client, c.client]);
  b.client.send({ type: "state", screen: true, camera: false });
  for (const who of [a, c]) await who.client.next("state");
  a.client.send({ type: "stop_screen", id: b.id });
  const stopped = { type: "state", id: b.id, muted: false, camera: false, screen: false, by: a.id };
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), stopped);
  a.client.send({ type: "stop_screen", id: b.id });
  await chatBarrier(a.client, [a.client, b.client, c.client]);
  await closeAll(a, b, c);
});

test("ask_unmute: only the muted person is asked; asking someone unmuted is refused and reaches nobody", async () => {
  const [a, b, c] = await people(worker, uniqueRoom("ask"), ["ann", "bob", "cy"]);
  b.client.send({ type: "state", muted: true });
  for (const who of [a, c]) await who.client.next("state");
  a.client.send({ type: "ask_unmute", id: b.id });
  assert.deepEqual(await b.client.next(), { type: "ask_unmute", by: a.id });
  await chatBarrier(a.client, [a.client, b.client, c.client]);
  // c is not muted. Reading: "only someone muted" refuses it; which code the contract leaves
  // open, so any error will do, as long as c hears nothing.
  a.client.send({ type: "ask_unmute", id: c.id });
  const [aSaw, bSaw, cSaw] = await framesBefore(a.client, [a.client, b.client, c.client]);
  assert.equal(aSaw.length, 1, `one refusal for the host: ${JSON.stringify(aSaw)}`);
  assert.equal(aSaw[0].type, "error");
  assert.deepEqual([bSaw, cSaw], [[], []]);
  await closeAll(a, b, c);
});

test("mute_all: mutes everyone but the sender, and says nothing of those already muted", async () => {
  const room = uniqueRoom("mute-all");
  const [a, b, c, d, e] = await people(worker, room, ["ann", "bob", "cy", "dee", "eve"], { dee: { webrtc: false } });
  c.client.send({ type: "state", muted: true });
  for (const who of [a, b, d, e]) await who.client.next("state");
  a.client.send({ type: "mute_all" });
  const muted = (id) => ({ type: "state", id, muted: true, camera: true, screen: false, by: a.id });
  const all = [a, b, c, d, e];
  const seen = await framesBefore(a.client, all.map((p) => p.client));
  for (const frames of seen) sameFrames(frames, [muted(b.id), muted(e.id)]);
  const f = await worker.join(room, "fay");
  const records = Object.fromEntries(f.welcome.peers.map((p) => [p.nick, p.muted]));
  assert.deepEqual(records, { ann: false, bob: true, cy: true, dee: true, eve: true });
  await closeAll(...all, f);
});

test("host actions naming oneself, nobody, or someone of another room are unknown_peer", async () => {
  const [a, b] = await people(worker, uniqueRoom("forged"), ["ann", "bob"]);
  const y = await worker.join(uniqueRoom("forged-other"), "yan");
  const naming = (id) => [
    { type: "remove", id },
    { type: "mute", id },
    { type: "stop_screen", id },
    { type: "ask_unmute", id },
    { type: "host", id, host: true },
    { type: "admit", id },
    { type: "deny", id },
    { type: "hand", raised: false, id },
  ];
  const cases = [
    ...naming(a.id).slice(0, 5).map((f) => ["oneself", f]),
    ...naming(NOBODY).map((f) => ["nobody", f]),
    ...naming(y.id).map((f) => ["another room's", f]),
    ["a member who is not knocking", { type: "admit", id: b.id }],
    ["a member who is not knocking", { type: "deny", id: b.id }],
  ];
  for (const [label, frame] of cases) {
    a.client.send(frame);
    await expectError(a.client, "unknown_peer", `${label}: ${JSON.stringify(frame)}`);
  }
  await chatBarrier(a.client, [a.client, b.client]);
  await chatBarrier(y.client, [y.client]);
  await closeAll(a, b, y);
});

// ---- Hands, reactions, names ------------------------------------------------------------------

test("hand: raising and lowering my hand reaches everyone, with when and by, and is in later welcomes", async () => {
  const room = uniqueRoom("hand");
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"]);
  const before = Date.now();
  b.client.send({ type: "hand", raised: true });
  const raised = await a.client.next("hand");
  assert.ok(raised.hand >= before - 1000 && raised.hand <= Date.now() + 1000, `hand ${raised.hand} is when`);
  assert.deepEqual(raised, { type: "hand", id: b.id, hand: raised.hand, by: b.id });
  for (const who of [b, c]) assert.deepEqual(await who.client.next(), raised);
  const d = await worker.join(room, "dee");
  assert.equal(d.welcome.peers.find((p) => p.id === b.id).hand, raised.hand);
  for (const who of [a, b, c]) await who.client.next("peer_joined");
  b.client.send({ type: "hand", raised: false });
  for (const who of [a, b, c, d]) assert.deepEqual(await who.client.next(), { type: "hand", id: b.id, hand: null, by: b.id });
  const e = await worker.join(room, "eve");
  assert.equal(e.welcome.peers.find((p) => p.id === b.id).hand, null);
  await closeAll(a, b, c, d, e);
});

test("hand: a host lowers someone else's hand (by the host); a non-host may not (forbidden)", async () => {
  const [a, b, c] = await people(worker, uniqueRoom("hand-host"), ["ann", "bob", "cy"]);
  b.client.send({ type: "hand", raised: true });
  for (const who of [a, b, c]) await who.client.next("hand");
  c.client.send({ type: "hand", raised: false, id: b.id });
  await expectError(c.client, "forbidden");
  await chatBarrier(c.client, [a.client, b.client, c.client]);
  a.client.send({ type: "hand", raised: false, id: b.id });
  for (const who of [a, b, c]) assert.deepEqual(await who.client.next(), { type: "hand", id: b.id, hand: null, by: a.id });
  await closeAll(a, b, c);
});

test("hand: a raised hand comes back with a resume after a lost connection (in peer_joined)", async () => {
  const room = uniqueRoom("hand-resume");
  const [a, b] = await people(worker, room, ["ann", "bob"]);
  b.client.send({ type: "hand", raised: true });
  const { hand } = await a.client.next("hand");
  await b.client.kill();
  await a.client.next("peer_left");
  const back = await worker.join(room, "bob", { resume: b.welcome.resume });
  assert.equal(back.welcome.you.hand, hand);
  const joined = await a.client.next("peer_joined");
  assert.deepEqual([joined.peer.id, joined.peer.hand], [b.id, hand]);
  await closeAll(a, back);
});

const EMOJI = ["👍", "👏", "😂", "😮", "🎉", "❤️"];

test("react: each of the six emoji reaches everyone, the sender included, as reaction", async () => {
  const [a, b] = await people(worker, uniqueRoom("react"), ["ann", "bob"]);
  for (const emoji of EMOJI) {
    b.client.send({ type: "react", emoji, from: a.id });
    for (const who of [a, b]) assert.deepEqual(await who.client.next(), { type: "reaction", from: b.id, emoji });
  }
  await chatBarrier(a.client, [a.client, b.client]);
  await closeAll(a, b);
});

test("react: any other emoji is bad_message, and nobody hears of it", async () => {
  const [a, b] = await people(worker, uniqueRoom("react-bad"), ["ann", "bob"]);
  for (const emoji of ["🔥", "❤", "👍🏽", " 👍", "👍👍", "", "thumbs up", 1, null]) {
    a.client.send({ type: "react", emoji });
    await expectError(a.client, "bad_message", JSON.stringify(emoji));
  }
  await chatBarrier(a.client, [a.client, b.client]);
  await closeAll(a, b);
});

test("react: reactions are not kept in the chat history", async () => {
  const room = uniqueRoom("react-history");
  const [a] = await people(worker, room, ["ann"]);
  a.client.send({ type: "chat", text: "before" });
  a.client.send({ type: "react", emoji: "🎉" });
  a.client.send({ type: "chat", text: "after" });
  for (const type of ["chat", "reaction", "chat"]) await a.client.next(type);
  const b = await worker.join(room, "bob");
  assert.deepEqual(b.welcome.history.map((h) => [h.type, h.text]), [["chat", "before"], ["chat", "after"]]);
  await closeAll(a, b);
});

test("react: reactions spend the chat budget (CHAT_RATE_BURST) and are rate limited", async () => {
  const [a, b] = await people(tight, uniqueRoom("react-rate"), ["ann", "bob"]);
  for (let i = 0; i < CHAT_RATE_BURST + 2; i++) a.client.send({ type: "react", emoji: "👏" });
  a.client.send({ type: "chat", text: "one more" });
  const reaction = { type: "reaction", from: a.id, emoji: "👏" };
  for (let i = 0; i < CHAT_RATE_BURST; i++) assert.deepEqual(await a.client.next(), reaction, `reaction ${i + 1}`);
  for (let i = 0; i < 3; i++) await expectError(a.client, "rate_limited", `frame ${CHAT_RATE_BURST + i + 1}`);
  for (let i = 0; i < CHAT_RATE_BURST; i++) assert.deepEqual(await b.client.next(), reaction);
  await chatBarrier(b.client, [a.client, b.client]);
  assert.equal(a.client.closeInfo, undefined);
  await closeAll(a, b);
});

test("rename: a new nick reaches everyone, and later joiners see it with the host flag kept", async () => {
  const room = uniqueRoom("rename");
  const [a, b] = await people(worker, room, ["ann", "bob"]);
  a.client.send({ type: "nick", nick: " anna " });
  for (const who of [a, b]) assert.deepEqual(await who.client.next(), { type: "nick", id: a.id, nick: "anna" });
  const c = await worker.join(room, "cy");
  const seen = c.welcome.peers.find((p) => p.id === a.id);
  assert.deepEqual([seen.nick, seen.host], ["anna", true]);
  await closeAll(a, b, c);
});

// ---- Malformed frames -------------------------------------------------------------------------

test("every new frame type, malformed, is bad_message, and the socket survives", async () => {
  const [a, b] = await people(worker, uniqueRoom("malformed"), ["ann", "bob"]);
  const cases = [
    { type: "hand" },
    { type: "hand", raised: "yes" },
    { type: "hand", raised: 1 },
    { type: "hand", raised: null },
    { type: "hand", raised: false, id: 5 },
    { type: "react" },
    { type: "react", emoji: ["👍"] },
    { type: "lock" },
    { type: "lock", locked: "true" },
    { type: "lock", locked: null },
    ...["admit", "deny", "remove", "mute", "stop_screen", "ask_unmute"].flatMap((type) => [
      { type },
      { type, id: 5 },
      { type, id: [b.id] },
    ]),
    { type: "host" },
    { type: "host", id: b.id },
    { type: "host", host: true },
    { type: "host", id: b.id, host: "yes" },
    { type: "host", id: 5, host: true },
  ];
  for (const frame of cases) {
    a.client.send(frame);
    await expectError(a.client, "bad_message", JSON.stringify(frame));
  }
  // Nothing came of any of them; the socket, and its host powers, still work.
  await chatBarrier(a.client, [a.client, b.client]);
  a.client.send({ type: "mute", id: b.id });
  for (const who of [a, b]) assert.equal((await who.client.next("state")).by, a.id);
  await closeAll(a, b);
});

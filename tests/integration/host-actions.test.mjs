// What hosts do to others (docs/protocol.md, "Hosts"): mute, mute everyone, stop a share, ask to
// unmute, with ids that name nobody; and what everyone does: hands, reactions, names. Each
// with its refusals, against the real built worker over real websockets. Roles and handing
// them on: host.test.mjs; locks and knocks: knock.test.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { chatBarrier } from "../support/client.mjs";
import { NOBODY, closeAll, expectError, framesBefore, people, sameFrames } from "../support/hosts.mjs";

// Budgets big enough that no test of this worker runs into them.
let worker;
// A small chat budget, that refills slowly.
const CHAT_RATE_BURST = 6;
let tight;
before(async () => {
  [worker, tight] = await Promise.all([
    startWorker({ vars: { CHAT_RATE_BURST: "1000", REFUSAL_RATE_BURST: "1000" } }),
    startWorker({ vars: { CHAT_RATE_BURST: String(CHAT_RATE_BURST), CHAT_RATE_PER_SEC: "1" } }),
  ]);
});
after(() => Promise.all([worker.stop(), tight.stop()]));

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

test("ask_unmute: only the muted person is asked; someone unmuted is bad_message, someone chat-only chat_only", async () => {
  const [a, b, c, d] = await people(worker, uniqueRoom("ask"), ["ann", "bob", "cy", "dee"], { dee: { webrtc: false } });
  const all = [a, b, c, d];
  b.client.send({ type: "state", muted: true });
  for (const who of [a, c, d]) await who.client.next("state");
  a.client.send({ type: "ask_unmute", id: b.id });
  assert.deepEqual(await b.client.next(), { type: "ask_unmute", by: a.id });
  await chatBarrier(a.client, all.map((p) => p.client));
  a.client.send({ type: "ask_unmute", id: c.id });
  await expectError(a.client, "bad_message", "c is not muted");
  // dee joined chat-only: muted, but with no microphone to turn on.
  a.client.send({ type: "ask_unmute", id: d.id });
  await expectError(a.client, "chat_only", "dee is chat-only");
  await chatBarrier(a.client, all.map((p) => p.client));
  await closeAll(...all);
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
  // bob, whose hand goes up, is chat-only: hands are for everyone.
  const [a, b, c] = await people(worker, room, ["ann", "bob", "cy"], { bob: { webrtc: false } });
  const before = Date.now();
  b.client.send({ type: "hand", raised: true });
  const raised = await a.client.next("hand");
  assert.ok(raised.hand >= before - 1000 && raised.hand <= Date.now() + 1000, `hand ${raised.hand} is when`);
  assert.deepEqual(raised, { type: "hand", id: b.id, hand: raised.hand, by: b.id });
  for (const who of [b, c]) assert.deepEqual(await who.client.next(), raised);
  // Kept in the person's record: through an eviction too.
  await worker.evictRoom(room);
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

test("react: each of the six emoji reaches everyone, the sender included, as reaction (chat-only people too)", async () => {
  const [a, b] = await people(worker, uniqueRoom("react"), ["ann", "bob"], { bob: { webrtc: false } });
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

test("host actions spend the chat budget (CHAT_RATE_BURST) and are rate limited", async () => {
  const [a, b] = await people(tight, uniqueRoom("host-rate"), ["ann", "bob"]);
  for (let i = 0; i < CHAT_RATE_BURST + 1; i++) a.client.send({ type: "lock", locked: i % 2 === 0 });
  a.client.send({ type: "mute", id: b.id });
  for (let i = 0; i < CHAT_RATE_BURST; i++) {
    const room = { type: "room", locked: i % 2 === 0, by: a.id };
    for (const who of [a, b]) assert.deepEqual(await who.client.next(), room, `lock ${i + 1}`);
  }
  for (let i = 0; i < 2; i++) await expectError(a.client, "rate_limited", `frame ${CHAT_RATE_BURST + i + 1}`);
  // Nothing came of the refused ones: bob was not muted.
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
    // Nobody raises someone else's hand, not even a host.
    { type: "hand", raised: true, id: b.id },
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

// The room Durable Object over real websockets: the real built worker in Miniflare.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client, chatBarrier } from "../support/client.mjs";

let worker;
before(async () => (worker = await startWorker()));
after(() => worker.stop());

/** Three people in one room, each having seen the others arrive. */
async function threeInARoom(room) {
  const a = await worker.join(room, "ann");
  const b = await worker.join(room, "bob");
  assert.equal((await a.client.next("peer_joined")).peer.id, b.id);
  const c = await worker.join(room, "cy");
  assert.equal((await a.client.next("peer_joined")).count, 3);
  assert.equal((await b.client.next("peer_joined")).peer.id, c.id);
  return [a, b, c];
}

test("three clients: welcome, peer lists, counts, chat and targeted signal", async () => {
  const room = uniqueRoom();
  const a = await worker.join(room, "ann");
  assert.deepEqual(a.welcome.peers, []);
  assert.equal(a.welcome.count, 1);
  assert.match(a.id, /^[0-9a-f]{16}$/);
  assert.match(a.welcome.resume, /^[0-9a-f]{32}$/);
  assert.equal(a.welcome.limits.maxPeers, 8);

  const b = await worker.join(room, "bob");
  assert.deepEqual(b.welcome.peers.map((p) => [p.id, p.nick, p.muted, p.camera, p.screen]), [
    [a.id, "ann", false, true, false],
  ]);
  assert.equal(b.welcome.count, 2);
  const joined = await a.client.next("peer_joined");
  assert.equal(joined.peer.id, b.id);
  assert.equal(joined.peer.nick, "bob");
  assert.equal(joined.count, 2);

  const c = await worker.join(room, "cy");
  assert.deepEqual(new Set(c.welcome.peers.map((p) => p.id)), new Set([a.id, b.id]));
  assert.equal(c.welcome.count, 3);
  for (const other of [a, b]) assert.equal((await other.client.next("peer_joined")).count, 3);

  // Chat: everyone, sender included, stamped by the server (forged fields ignored).
  const before = Date.now();
  a.client.send({ type: "chat", text: "hello all", from: b.id, nick: "mallory", ts: 1 });
  for (const who of [a, b, c]) {
    const chat = await who.client.next("chat");
    assert.equal(chat.from, a.id);
    assert.equal(chat.nick, "ann");
    assert.equal(chat.text, "hello all");
    assert.ok(chat.ts >= before - 1000 && chat.ts <= Date.now() + 1000, "server timestamp");
  }

  // Signal: exactly the named peer, with `from` stamped by the server (the forged one names c,
  // who must not get it either). A chat a sends after it is the barrier: the sender and the
  // bystander get that chat with nothing before it, the target right after the one signal.
  const data = { description: { type: "offer", sdp: "v=0\r\n" } };
  a.client.send({ type: "signal", to: b.id, from: c.id, data });
  assert.deepEqual(await b.client.next("signal"), { type: "signal", from: a.id, data });
  await chatBarrier(a.client, [a.client, b.client, c.client]);

  for (const who of [a, b, c]) await who.client.close();
});

test("state and nick changes are relayed", async () => {
  const room = uniqueRoom();
  const [a, b, c] = await threeInARoom(room);
  // Forged `id`s (naming someone else) are ignored: the relayed frame names the real sender.
  a.client.send({ type: "state", muted: true, camera: false, id: b.id, from: b.id });
  for (const other of [b, c]) {
    assert.deepEqual(await other.client.next("state"), { type: "state", id: a.id, muted: true, camera: false, screen: false });
  }
  // The nick change is the barrier for a: its own state was not echoed back to it.
  b.client.send({ type: "nick", nick: "  robert ", id: c.id, from: c.id });
  for (const who of [a, b, c]) assert.deepEqual(await who.client.expectNothingBefore("nick"), { type: "nick", id: b.id, nick: "robert" });
  // A late joiner sees the new state and name.
  const d = await worker.join(room, "dee");
  const seen = Object.fromEntries(d.welcome.peers.map((p) => [p.id, p]));
  assert.equal(seen[a.id].muted, true);
  assert.equal(seen[a.id].camera, false);
  assert.equal(seen[b.id].nick, "robert");
  for (const who of [a, b, c, d]) await who.client.close();
});

test("two rooms never see each other's frames", async () => {
  const x1 = await worker.join(uniqueRoom("x"), "x1");
  const roomY = uniqueRoom("y");
  const y1 = await worker.join(roomY, "y1");
  const y2 = await worker.join(roomY, "y2");
  await y1.client.next("peer_joined");
  y1.client.send({ type: "chat", text: "only y" });
  await y1.client.next("chat");
  await y2.client.next("chat");
  y2.client.send({ type: "signal", to: x1.id, data: {} });
  assert.equal((await y2.client.next("error")).code, "unknown_peer");
  await chatBarrier(x1.client, [x1.client]);
  for (const who of [x1, y1, y2]) await who.client.close();
});

test("chat history is sent on welcome and forgotten when the room empties", async () => {
  const room = uniqueRoom();
  const a = await worker.join(room, "ann");
  for (const text of ["one", "two", "three"]) {
    a.client.send({ type: "chat", text });
    await a.client.next("chat");
  }
  const b = await worker.join(room, "bob");
  assert.deepEqual(b.welcome.history.map((h) => [h.type, h.nick, h.text]), [
    ["chat", "ann", "one"],
    ["chat", "ann", "two"],
    ["chat", "ann", "three"],
  ]);
  await a.client.close();
  await b.client.close();
  const c = await worker.join(room, "cy");
  assert.deepEqual(c.welcome.history, []);
  await c.client.close();
});

test("leave closes with 1000 and the others hear once", async () => {
  const [a, b, c] = await threeInARoom(uniqueRoom());
  a.client.send({ type: "leave" });
  assert.equal((await a.client.closed).code, 1000);
  for (const other of [b, c]) {
    assert.deepEqual(await other.client.next("peer_left"), { type: "peer_left", id: a.id, nick: "ann", count: 2 });
    // Ann was the host: the role passes to Bob, who has been here longest.
    assert.deepEqual(await other.client.next("host"), { type: "host", id: b.id, host: true, by: null });
  }
  // Once: the closing handshake is done (a saw the close), and no second peer_left came before
  // a chat sent after it.
  await chatBarrier(b.client, [b.client, c.client]);
  for (const who of [b, c]) await who.client.close();
});

test("an abrupt disconnect is announced once with the right count", async () => {
  const [a, b, c] = await threeInARoom(uniqueRoom());
  await b.client.kill();
  for (const other of [a, c]) {
    assert.deepEqual(await other.client.next("peer_left", 10_000), { type: "peer_left", id: b.id, nick: "bob", count: 2 });
  }
  await chatBarrier(a.client, [a.client, c.client]);
  // The departed peer is gone for signaling too.
  a.client.send({ type: "signal", to: b.id, data: {} });
  assert.equal((await a.client.next("error")).code, "unknown_peer");
  for (const who of [a, c]) await who.client.close();
});

test("hibernation: after eviction frames still flow and nothing is forgotten", async () => {
  const room = uniqueRoom("sleepy");
  const [a, b, c] = await threeInARoom(room);
  a.client.send({ type: "state", muted: true });
  await b.client.next("state");
  await c.client.next("state");

  await worker.evictRoom(room);

  b.client.send({ type: "chat", text: "still here?" });
  for (const who of [a, b, c]) {
    const chat = await who.client.next("chat");
    assert.equal(chat.from, b.id);
    assert.equal(chat.nick, "bob");
  }
  c.client.send({ type: "signal", to: a.id, data: { candidate: "x" } });
  assert.deepEqual(await a.client.next("signal"), { type: "signal", from: c.id, data: { candidate: "x" } });
  const d = await worker.join(room, "dee");
  assert.equal(d.welcome.count, 4);
  const seen = Object.fromEntries(d.welcome.peers.map((p) => [p.id, p]));
  assert.deepEqual(Object.keys(seen).sort(), [a.id, b.id, c.id].sort());
  assert.equal(seen[a.id].nick, "ann");
  assert.equal(seen[a.id].muted, true);
  assert.equal(d.welcome.history.at(-1).text, "still here?");
  for (const who of [a, b, c]) assert.equal(who.client.closeInfo, undefined, "nobody was disconnected");
  for (const who of [a, b, c, d]) await who.client.close();
});

test("heartbeat: ping is answered pong, before and after joining", async () => {
  const room = uniqueRoom();
  const client = await Client.connect(`${worker.wsUrl}/ws/rooms/${room}`);
  client.send("ping");
  assert.equal(await client.next(), "pong");
  client.send({ type: "join", nick: "ann" });
  await client.next("welcome");
  await worker.evictRoom(room);
  client.send("ping");
  assert.equal(await client.next(), "pong");
  await client.close();
});

test("capacity: the ninth joiner is refused with room_full and 4001, and nobody inside hears of it", async () => {
  const room = uniqueRoom("full");
  const people = [];
  for (let i = 0; i < 8; i++) people.push(await worker.join(room, `p${i}`));
  // Everyone has heard of everyone after them: each sees the room at 8.
  for (const [i, p] of people.entries()) {
    assert.equal(p.welcome.count, i + 1);
    for (let count = i + 2; count <= 8; count++) assert.equal((await p.client.next("peer_joined")).count, count);
  }
  const late = await Client.connect(`${worker.wsUrl}/ws/rooms/${room}`);
  late.send({ type: "join", nick: "late" });
  assert.equal((await late.next("error")).code, "room_full");
  assert.equal((await late.closed).code, 4001);
  assert.deepEqual(late.frames, [], "the refused joiner got nothing but the error");
  // The refusal is handled: nobody inside got a peer_joined (or anything) before a chat sent
  // after it...
  await chatBarrier(people[0].client, people.map((p) => p.client));
  // ...and the room still counts 8, not 9: the next departure leaves 7.
  const last = people.pop();
  last.client.send({ type: "leave" });
  assert.equal((await last.client.closed).code, 1000);
  for (const p of people) assert.equal((await p.client.expectNothingBefore("peer_left")).count, 7);
  for (const p of people) await p.client.close();
});

test("bad input: each gets its error code, and the socket and room keep working", async () => {
  const room = uniqueRoom("bad");
  const b = await worker.join(room, "bob");
  const fresh = () => Client.connect(`${worker.wsUrl}/ws/rooms/${room}`);
  const cases = [
    // [label, joined first?, frame, code]
    ["not JSON", false, "{nope", "bad_message"],
    ["binary frame", false, Buffer.from([1, 2, 3]), "bad_message"],
    ["JSON but not an object", false, "[1,2]", "bad_message"],
    ["unknown type", false, { type: "shout" }, "bad_message"],
    ["missing type", false, { nick: "x" }, "bad_message"],
    ["missing nick", false, { type: "join" }, "bad_message"],
    ["mistyped nick", false, { type: "join", nick: 42 }, "bad_message"],
    ["frame before join", false, { type: "chat", text: "hi" }, "not_joined"],
    ["signal before join", false, { type: "signal", to: "x", data: {} }, "not_joined"],
    ["empty nick", false, { type: "join", nick: "  " }, "bad_nick"],
    ["too-long nick", false, { type: "join", nick: "n".repeat(33) }, "bad_nick"],
    ["control-character nick", false, { type: "join", nick: "a\u0000b" }, "bad_nick"],
    ["second join", true, { type: "join", nick: "again" }, "already_joined"],
    ["empty chat", true, { type: "chat", text: "" }, "bad_chat"],
    ["too-long chat", true, { type: "chat", text: "c".repeat(2001) }, "bad_chat"],
    ["mistyped chat", true, { type: "chat", text: ["x"] }, "bad_message"],
    ["signal to nobody", true, { type: "signal", to: "0000000000000000", data: {} }, "unknown_peer"],
    ["signal without data", true, { type: "signal", to: b.id }, "bad_message"],
    ["signal with non-object data", true, { type: "signal", to: b.id, data: "offer" }, "bad_message"],
    ["empty state", true, { type: "state" }, "bad_message"],
    ["mistyped state", true, { type: "state", muted: "yes" }, "bad_message"],
    ["bad rename", true, { type: "nick", nick: "x".repeat(100) }, "bad_nick"],
  ];
  for (const [label, joinFirst, frame, code] of cases) {
    const client = await fresh();
    if (joinFirst) {
      client.send({ type: "join", nick: "tester" });
      await client.next("welcome");
      await b.client.next("peer_joined");
    }
    client.send(frame);
    const error = await client.next("error");
    assert.equal(error.code, code, label);
    assert.equal(typeof error.message, "string", label);
    // The socket still works: it can join (or chat) afterwards.
    if (joinFirst) {
      client.send({ type: "chat", text: `after ${label}` });
      assert.equal((await client.next("chat")).text, `after ${label}`, label);
      assert.equal((await b.client.next("chat")).text, `after ${label}`, label);
      await client.close();
      await b.client.next("peer_left");
    } else {
      client.send({ type: "join", nick: "recovered" });
      assert.equal((await client.next("welcome")).count, 2, label);
      await b.client.next("peer_joined");
      await client.close();
      await b.client.next("peer_left");
    }
  }
  // An oversize frame is refused and that socket is closed with 1009; the room lives on.
  const big = await fresh();
  big.send({ type: "join", nick: "big" });
  await big.next("welcome");
  await b.client.next("peer_joined");
  big.send({ type: "chat", text: "x".repeat(70_000) });
  assert.equal((await big.next("error")).code, "too_large");
  assert.equal((await big.closed).code, 1009);
  assert.equal((await b.client.next("peer_left")).count, 1);
  b.client.send({ type: "chat", text: "still fine" });
  assert.equal((await b.client.next("chat")).text, "still fine");
  await b.client.close();
});

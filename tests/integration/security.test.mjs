// Limits, abuse, origins, resume and dead sockets, against the real built worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";

// Small budgets and short timeouts so each rule shows within a second or two.
const VARS = {
  CHAT_RATE_PER_SEC: "5",
  CHAT_RATE_BURST: "5",
  SIGNAL_RATE_PER_SEC: "20",
  SIGNAL_RATE_BURST: "40",
  REFUSAL_RATE_PER_SEC: "1",
  REFUSAL_RATE_BURST: "10",
  HEARTBEAT_TIMEOUT_MS: "1500",
  SWEEP_INTERVAL_MS: "500",
  RESUME_WINDOW_MS: "5000",
  ALLOWED_ORIGINS: "https://partner.example",
};

let worker;
before(async () => (worker = await startWorker({ vars: VARS })));
after(() => worker.stop());

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test("a cross-site Origin is refused with 403 before reaching a room", async () => {
  for (const path of [`/ws/rooms/${uniqueRoom()}`, "/ws/lobby"]) {
    const refused = await Client.connect(worker.wsUrl + path, { headers: { Origin: "https://evil.example" } }).then(
      () => assert.fail("accepted"),
      (error) => error,
    );
    assert.equal(refused.status, 403, path);
    assert.equal(refused.body.error, "forbidden_origin");
  }
  // The site's own origin and the allow-list pass.
  for (const origin of [worker.url, "https://partner.example"]) {
    const { client } = await worker.join(uniqueRoom(), "ok", {}, { Origin: origin });
    await client.close();
  }
});

test("chat over its budget is rate_limited, signaling has its own, and both recover", async () => {
  const room = uniqueRoom();
  const a = await worker.join(room, "ann");
  const b = await worker.join(room, "bob");
  await a.client.next("peer_joined");
  for (let i = 0; i < 8; i++) a.client.send({ type: "chat", text: `m${i}` });
  const seen = [];
  for (let i = 0; i < 8; i++) {
    const frame = await a.client.next();
    seen.push(frame.type === "error" ? frame.code : frame.type);
  }
  assert.deepEqual(seen.filter((s) => s === "chat").length, 5, seen.join());
  assert.deepEqual(seen.filter((s) => s === "rate_limited").length, 3, seen.join());
  for (let i = 0; i < 5; i++) assert.equal((await b.client.next("chat")).text, `m${i}`);
  await b.client.silent(200);

  // Chat is spent, yet a burst of ICE candidates still goes through.
  for (let i = 0; i < 30; i++) a.client.send({ type: "signal", to: b.id, data: { candidate: `c${i}` } });
  for (let i = 0; i < 30; i++) assert.equal((await b.client.next("signal")).data.candidate, `c${i}`);

  await sleep(1100);
  a.client.send({ type: "chat", text: "after a pause" });
  assert.equal((await b.client.next("chat")).text, "after a pause");
  await a.client.close();
  await b.client.close();
});

test("sustained abuse closes the socket with 4002, and only that socket", async () => {
  const room = uniqueRoom();
  const victim = await worker.join(room, "victim");
  const abuser = await worker.join(room, "abuser");
  await victim.client.next("peer_joined");
  for (let i = 0; i < 40; i++) abuser.client.send("not json");
  const closed = await abuser.client.closed;
  assert.equal(closed.code, 4002);
  const errors = abuser.client.frames.filter((f) => f.type === "error");
  assert.equal(errors.at(-1).code, "rate_limited");
  assert.equal((await victim.client.next("peer_left")).id, abuser.id);
  victim.client.send({ type: "chat", text: "still here" });
  assert.equal((await victim.client.next("chat")).text, "still here");
  await victim.client.close();
});

test("an oversize frame is refused with too_large", async () => {
  const { client } = await worker.join(uniqueRoom(), "big");
  client.send({ type: "chat", text: "x".repeat(66_000) });
  assert.equal((await client.next("error")).code, "too_large");
  assert.equal((await client.closed).code, 1009);
});

test("resume over a live socket: same id, the old socket is replaced, the others see nothing", async () => {
  const room = uniqueRoom();
  const a = await worker.join(room, "ann");
  const b = await worker.join(room, "bob");
  await a.client.next("peer_joined");
  const again = await worker.join(room, "ann", { resume: a.welcome.resume });
  assert.equal(again.id, a.id);
  assert.equal(again.welcome.resumed, true);
  assert.deepEqual(again.welcome.peers.map((p) => p.id), [b.id]);
  assert.notEqual(again.welcome.resume, a.welcome.resume, "tokens are single use");
  assert.equal((await a.client.closed).code, 4004);
  await b.client.silent(300);
  // Signaling to the resumed id reaches the new socket.
  b.client.send({ type: "signal", to: a.id, data: { x: 1 } });
  assert.equal((await again.client.next("signal")).from, b.id);
  await again.client.close();
  await b.client.close();
});

test("resume after a lost connection: the same id comes back with one peer_left/peer_joined pair", async () => {
  const room = uniqueRoom();
  const a = await worker.join(room, "ann");
  const b = await worker.join(room, "bob");
  await a.client.next("peer_joined");
  await a.client.kill();
  assert.equal((await b.client.next("peer_left")).id, a.id);
  const back = await worker.join(room, "ann", { resume: a.welcome.resume });
  assert.equal(back.id, a.id);
  assert.equal(back.welcome.resumed, true);
  const joined = await b.client.next("peer_joined");
  assert.equal(joined.peer.id, a.id);
  assert.equal(joined.peer.nick, "ann");
  await b.client.silent(200);
  // A used token does not work twice.
  await back.client.kill();
  await b.client.next("peer_left");
  const third = await worker.join(room, "ann", { resume: a.welcome.resume });
  assert.notEqual(third.id, a.id);
  for (const c of [b, third]) await c.client.close();
});

test("resume tokens from another room, or forged, give a fresh id", async () => {
  const roomA = uniqueRoom();
  const roomB = uniqueRoom();
  const a = await worker.join(roomA, "ann");
  const keepB = await worker.join(roomB, "keeper");
  const inB = await worker.join(roomB, "ann", { resume: a.welcome.resume });
  assert.notEqual(inB.id, a.id);
  assert.equal(inB.welcome.resumed, false);
  const forged = await worker.join(roomA, "eve", { resume: "0".repeat(32) });
  assert.notEqual(forged.id, a.id);
  assert.equal(forged.welcome.resumed, false);
  assert.equal(a.client.closeInfo, undefined, "the real owner keeps its socket");
  for (const c of [a, keepB, inB, forged]) await c.client.close();
});

test("a client that vanished without a close is removed within the heartbeat timeout", async () => {
  const room = uniqueRoom();
  const alive = await worker.join(room, "alive");
  const ghost = await worker.join(room, "ghost");
  await alive.client.next("peer_joined");
  const stopHeartbeat = alive.client.startHeartbeat(200);
  const started = Date.now();
  // The ghost keeps its TCP connection open but sends nothing, not even pings.
  const left = await alive.client.next("peer_left", 10_000);
  const elapsed = Date.now() - started;
  assert.equal(left.id, ghost.id);
  assert.equal(left.count, 1);
  // Documented bound: heartbeat timeout + one sweep interval (+ scheduling slack).
  assert.ok(elapsed < 1500 + 500 + 1500, `removed after ${elapsed} ms`);
  assert.equal((await ghost.client.closed).code, 4005);
  assert.equal(alive.client.closeInfo, undefined, "a pinging client is kept");
  stopHeartbeat();
  await alive.client.close();
});

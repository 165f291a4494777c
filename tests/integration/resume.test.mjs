// Lost connections, from both ends: a client coming back with its resume token (over a live
// socket, after a dropped one, or with a token that is not its own), and a client that vanished
// without a close, which the room's sweep removes. Against the real built worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { chatBarrier } from "../support/client.mjs";

// Short timeouts so a vanished client is removed within about two seconds (the default takes
// 75), and a resume window of 5 s, which every resume here is well within.
const VARS = { HEARTBEAT_TIMEOUT_MS: "1500", SWEEP_INTERVAL_MS: "500", RESUME_WINDOW_MS: "5000" };

let worker;
before(async () => (worker = await startWorker({ vars: VARS })));
after(() => worker.stop());

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
  // No peer_left or peer_joined for the takeover: a chat from the new socket is b's next frame.
  await chatBarrier(again.client, [again.client, b.client]);
  // Signaling to the resumed id reaches the new socket.
  b.client.send({ type: "signal", to: a.id, data: { x: 1 } });
  assert.equal((await again.client.next("signal")).from, b.id);
  await again.client.close();
  await b.client.close();
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
  await chatBarrier(back.client, [back.client, b.client]);
  // A used token does not work twice.
  await back.client.kill();
  await b.client.next("peer_left");
  const third = await worker.join(room, "ann", { resume: a.welcome.resume });
  assert.notEqual(third.id, a.id);
  for (const c of [b, third]) await c.client.close();
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

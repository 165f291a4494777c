// The room's chat history is bounded: a late joiner gets exactly the last CHAT_HISTORY
// messages, however many were sent, before and after the room was evicted and woken (lines
// are written to storage in batches, and the eviction waits for the pending one).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";

const KEEP = 3;
let worker;
before(async () => (worker = await startWorker({ vars: { CHAT_HISTORY: String(KEEP), CHAT_RATE_BURST: "1000" } })));
after(() => worker.stop());

async function chat(client, from, to) {
  for (let i = from; i < to; i++) {
    client.send({ type: "chat", text: `m${i}` });
    await client.next("chat");
  }
}

test("a late joiner gets the last CHAT_HISTORY messages, before and after a wake-up", async () => {
  const room = `history-${process.pid}`;
  const a = await worker.join(room, "ann");
  await chat(a.client, 0, 40);
  const b = await worker.join(room, "bob");
  assert.deepEqual(b.welcome.history.map((h) => h.text), ["m37", "m38", "m39"]);
  await a.client.next("peer_joined");

  // Right after the last line: the eviction waits for the pending batch to be written.
  await worker.evictRoom(room);
  const d = await worker.join(room, "dee");
  assert.deepEqual(d.welcome.history.map((h) => h.text), ["m37", "m38", "m39"], "written before the eviction");
  await a.client.next("peer_joined");
  await chat(a.client, 40, 45);
  const c = await worker.join(room, "cy");
  assert.deepEqual(c.welcome.history.map((h) => h.text), ["m42", "m43", "m44"]);
  for (const who of [a, b, c, d]) await who.client.close();
});

// Limits, abuse and origins, against the real built worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";
import { sleep } from "../support/wait.mjs";

// Small budgets so each limit shows within a second or two, and one partner origin besides the
// site's own.
const VARS = {
  CHAT_RATE_PER_SEC: "5",
  CHAT_RATE_BURST: "5",
  SIGNAL_RATE_PER_SEC: "20",
  SIGNAL_RATE_BURST: "40",
  REFUSAL_RATE_PER_SEC: "1",
  REFUSAL_RATE_BURST: "10",
  ALLOWED_ORIGINS: "https://partner.example",
};

let worker;
before(async () => (worker = await startWorker({ vars: VARS })));
after(() => worker.stop());

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

  // Chat is spent, yet a burst of ICE candidates still goes through. The first is the barrier
  // for b: no refused chat reached it before.
  for (let i = 0; i < 30; i++) a.client.send({ type: "signal", to: b.id, data: { candidate: `c${i}` } });
  assert.equal((await b.client.expectNothingBefore("signal")).data.candidate, "c0");
  for (let i = 1; i < 30; i++) assert.equal((await b.client.next("signal")).data.candidate, `c${i}`);

  await sleep(1100);
  a.client.send({ type: "chat", text: "after a pause" });
  assert.equal((await b.client.next("chat")).text, "after a pause");
  await a.client.close();
  await b.client.close();
});

test("sustained abuse closes the socket promptly with 4002, and only that socket", async () => {
  const room = uniqueRoom();
  const victim = await worker.join(room, "victim");
  const abuser = await worker.join(room, "abuser");
  await victim.client.next("peer_joined");
  for (let i = 0; i < 40; i++) abuser.client.send("not json");
  // Closed by the refusal itself, within moments: not by a heartbeat timeout (4005, which
  // takes HEARTBEAT_TIMEOUT_MS), nor anything else.
  const closed = await Promise.race([
    abuser.client.closed,
    sleep(3000).then(() => assert.fail("the abuser was not closed within 3 s")),
  ]);
  assert.equal(closed.code, 4002);
  // The refusal budget (a burst of 10, refilling at 1/s) answers bad_message until it runs out,
  // then rate_limited with the close. The frames still on their way get nothing: the room is
  // done with that socket.
  const codes = abuser.client.frames.map((f) => f.code);
  assert.match(codes.join(), /^(bad_message,){10,11}rate_limited$/);
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

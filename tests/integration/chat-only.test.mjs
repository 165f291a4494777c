// Chat-only participation: someone whose browser cannot make calls joins with
// `"webrtc": false`. The others learn it from `welcome` and `peer_joined`, the room keeps it
// through an eviction and a resume, and refuses signals to or from that person. Against the
// real built worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client, chatBarrier } from "../support/client.mjs";

let worker;
before(async () => (worker = await startWorker()));
after(() => worker.stop());

/** What `peers` (a welcome's list) says of each person: whether they can be called, by id. */
const webrtcOf = (peers) => Object.fromEntries(peers.map((p) => [p.id, p.webrtc]));

/** A signal from `from` to `to` is refused with `chat_only`, and `from` can still chat. */
async function signalRefused(from, to) {
  from.client.send({ type: "signal", to: to.id, data: { candidate: "x" } });
  const error = await from.client.next("error");
  assert.equal(error.code, "chat_only");
  assert.match(error.message, /chat-only/);
  await chatBarrier(from.client, [from.client, to.client]);
}

test("the others learn from welcome and peer_joined who is chat-only, and nobody signals with them", async () => {
  const room = uniqueRoom("chat-only");
  const ann = await worker.join(room, "ann");
  const bob = await worker.join(room, "bob", { webrtc: false });
  assert.deepEqual(webrtcOf(bob.welcome.peers), { [ann.id]: true });
  const joined = await ann.client.next("peer_joined");
  assert.deepEqual(
    [joined.peer.id, joined.peer.webrtc, joined.peer.muted, joined.peer.camera, joined.peer.screen],
    [bob.id, false, true, false, false],
  );
  const cy = await worker.join(room, "cy", { webrtc: true });
  assert.deepEqual(webrtcOf(cy.welcome.peers), { [ann.id]: true, [bob.id]: false });
  for (const other of [ann, bob]) assert.equal((await other.client.next("peer_joined")).peer.webrtc, true);

  await signalRefused(ann, bob);
  await signalRefused(bob, ann);
  // Between the two who can call, signals flow as ever.
  cy.client.send({ type: "signal", to: ann.id, data: { candidate: "x" } });
  assert.deepEqual(await ann.client.next("signal"), { type: "signal", from: cy.id, data: { candidate: "x" } });
  for (const who of [ann, bob, cy]) await who.client.close();
});

test("an evicted room wakes up knowing who is chat-only", async () => {
  const room = uniqueRoom("chat-only-sleepy");
  const ann = await worker.join(room, "ann");
  const bob = await worker.join(room, "bob", { webrtc: false });
  await ann.client.next("peer_joined");
  await worker.evictRoom(room);
  const cy = await worker.join(room, "cy");
  assert.deepEqual(webrtcOf(cy.welcome.peers), { [ann.id]: true, [bob.id]: false });
  for (const other of [ann, bob]) await other.client.next("peer_joined");
  await signalRefused(cy, bob);
  for (const who of [ann, bob, cy]) assert.equal(who.client.closeInfo, undefined, "nobody was disconnected");
  for (const who of [ann, bob, cy]) await who.client.close();
});

test("someone chat-only who resumes is chat-only again, whatever the new join says", async () => {
  const room = uniqueRoom("chat-only-resume");
  const ann = await worker.join(room, "ann");
  const bob = await worker.join(room, "bob", { webrtc: false });
  await ann.client.next("peer_joined");
  // After a lost connection: the one peer_joined says so.
  await bob.client.kill();
  assert.equal((await ann.client.next("peer_left", 10_000)).id, bob.id);
  const back = await worker.join(room, "bob", { resume: bob.welcome.resume });
  assert.equal(back.welcome.resumed, true);
  const rejoined = await ann.client.next("peer_joined");
  assert.deepEqual([rejoined.peer.id, rejoined.peer.webrtc], [bob.id, false]);
  // Over the live socket, unseen by the others.
  const again = await worker.join(room, "bob", { resume: back.welcome.resume, webrtc: true });
  assert.equal(again.id, bob.id);
  await back.client.closed;
  await signalRefused(ann, again);
  for (const who of [ann, again]) await who.client.close();
});

test("a webrtc that is not a boolean is refused with bad_message; the socket stays open and can join", async () => {
  const room = uniqueRoom("chat-only-bad");
  const client = await Client.connect(`${worker.wsUrl}/ws/rooms/${room}`);
  for (const webrtc of ["no", 0, null, [], {}]) {
    client.send({ type: "join", nick: "ann", webrtc });
    const error = await client.next("error");
    assert.equal(error.code, "bad_message", JSON.stringify(webrtc));
    assert.match(error.message, /`webrtc` must be true or false/, JSON.stringify(webrtc));
  }
  client.send({ type: "join", nick: "ann", webrtc: false });
  assert.equal((await client.next("welcome")).count, 1);
  assert.equal(client.closeInfo, undefined);
  await client.close();
});

// The operator API over HTTP, against the real built worker (Miniflare): the token rules, the
// listing of every room with its participants, and removing a participant.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";
import { sleep, until } from "../support/wait.mjs";

const TOKEN = "admin-test-token-0123456789abcdef";
let worker;
before(async () => (worker = await startWorker({ vars: { ADMIN_TOKEN: TOKEN, LIST_AFTER_SECONDS: "0" } })));
after(() => worker.stop());

/**
 * An admin request; `token` null sends no Authorization header. One with a body closes its
 * connection: workerd drops a keep-alive connection whose request body the worker answered
 * without reading (a refusal), and fetch may have sent the next request on it already, which
 * then fails with ECONNRESET (cloudflare/workerd#1741).
 */
function admin(path, { token = TOKEN, method = "GET", body, base = worker.url } = {}) {
  const headers = token === null ? {} : { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers.Connection = "close";
  return fetch(`${base}/api/admin${path}`, { method, headers, body: body && JSON.stringify(body) });
}

/** Asserts a refusal: `status`, and the JSON error body `{error: code, message}`. */
async function assertError(res, status, code, what = `${status} ${code}`) {
  assert.equal(res.status, status, what);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, what);
  const body = await res.json();
  assert.deepEqual(Object.keys(body).sort(), ["error", "message"], what);
  assert.equal(body.error, code, what);
  assert.ok(typeof body.message === "string" && body.message.length > 0, what);
  return body;
}

const kick = (room, body, options) =>
  admin(`/rooms/${encodeURIComponent(room)}/kick`, { method: "POST", body, ...options });

async function listing() {
  const res = await admin("/rooms");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  return res.json();
}

/** Polls the listing until `test(rooms)` holds. */
async function listingUntil(test, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rooms } = await listing();
    if (test(rooms)) return rooms;
    if (Date.now() > deadline) throw new Error(`listing never matched: ${JSON.stringify(rooms)}`);
    await sleep(100);
  }
}

test("without a configured token every admin path is a plain 404", async () => {
  const bare = await startWorker();
  try {
    const requests = [
      ["/rooms", {}],
      ["/rooms", { token: "anything" }],
      ["/rooms", { token: null }],
      ["/rooms/a/kick", { method: "POST", body: { id: "x" }, token: "" }],
      ["/nope", { token: null }],
    ];
    for (const [path, options] of requests) {
      const res = await admin(path, { ...options, base: bare.url });
      assert.deepEqual(await assertError(res, 404, "not_found", path), { error: "not_found", message: "no such path" });
    }
  } finally {
    await bare.stop();
  }
});

test("a missing or wrong token is 401 on every admin path", async () => {
  const wrong = [null, "", "wrong", TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()];
  for (const token of wrong) {
    for (const [path, options] of [
      ["/rooms", {}],
      ["/rooms/a/kick", { method: "POST", body: { id: "x" } }],
      ["/nope", {}],
    ]) {
      const res = await admin(path, { ...options, token });
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
      await assertError(res, 401, "unauthorized", `${path} with ${token}`);
    }
  }
  const basic = await fetch(`${worker.url}/api/admin/rooms`, { headers: { Authorization: `Basic ${TOKEN}` } });
  assert.equal(basic.headers.get("www-authenticate"), "Bearer");
  await assertError(basic, 401, "unauthorized", "Basic instead of Bearer");
});

test("with the token: unknown paths 404, wrong methods 405, bad names and bodies 400", async () => {
  await assertError(await admin("/nope"), 404, "not_found", "/nope");
  await assertError(await admin("/rooms/a/b"), 404, "not_found", "/rooms/a/b");
  await assertError(await admin("/rooms?offset=-1"), 400, "bad_request", "a negative offset");
  await assertError(await admin("/rooms/a%3Cb"), 400, "bad_room_name", "a bad name to look up");
  await assertError(await admin("/rooms", { method: "POST" }), 405, "method_not_allowed", "POST /rooms");
  await assertError(await admin("/rooms/a/kick"), 405, "method_not_allowed", "GET /rooms/a/kick");
  await assertError(await kick("a b", { id: "x" }), 400, "bad_room_name");
  for (const body of [undefined, {}, { id: "" }, { id: 5 }]) {
    await assertError(await kick("a", body), 400, "bad_request", JSON.stringify(body));
  }
});

test("the listing shows every room, private ones too, with its participants", async () => {
  const open = uniqueRoom("open");
  const secret = uniqueRoom("secret");
  const before = Date.now();
  const a = await worker.join(open, "ann");
  const b = await worker.join(open, "bob");
  b.client.send({ type: "state", muted: true, camera: false });
  await a.client.next("peer_joined");
  await a.client.next("state");
  const s = await worker.join(secret, "sam", { private: true });

  const rooms = await listingUntil((rooms) => rooms.some((r) => r.name === open && r.count === 2) && rooms.some((r) => r.name === secret));
  const openRoom = rooms.find((r) => r.name === open);
  assert.equal(openRoom.private, false);
  const peers = Object.fromEntries(openRoom.peers.map((p) => [p.nick, p]));
  assert.deepEqual(Object.keys(peers).sort(), ["ann", "bob"]);
  assert.equal(peers.ann.id, a.id);
  assert.deepEqual([peers.bob.id, peers.bob.muted, peers.bob.camera, peers.bob.screen], [b.id, true, false, false]);
  assert.deepEqual([peers.ann.muted, peers.ann.camera, peers.ann.screen], [false, true, false]);
  for (const p of openRoom.peers) assert.ok(p.joinedAt >= before - 1000 && p.joinedAt <= Date.now() + 1000);
  const secretRoom = rooms.find((r) => r.name === secret);
  assert.equal(secretRoom.private, true);
  assert.deepEqual(secretRoom.peers.map((p) => [p.id, p.nick]), [[s.id, "sam"]]);
  // Largest first.
  assert.ok(rooms.findIndex((r) => r.name === open) < rooms.findIndex((r) => r.name === secret));
  // ...while the public list does not show the private room (polled: /api/rooms is cached
  // for up to 2 s).
  const publicRooms = await until(
    async () => {
      const { rooms } = await (await fetch(`${worker.url}/api/rooms`)).json();
      return rooms.some((r) => r.name === open) && rooms;
    },
    { ms: 6000, what: "/api/rooms to list the open room" },
  );
  assert.ok(!publicRooms.some((r) => r.name === secret));

  await Promise.all([a.client.close(), b.client.close(), s.client.close()]);
  await listingUntil((rooms) => !rooms.some((r) => r.name === open || r.name === secret));
});

test("removing a participant closes that socket with 4003 and updates the others and the lobby", async () => {
  const room = uniqueRoom("kick");
  const lobby = await Client.connect(`${worker.wsUrl}/ws/lobby`);
  let frame = await lobby.next("rooms");
  const a = await worker.join(room, "ann");
  const b = await worker.join(room, "bob");
  const c = await worker.join(room, "cy");
  for (const n of [2, 3]) assert.equal((await a.client.next("peer_joined")).count, n);
  assert.equal((await b.client.next("peer_joined")).count, 3);
  const lobbyCount = () => frame.rooms.find((r) => r.name === room)?.count ?? 0;
  while (lobbyCount() !== 3) frame = await lobby.next("rooms");

  const res = await kick(room, { id: b.id });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });

  const closed = await b.client.closed;
  assert.equal(closed.code, 4003);
  for (const other of [a, c]) {
    const left = await other.client.next("peer_left");
    assert.deepEqual([left.id, left.nick, left.count], [b.id, "bob", 2]);
  }
  while (lobbyCount() !== 2) frame = await lobby.next("rooms");
  const rooms = await listingUntil((rooms) => rooms.find((r) => r.name === room)?.count === 2);
  assert.deepEqual(rooms.find((r) => r.name === room).peers.map((p) => p.id).sort(), [a.id, c.id].sort());

  // The same id again, or one that never was: 404 from the room.
  for (const id of [b.id, "0000000000000000"]) {
    await assertError(await kick(room, { id }), 404, "unknown_peer", id);
  }

  await Promise.all([a.client.close(), c.client.close()]);
  while (lobbyCount() !== 0) frame = await lobby.next("rooms");
  await lobby.close();
});

test("the operator finds any room by name and pages through all of them (finding 4)", async () => {
  // 105 rooms with one person each: more than a page. One of them private, and the smallest
  // of all is found by name whatever the pages show.
  const prefix = uniqueRoom("page");
  const people = [];
  for (let i = 0; i < 105; i++) people.push(await worker.join(`${prefix}-${i}`, `p${i}`, { private: i === 7 }));
  const ours = (rooms) => rooms.filter((r) => r.name.startsWith(`${prefix}-`));
  const first = await until(async () => {
    const { body } = await adminJson("/rooms");
    return body.total >= 105 && body;
  }, { what: "the lobby to know 105 rooms" });
  assert.equal(first.rooms.length, 100);
  assert.equal(first.offset, 0);
  assert.equal(first.nextOffset, 100);
  const seen = new Set(ours(first.rooms).map((r) => r.name));
  for (let offset = first.nextOffset; offset !== null; ) {
    const { body } = await adminJson(`/rooms?offset=${offset}`);
    assert.equal(body.offset, offset);
    for (const room of ours(body.rooms)) seen.add(room.name);
    offset = body.nextOffset;
  }
  assert.equal(seen.size, 105, "every room is on some page, the private one too");

  const secret = `${prefix}-7`;
  const { status, body } = await adminJson(`/rooms/${encodeURIComponent(secret)}`);
  assert.equal(status, 200);
  assert.deepEqual([body.name, body.private, body.count], [secret, true, 1]);
  assert.deepEqual(body.peers.map((p) => [p.id, p.nick]), [[people[7].id, "p7"]]);
  const nobody = await adminJson(`/rooms/${uniqueRoom("nobody")}`);
  assert.deepEqual([nobody.status, nobody.body.count, nobody.body.peers], [200, 0, []]);
  await Promise.all(people.map((p) => p.client.close()));
});

async function adminJson(path) {
  const res = await admin(path);
  return { status: res.status, body: await res.json() };
}

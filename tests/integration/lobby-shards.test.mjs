// The lobby spread out (LOBBY_SHARDS=3, LOBBY_FANOUT=3) in the real built worker (Miniflare):
// rooms report to the shard their name hashes to, the hub merges the shards' lists, fan-out
// objects push the merged list to their own sockets; every kind of object can be evicted
// without losing anything; each shard repairs its own part; the operator sees every shard.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";
import { eventually } from "../support/wait.mjs";
import { HUB_NAME, shardOf, shardName, fanoutName, lobbyObjects, lobbyStub, shardStubs, report } from "../support/lobby.mjs";

const SHARDS = 3;
const FANOUT = 3;
const ADMIN_TOKEN = "lobby-shards-test-token";
let worker;
before(
  async () =>
    (worker = await startWorker({
      vars: { ADMIN_TOKEN, LOBBY_SHARDS: String(SHARDS), LOBBY_FANOUT: String(FANOUT), LOBBY_CHECK_SECONDS: "1", LIST_AFTER_SECONDS: "0" },
    })),
);
after(() => worker.stop());

const countIn = (frame, name) => frame.rooms.find((r) => r.name === name)?.count ?? 0;

/** A lobby socket that keeps the last `rooms` frame. */
async function openLobby() {
  const client = await Client.connect(`${worker.wsUrl}/ws/lobby`);
  const view = { client, last: await client.next("rooms") };
  view.until = async (check, timeoutMs = 6000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check(view.last)) view.last = await client.next("rooms", Math.max(1, deadline - Date.now()));
  };
  return view;
}

/** Room names with this prefix, one or more per shard (found by hashing, as the worker does). */
function namesOnEveryShard(prefix, perShard = 1) {
  const names = [];
  const per = Array(SHARDS).fill(0);
  for (let i = 0; per.some((n) => n < perShard); i++) {
    const name = `${prefix}-${i}`;
    const shard = shardOf(name, SHARDS);
    if (per[shard] < perShard) (per[shard]++, names.push(name));
  }
  return names;
}

const shardRooms = async (i) => (await (await (await lobbyStub(worker.mf, "LOBBY", shardName(i))).fetch("https://lobby/all")).json()).rooms;
const socketsOn = async (i) => (await (await (await lobbyStub(worker.mf, "LOBBY_SOCKETS", fanoutName(i))).fetch("https://lobby/stats")).json()).sockets;
const publicRooms = async (prefix) => {
  const { rooms } = await (await fetch(`${worker.url}/api/rooms`)).json();
  return Object.fromEntries(rooms.filter((r) => r.name.startsWith(prefix)).map((r) => [r.name, r.count]));
};

test("rooms report to their shards, the merged list reaches sockets on every fan-out object, the operator sees all", async () => {
  const prefix = uniqueRoom("spread");
  const names = namesOnEveryShard(prefix);
  const views = [];
  // Sockets go to random fan-out objects: open until every one holds some.
  for (let i = 0; i < 60; i++) {
    views.push(await openLobby());
    const held = await Promise.all(Array.from({ length: FANOUT }, (_, j) => socketsOn(j)));
    if (views.length >= 6 && held.every((n) => n > 0)) break;
  }
  const held = await Promise.all(Array.from({ length: FANOUT }, (_, j) => socketsOn(j)));
  assert.ok(held.every((n) => n > 0), `sockets per fan-out object: ${held}`);

  const people = [];
  for (const [i, name] of names.entries()) for (let n = 0; n <= i; n++) people.push(await worker.join(name, `p${n}`));
  const expected = Object.fromEntries(names.map((name, i) => [name, i + 1]));
  for (const view of views) await view.until((f) => names.every((name) => countIn(f, name) === expected[name]));

  // Each shard holds exactly its own rooms.
  for (let i = 0; i < SHARDS; i++) {
    const mine = (await shardRooms(i)).filter((r) => r.name.startsWith(prefix)).map((r) => r.name);
    assert.deepEqual(mine, names.filter((name) => shardOf(name, SHARDS) === i), `shard ${i}`);
  }
  await eventually(() => publicRooms(prefix), expected);
  const res = await fetch(`${worker.url}/api/admin/rooms`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const listed = (await res.json()).rooms.filter((r) => r.name.startsWith(prefix));
  assert.deepEqual(Object.fromEntries(listed.map((r) => [r.name, r.peers.length])), expected);

  await Promise.all(people.map((p) => p.client.close()));
  for (const view of views) await view.until((f) => names.every((name) => countIn(f, name) === 0));
  await Promise.all(views.map((v) => v.client.close()));
});

test("evicting every shard, the hub and every fan-out object at once loses nothing", async () => {
  const prefix = uniqueRoom("evict");
  const names = namesOnEveryShard(prefix);
  const views = [await openLobby(), await openLobby(), await openLobby()];
  const people = await Promise.all(names.map((name) => worker.join(name, "ann")));
  for (const view of views) await view.until((f) => names.every((name) => countIn(f, name) === 1));

  await worker.evictLobby();
  // A new page gets the whole list from its fan-out object's storage.
  const late = await openLobby();
  assert.deepEqual(names.map((name) => countIn(late.last, name)), names.map(() => 1));
  // A change on one shard reaches every hibernated socket, and the woken hub still has the
  // other shards' lists.
  const second = await worker.join(names[0], "bob");
  for (const view of [...views, late]) await view.until((f) => countIn(f, names[0]) === 2 && names.slice(1).every((name) => countIn(f, name) === 1));

  await Promise.all([...people, second].map((p) => p.client.close()));
  for (const view of views) await view.until((f) => names.every((name) => countIn(f, name) === 0));
  await Promise.all([...views, late].map((v) => v.client.close()));
});

test("each kind of lobby object evicted on its own loses nothing", async () => {
  const prefix = uniqueRoom("evict-one");
  const names = namesOnEveryShard(prefix);
  const views = [await openLobby(), await openLobby(), await openLobby()];
  const people = await Promise.all(names.map((name) => worker.join(name, "ann")));
  const counts = names.map(() => 1);
  const showsCounts = (f) => names.every((name, i) => countIn(f, name) === counts[i]);
  for (const view of views) await view.until(showsCounts);

  // One object at a time, then a change on a room of another shard: every page sees it, and a
  // new page gets the whole list.
  const objects = lobbyObjects({ shards: SHARDS, fanouts: FANOUT });
  for (const [step, [className, name]] of objects.entries()) {
    await worker.evict(className, name);
    const room = step % names.length;
    people.push(await worker.join(names[room], `p${step}`));
    counts[room]++;
    for (const view of views) await view.until(showsCounts);
    const late = await openLobby();
    await late.until(showsCounts);
    views.push(late);
  }
  assert.deepEqual(
    objects.map(([className]) => className),
    [...Array(SHARDS).fill("Lobby"), "LobbyHub", ...Array(FANOUT).fill("LobbyFanout")],
  );

  await Promise.all(people.map((p) => p.client.close()));
  for (const view of views) await view.until((f) => names.every((name) => countIn(f, name) === 0));
  await Promise.all(views.map((v) => v.client.close()));
});

test("each shard repairs its own lost and stale reports", async () => {
  const prefix = uniqueRoom("repair");
  const [real, ...ghosts] = namesOnEveryShard(prefix);
  const stubs = await shardStubs(worker.mf, SHARDS);
  const view = await openLobby();
  const a = await worker.join(real, "ann");
  await view.until((f) => countIn(f, real) === 1);
  // A wrong count on one shard, rooms nobody is in on the others.
  assert.equal((await report(stubs, { name: real, count: 5, private: false })).status, 204);
  for (const ghost of ghosts) assert.equal((await report(stubs, { name: ghost, count: 4, private: false })).status, 204);
  await view.until((f) => countIn(f, real) === 5 && ghosts.every((g) => countIn(f, g) === 4));
  // Within a check interval (1 s here) every shard has asked its rooms.
  await view.until((f) => countIn(f, real) === 1 && ghosts.every((g) => countIn(f, g) === 0), 5000);
  await a.client.close();
  await view.until((f) => countIn(f, real) === 0);
  await view.client.close();
});

test("the merged public list is the 100 largest rooms of all shards", async () => {
  // A worker of its own (default check interval), so these made-up rooms stay put.
  const own = await startWorker({ vars: { LOBBY_SHARDS: String(SHARDS), LOBBY_FANOUT: String(FANOUT), LIST_AFTER_SECONDS: "0" } });
  try {
    const stubs = await shardStubs(own.mf, SHARDS);
    for (let i = 1; i <= 130; i++) {
      const res = await report(stubs, { name: `flood-${i}`, count: i, private: i % 10 === 0 });
      assert.equal(res.status, 204);
    }
    const perShard = new Set(Array.from({ length: 130 }, (_, i) => shardOf(`flood-${i + 1}`, SHARDS)));
    assert.equal(perShard.size, SHARDS, "the rooms spread over every shard");
    const expected = [];
    for (let i = 130; expected.length < 100; i--) if (i % 10 !== 0) expected.push({ name: `flood-${i}`, count: i, locked: false });
    await eventually(async () => (await (await fetch(`${own.url}/api/rooms`)).json()).rooms, expected);
    const res = await fetch(`${own.url}/api/rooms`);
    assert.equal(res.headers.get("cache-control"), "public, max-age=2");
  } finally {
    await own.stop();
  }
});

test("/api/rooms comes from the edge cache for 2 s, whatever the query string", async (t) => {
  // A worker of its own: its first /api/rooms is a miss, so the copy's age is known.
  const own = await startWorker({ vars: { LOBBY_SHARDS: String(SHARDS), LOBBY_FANOUT: String(FANOUT), LIST_AFTER_SECONDS: "0" } });
  try {
    const rooms = async (query = "") => (await (await fetch(`${own.url}/api/rooms${query}`)).json()).rooms;
    const cachedAt = Date.now();
    const first = await fetch(`${own.url}/api/rooms`);
    assert.equal(first.headers.get("cache-control"), "public, max-age=2");
    assert.deepEqual((await first.json()).rooms, []);

    const stubs = await shardStubs(own.mf, SHARDS);
    assert.equal((await report(stubs, { name: "cached", count: 2, private: false })).status, 204);
    const client = await Client.connect(`${own.wsUrl}/ws/lobby`);
    while (countIn(await client.next("rooms"), "cached") !== 2);
    // The sockets have the change; the edge's copy does not, and no query string gets past it.
    const age = Date.now() - cachedAt;
    if (age < 1800) {
      assert.deepEqual(await rooms(), []);
      assert.deepEqual(await rooms(`?fresh=${Date.now()}`), []);
    } else {
      t.diagnostic(`the change took ${age} ms to reach a socket: the copy's expiry is not checked`);
    }
    // Once the copy has expired, the next request fetches and caches the new list.
    await eventually(() => rooms(), [{ name: "cached", count: 2, locked: false }], 5000);
    await client.close();
  } finally {
    await own.stop();
  }
});

test("the lobby's objects answer bad input with a JSON error, and the hub merges only the layout's shards", async () => {
  const hub = await lobbyStub(worker.mf, "LOBBY_HUB", HUB_NAME);
  const fanout = await lobbyStub(worker.mf, "LOBBY_SOCKETS", fanoutName(0));
  const refusals = [
    [hub, "https://lobby-hub/shard", "POST", "not json", 400, "bad_list"],
    [hub, "https://lobby-hub/shard", "POST", JSON.stringify({ shard: "lobby", rooms: [{ name: "x" }] }), 400, "bad_list"],
    [hub, "https://lobby-hub/elsewhere", "GET", undefined, 404, "not_found"],
    [fanout, "https://lobby-fanout/rooms", "POST", JSON.stringify({ rooms: 1 }), 400, "bad_list"],
    [fanout, "https://lobby-fanout/elsewhere", "GET", undefined, 404, "not_found"],
  ];
  for (const [stub, url, method, body, status, error] of refusals) {
    const res = await stub.fetch(url, { method, body });
    assert.equal(res.status, status, `${method} ${url}`);
    assert.equal((await res.json()).error, error, `${method} ${url}`);
  }

  // A list from a shard beyond the layout (left over from a larger one) is kept out.
  const intruder = uniqueRoom("leftover");
  const res = await hub.fetch("https://lobby-hub/shard", {
    method: "POST",
    body: JSON.stringify({ shard: shardName(SHARDS), rooms: [{ name: intruder, count: 999, locked: false }] }),
  });
  assert.equal(res.status, 204);
  const prefix = uniqueRoom("after-leftover");
  const view = await openLobby();
  const ann = await worker.join(prefix, "ann");
  await view.until((f) => countIn(f, prefix) === 1);
  assert.equal(countIn(view.last, intruder), 0);
  const merged = await (await hub.fetch("https://lobby-hub/rooms")).json();
  assert.ok(!merged.some((r) => r.name === intruder));
  await ann.client.close();
  await view.client.close();
});

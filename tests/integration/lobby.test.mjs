// The lobby over real websockets: the public room list on /ws/lobby and /api/rooms, fed by
// real rooms in the real built worker (Miniflare), in the default layout (one shard, one
// fan-out object; lobby-shards.test.mjs has more). /api/rooms comes through the edge cache
// (2 s), so what it shows is polled for rather than read once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";
import { eventually, sleep } from "../support/wait.mjs";

const ADMIN_TOKEN = "lobby-test-token";
let worker;
// Rooms not heard from for a second are checked: lost reports converge within the tests.
before(async () => (worker = await startWorker({ vars: { ADMIN_TOKEN, LOBBY_CHECK_SECONDS: "1", LIST_AFTER_SECONDS: "0" } })));
after(() => worker.stop());

/** A lobby socket that keeps every `rooms` frame it got, with its arrival time. */
class LobbyView {
  static async open(url = worker.wsUrl) {
    const view = new LobbyView(await Client.connect(`${url}/ws/lobby`));
    await view.read();
    return view;
  }

  constructor(client) {
    this.client = client;
    this.frames = [];
  }

  async read(timeoutMs) {
    const frame = await this.client.next("rooms", timeoutMs);
    this.frames.push({ ...frame, at: Date.now() });
    return frame;
  }

  get last() {
    return this.frames.at(-1);
  }

  /** Reads frames until `test(last frame)` holds; fails after `timeoutMs`. */
  async until(test, timeoutMs = 6000) {
    const deadline = Date.now() + timeoutMs;
    while (!test(this.last)) await this.read(Math.max(1, deadline - Date.now()));
  }

  /** Reads frames until room `name` shows `count` (0: absent). */
  untilCount(name, count, timeoutMs) {
    return this.until((frame) => countIn(frame, name) === count, timeoutMs);
  }

  /**
   * Proves that no frame came after the last one read, with a barrier rather than a pause: a
   * fresh public room is opened, and the very next frame must be the one listing it. Then it
   * is closed again, and its frames read, so that later tests see the list without it.
   */
  async expectNothingBeforeBeacon() {
    const name = uniqueRoom("beacon");
    const beacon = await worker.join(name, "beacon");
    const frame = await this.read();
    assert.equal(countIn(frame, name), 1, `expected the ${name} barrier next, got ${JSON.stringify(frame.rooms)}`);
    await beacon.client.close();
    await this.untilCount(name, 0);
  }

  close() {
    return this.client.close();
  }
}

const countIn = (list, name) => list.rooms.find((r) => r.name === name)?.count ?? 0;

/** The rooms of `/api/rooms` whose names start with `prefix`, as {name: count}. */
async function publicRooms(prefix = "") {
  const res = await fetch(`${worker.url}/api/rooms`);
  assert.equal(res.status, 200);
  const { rooms } = await res.json();
  return Object.fromEntries(rooms.filter((r) => r.name.startsWith(prefix)).map((r) => [r.name, r.count]));
}

/** Sends a report to the lobby as a room would (through the LOBBY binding). */
async function report(body) {
  const ns = await worker.mf.getDurableObjectNamespace("LOBBY");
  const stub = ns.get(ns.idFromName("lobby"));
  return stub.fetch("https://lobby/report", { method: "POST", body: JSON.stringify(body) });
}

const adminRooms = async () => {
  const res = await fetch(`${worker.url}/api/admin/rooms`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).rooms;
};

test("a lobby socket sees a room appear with 1, go to 3, back to 1 and disappear, in order", async () => {
  const room = uniqueRoom();
  const lobby = await LobbyView.open();
  assert.equal(countIn(lobby.last, room), 0);

  const a = await worker.join(room, "ann");
  await lobby.untilCount(room, 1);
  const b = await worker.join(room, "bob");
  const c = await worker.join(room, "cy");
  await lobby.untilCount(room, 3);
  await c.client.close();
  await b.client.kill();
  await lobby.untilCount(room, 1);
  a.client.send({ type: "leave" });
  await a.client.closed;
  await lobby.untilCount(room, 0);

  // Every frame, in order; a 2 may show on the way up or down (two changes can fall into
  // two coalescing windows), nothing else.
  const counts = lobby.frames.map((f) => countIn(f, room)).filter((n, i, all) => i === 0 || n !== all[i - 1]);
  assert.match(counts.join(","), /^0,1,(2,)?3,(2,)?1,0$/);
  await lobby.expectNothingBeforeBeacon();
  await lobby.close();
});

test("the first frame is the current list, and ping is answered with pong", async () => {
  const room = uniqueRoom();
  const a = await worker.join(room, "ann");
  await eventually(() => publicRooms(room), { [room]: 1 });
  const lobby = await LobbyView.open();
  assert.equal(countIn(lobby.last, room), 1);
  lobby.client.send("ping");
  assert.equal(await lobby.client.next(), "pong");
  await a.client.close();
  await lobby.untilCount(room, 0);
  await lobby.close();
});

test("a burst of joins is coalesced into few frames, spaced by the debounce", async () => {
  const room = uniqueRoom("burst");
  const lobby = await LobbyView.open();
  const start = lobby.frames.length;
  const people = await Promise.all(["a", "b", "c", "d", "e", "f"].map((nick) => worker.join(room, nick)));
  await lobby.untilCount(room, 6);
  const frames = lobby.frames.slice(start);
  // No late frame after the one showing all six.
  await lobby.expectNothingBeforeBeacon();
  assert.ok(frames.length < 6, `six joins made ${frames.length} frames`);
  // Frames go out at most once per coalescing window (250 ms; the margin is for delivery
  // jitter on a loaded machine).
  for (let i = 1; i < frames.length; i++) {
    assert.ok(frames[i].at - frames[i - 1].at >= 150, `frames ${frames[i].at - frames[i - 1].at} ms apart`);
  }
  await Promise.all(people.map((p) => p.client.close()));
  await lobby.untilCount(room, 0);
  await lobby.close();
});

test("/api/rooms lists public, non-empty rooms, largest first", async () => {
  const prefix = uniqueRoom("order");
  const names = [`${prefix}-b`, `${prefix}-c`, `${prefix}-a`];
  const people = [];
  for (const [i, name] of names.entries()) {
    for (let n = 0; n <= i; n++) people.push(await worker.join(name, `p${n}`));
  }
  await eventually(() => publicRooms(prefix), { [names[0]]: 1, [names[1]]: 2, [names[2]]: 3 });
  const res = await fetch(`${worker.url}/api/rooms`);
  assert.equal(res.headers.get("content-type"), "application/json");
  const listed = (await res.json()).rooms.filter((r) => r.name.startsWith(prefix));
  assert.deepEqual(listed, [
    { name: names[2], count: 3, locked: false },
    { name: names[1], count: 2, locked: false },
    { name: names[0], count: 1, locked: false },
  ]);
  await Promise.all(people.map((p) => p.client.close()));
  await eventually(() => publicRooms(prefix), {});
});

test("random joins, leaves and abrupt disconnects: the list ends up exactly right", async () => {
  // A small seeded PRNG (mulberry32), so a failure replays the same run.
  let seed = 0x5eed;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (items) => items[Math.floor(random() * items.length)];

  const prefix = uniqueRoom("mix");
  const rooms = Object.fromEntries(["a", "b", "c", "d"].map((s) => [`${prefix}-${s}`, []]));
  const lobby = await LobbyView.open();
  let n = 0;
  const step = async () => {
    const name = pick(Object.keys(rooms));
    const inside = rooms[name];
    const action = inside.length === 0 ? "join" : pick(["join", "join", "leave", "close", "kill"]);
    if (action === "join") {
      if (inside.length >= 8) return;
      inside.push(null); // hold the seat while joining
      const person = await worker.join(name, `n${++n}`);
      inside[inside.indexOf(null)] = person;
      return;
    }
    const i = inside.findIndex((p) => p !== null);
    if (i < 0) return;
    const [person] = inside.splice(i, 1);
    if (action === "leave") person.client.send({ type: "leave" });
    if (action === "close") person.client.close();
    if (action === "kill") person.client.kill();
    await person.client.closed;
  };
  // Batches of concurrent steps, so reports from different rooms (and one room) race.
  for (let batch = 0; batch < 15; batch++) {
    await Promise.all(Array.from({ length: 4 }, step));
  }

  const expected = Object.fromEntries(
    Object.entries(rooms)
      .filter(([, inside]) => inside.length > 0)
      .map(([name, inside]) => [name, inside.length]),
  );
  await eventually(() => publicRooms(prefix), expected);
  await lobby.until((frame) => {
    const shown = Object.fromEntries(frame.rooms.filter((r) => r.name.startsWith(prefix)).map((r) => [r.name, r.count]));
    return JSON.stringify(shown, Object.keys(shown).sort()) === JSON.stringify(expected, Object.keys(expected).sort());
  });
  // And each room agrees with itself: the operator's listing (each room answering for itself)
  // has exactly these rooms, each with as many participants as counted, none left out.
  const answered = (await adminRooms()).filter((room) => room.name.startsWith(prefix));
  assert.deepEqual(Object.fromEntries(answered.map((room) => [room.name, room.peers?.length])), expected);

  for (const inside of Object.values(rooms)) await Promise.all(inside.map((p) => p.client.close()));
  await eventually(() => publicRooms(prefix), {});
  await lobby.close();
});

test("a private room is never listed publicly, while the operator sees it", async () => {
  const secret = uniqueRoom("secret");
  const open = uniqueRoom("open");
  const lobby = await LobbyView.open();
  const owner = await worker.join(secret, "owner", { private: true });
  // `private` only counts for the first joiner: the second one cannot make it public.
  const guest = await worker.join(secret, "guest", { private: false });
  const visible = await worker.join(open, "ann");
  await lobby.untilCount(open, 1);
  // Long enough for the lobby to check every room once (LOBBY_CHECK_SECONDS=1).
  await sleep(1500);
  await guest.client.close();
  await visible.client.close();
  await lobby.untilCount(open, 0);

  assert.ok(!lobby.frames.some((f) => f.rooms.some((r) => r.name === secret)), "in a lobby frame");
  assert.deepEqual(await publicRooms(secret), {});
  const seen = (await adminRooms()).find((r) => r.name === secret);
  assert.equal(seen.private, true);
  assert.equal(seen.count, 1);
  assert.deepEqual(seen.peers.map((p) => [p.id, p.nick]), [[owner.id, "owner"]]);

  await owner.client.close();
  await eventually(async () => (await adminRooms()).some((r) => r.name === secret), false);
  assert.ok(!lobby.frames.some((f) => f.rooms.some((r) => r.name === secret)), "in a lobby frame");
  await lobby.close();
});

test("counts stay right when rooms and the lobby are evicted and woken", async () => {
  const prefix = uniqueRoom("evict");
  const [r1, r2] = [`${prefix}-1`, `${prefix}-2`];
  const lobby = await LobbyView.open();
  const a = await worker.join(r1, "ann");
  const b = await worker.join(r1, "bob");
  const c = await worker.join(r2, "cy");
  await lobby.until((f) => countIn(f, r1) === 2 && countIn(f, r2) === 1);

  await Promise.all([worker.evictRoom(r1), worker.evictRoom(r2), worker.evictLobby()]);
  // The lobby's table came back from storage.
  await eventually(() => publicRooms(prefix), { [r1]: 2, [r2]: 1 });

  // Woken rooms report to a woken lobby, whose hibernated socket still gets frames.
  await b.client.kill();
  const d = await worker.join(r2, "dee");
  await lobby.until((f) => countIn(f, r1) === 1 && countIn(f, r2) === 2);

  await worker.evictLobby();
  await worker.evictRoom(r1);
  await a.client.close();
  await lobby.untilCount(r1, 0);
  await eventually(() => publicRooms(prefix), { [r2]: 2 });

  await Promise.all([c.client.close(), d.client.close()]);
  await lobby.untilCount(r2, 0);
  await lobby.close();
});

test("lost and stale reports converge: the lobby asks rooms it has not heard from", async () => {
  const real = uniqueRoom("real");
  const ghost = uniqueRoom("ghost");
  const lobby = await LobbyView.open();
  const a = await worker.join(real, "ann");
  await lobby.untilCount(real, 1);

  // What a lost or reordered report leaves behind: a wrong count, and a room nobody is in.
  assert.equal((await report({ name: real, count: 5, private: false })).status, 204);
  assert.equal((await report({ name: ghost, count: 4, private: false })).status, 204);
  await lobby.until((f) => countIn(f, real) === 5 && countIn(f, ghost) === 4);
  // Within a check interval (1 s here) both are fixed from the rooms' own answers.
  await lobby.until((f) => countIn(f, real) === 1 && countIn(f, ghost) === 0, 4000);
  await eventually(() => publicRooms(real), { [real]: 1 });
  await eventually(() => publicRooms(ghost), {});

  await a.client.close();
  await lobby.untilCount(real, 0);
  await lobby.close();
});

test("reports with bad names or bodies are refused", async () => {
  for (const name of ["", "a b", " padded", "<script>", "x".repeat(65)]) {
    const res = await report({ name, count: 1, private: false });
    assert.equal(res.status, 400, JSON.stringify(name));
    assert.equal((await res.json()).error, "bad_room_name");
  }
  for (const body of [{ name: "a" }, { name: "a", count: -1, private: false }, { name: "a", count: 1, private: "no" }]) {
    const res = await report(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal((await res.json()).error, "bad_report");
  }
  assert.deepEqual(await publicRooms("a"), {});
});

test("the public list is bounded to the 100 largest rooms", async () => {
  // A worker of its own (default check interval), so these made-up rooms stay put.
  const own = await startWorker({ vars: { LIST_AFTER_SECONDS: "0" } });
  try {
    const ns = await own.mf.getDurableObjectNamespace("LOBBY");
    const stub = ns.get(ns.idFromName("lobby"));
    const lobby = await LobbyView.open(own.wsUrl);
    for (let i = 1; i <= 130; i++) {
      const body = JSON.stringify({ name: `flood-${i}`, count: i, private: i % 10 === 0 });
      const res = await stub.fetch("https://lobby/report", { method: "POST", body });
      assert.equal(res.status, 204);
    }
    const expected = [];
    for (let i = 130; expected.length < 100; i--) if (i % 10 !== 0) expected.push({ name: `flood-${i}`, count: i, locked: false });
    await eventually(async () => (await (await fetch(`${own.url}/api/rooms`)).json()).rooms, expected);
    // Frames may have gone out during the flood; the last one shows the final 100.
    await lobby.until((f) => JSON.stringify(f.rooms) === JSON.stringify(expected));
    assert.ok(lobby.frames.every((f) => f.rooms.length <= 100));
    await lobby.close();
  } finally {
    await own.stop();
  }
});

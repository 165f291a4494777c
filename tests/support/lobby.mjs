// The lobby's objects as the worker names them (src/lobby/topology.rs), for tests and the bench
// that talk to them directly through Miniflare: which shard a room reports to, and how to send
// a report there as a room would.
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

/** 64-bit FNV-1a of the name's UTF-8 bytes, the hash the worker picks a room's shard with. */
export function fnv1a(text) {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK;
  return hash;
}

/** The shard (0..shards-1) that room `name` reports to. */
export const shardOf = (name, shards) => Number(fnv1a(name) % BigInt(shards));

/** The name of lobby shard `i`: shard 0 keeps the single lobby's name, and so its table. */
export const shardName = (i) => (i === 0 ? "lobby" : `lobby-${i}`);

/** The name of fan-out object `i`. */
export const fanoutName = (i) => `lobby-fanout-${i}`;

/** The name of the hub, the one object that merges the shards' lists. */
export const HUB_NAME = "lobby-hub";

/** Every lobby object of a layout, as [class, name]: the shards, the hub, the fan-out objects. */
export const lobbyObjects = ({ shards, fanouts }) => [
  ...Array.from({ length: shards }, (_, i) => ["Lobby", shardName(i)]),
  ["LobbyHub", HUB_NAME],
  ...Array.from({ length: fanouts }, (_, i) => ["LobbyFanout", fanoutName(i)]),
];

/** A stub of one lobby object, by binding (LOBBY, LOBBY_HUB or LOBBY_SOCKETS) and name. */
export async function lobbyStub(mf, binding, name) {
  const ns = await mf.getDurableObjectNamespace(binding);
  return ns.get(ns.idFromName(name));
}

/**
 * Sends `body` ({name, count, private, locked}) to its shard as a room would; `stubs` are the
 * shards' stubs in order (see `shardStubs`). Resolves with the response.
 */
export function report(stubs, body) {
  const stub = stubs[shardOf(body.name, stubs.length)];
  return stub.fetch("https://lobby/report", { method: "POST", body: JSON.stringify(body) });
}

/** Stubs of the `shards` lobby shards, in order. */
export async function shardStubs(mf, shards = 1) {
  return Promise.all(Array.from({ length: shards }, (_, i) => lobbyStub(mf, "LOBBY", shardName(i))));
}

/**
 * The public list as fan-out object `i` has it, past the edge cache that `/api/rooms` goes
 * through: what every later `/api/rooms` will show.
 */
export async function fanoutRooms(mf, i = 0) {
  const stub = await lobbyStub(mf, "LOBBY_SOCKETS", fanoutName(i));
  return (await (await stub.fetch("https://lobby-fanout/rooms")).json()).rooms;
}

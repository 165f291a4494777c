// Helpers for the tests of hosts, locks and knocks (tests/integration/host.test.mjs,
// host-actions.test.mjs and knock.test.mjs): filling a room, knocking at a locked one, and
// reading every frame that reached a set of clients before a barrier, so that a test states
// all of them, in any order.
import assert from "node:assert/strict";
import { Client } from "./client.mjs";

/** The keys of a `<peer>` (docs/protocol.md). */
export const PEER_KEYS = ["camera", "hand", "host", "id", "joinedAt", "muted", "nick", "screen", "tracks", "webrtc"];

/** A peer id nobody has: well-formed, never made by a room. */
export const NOBODY = "0000000000000000";

/**
 * Joins `nicks` one after the other into `room`; each earlier person reads the `peer_joined` of
 * each later one, so everyone starts with an empty queue. `extra[nick]`: more join fields.
 */
export async function people(worker, room, nicks, extra = {}) {
  const joined = [];
  for (const nick of nicks) {
    const person = await worker.join(room, nick, extra[nick] ?? {});
    for (const earlier of joined) assert.equal((await earlier.client.next("peer_joined")).peer.id, person.id);
    joined.push(person);
  }
  return joined;
}

/** Opens a socket to `room` and sends `join` with `nick` (and `extra`); no answer is read. */
export async function sendJoin(worker, room, nick, extra = {}) {
  const client = await Client.connect(`${worker.wsUrl}/ws/rooms/${encodeURIComponent(room)}`);
  client.send({ type: "join", nick, ...extra });
  return client;
}

/** Knocks at locked `room` as `nick`: the very first answer must be `{"type":"knocking"}`. */
export async function knock(worker, room, nick, extra = {}) {
  const client = await sendJoin(worker, room, nick, extra);
  assert.deepEqual(await client.next(), { type: "knocking" }, `${nick} knocks`);
  return client;
}

/** Reads an `error` frame with `code` (and a message for people). */
export async function expectError(client, code, what = code) {
  const frame = await client.next("error");
  assert.equal(frame.code, code, what);
  assert.ok(typeof frame.message === "string" && frame.message.length > 0, `${what}: a message`);
  // A host's removal or refusal names the host (hostNick); a removed browser's join does not.
  const fields = "hostNick" in frame && (code === "removed" || code === "denied") ? ["code", "hostNick", "message", "type"] : ["code", "message", "type"];
  assert.deepEqual(Object.keys(frame).sort(), fields, `${what}: the error's fields`);
  return frame;
}

let marks = 0;

/**
 * Everything each of `clients` got before a barrier chat that `sender` (a member) sends now:
 * one array of frames per client, the barrier itself left out. Anything the room sent those
 * clients before handling the barrier is in the arrays, so comparing them whole proves that
 * nothing else arrived. Send it once the frames under test have been handled (the sender's
 * own earlier frames always are; someone else's once a reply to them has arrived).
 */
export async function framesBefore(sender, clients) {
  const text = `mark ${++marks}`;
  sender.send({ type: "chat", text });
  const all = [];
  for (const client of clients) {
    const frames = [];
    for (;;) {
      const frame = await client.next();
      if (frame?.type === "chat" && frame.text === text) break;
      frames.push(frame);
    }
    all.push(frames);
  }
  return all;
}

/**
 * A knocker's barrier: a knocking socket answers anything but `leave` with `not_joined`, so a
 * chat from it must be answered with that error before anything else: proof that nothing came
 * before (for what the room did before handling the chat).
 */
export async function knockerGotNothing(knocker, what = "the knocker") {
  knocker.send({ type: "chat", text: "let me in" });
  const frame = await knocker.next();
  assert.equal(frame?.type === "error" && frame.code, "not_joined", `${what} got nothing else first: ${JSON.stringify(frame)}`);
}

/** An error frame as compared by `sameFrames`: its message (checked, when `received`) left out. */
const normal = (frame, received) => {
  if (frame?.type !== "error") return frame;
  if (received) assert.ok(typeof frame.message === "string" && frame.message.length > 0, `a message in ${JSON.stringify(frame)}`);
  const { message: _message, ...rest } = frame;
  return rest;
};

/**
 * Asserts that `actual` holds exactly the frames of `expected`, in any order (errors compared
 * by `type` and `code`, their message only checked to be there).
 */
export function sameFrames(actual, expected, what) {
  const key = (received) => (frame) => JSON.stringify(sortKeys(normal(frame, received)));
  assert.deepEqual(actual.map(key(true)).sort(), expected.map(key(false)).sort(), what);
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

/** Closes every client still open (of people or plain clients). */
export async function closeAll(...clients) {
  await Promise.all(
    clients.flat().map((c) => c?.client ?? c).filter((c) => c && !c.closeInfo).map((c) => c.close()),
  );
}

// ICE servers: STUN for anyone (/api/ice); TURN credentials in coturn's REST scheme only for
// members of a room, in their welcome and in answer to `ice`. Credentials are checked here
// against the secret with node:crypto (an implementation independent of ours).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startWorker, uniqueRoom } from "../support/worker.mjs";
import { Client, chatBarrier } from "../support/client.mjs";

const SECRET = "s3cret";
const TURN = { TURN_URLS: "turn:127.0.0.1:3478?transport=udp", TURN_SECRET: SECRET };
const DEFAULT_STUN = "stun:stun.cloudflare.com:3478";
const STUN_ONLY = { iceServers: [{ urls: [DEFAULT_STUN] }], expiresAt: null };

// One worker with TURN for most tests; `welcomeIceWith` starts (and stops) one per odd
// configuration.
let turnWorker;
before(async () => (turnWorker = await startWorker({ vars: TURN })));
after(() => turnWorker.stop());

/** What `worker` gives a stranger at /api/ice. */
async function publicIce(worker) {
  const res = await fetch(worker.url + "/api/ice");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^application\/json/);
  const text = await res.text();
  return { text, body: JSON.parse(text) };
}

/** The `ice` of a welcome into a fresh room of a worker started with `vars`. */
async function welcomeIceWith(vars) {
  const worker = await startWorker({ vars });
  try {
    const { client, welcome } = await worker.join(uniqueRoom("ice"), "ann");
    client.close();
    return welcome.ice;
  } finally {
    await worker.stop();
  }
}

const credentialFor = (secret, username) =>
  createHmac("sha1", secret).update(username).digest("base64");

/** Checks a TURN entry against the secret: user `<expiry>:<member id>`, expiring `ttl` from now. */
function assertTurnFor(ice, memberId, ttl = 600) {
  const now = Math.floor(Date.now() / 1000);
  assert.equal(ice.iceServers.length, 2);
  assert.deepEqual(ice.iceServers[0], { urls: [DEFAULT_STUN] });
  const turn = ice.iceServers[1];
  assert.deepEqual(turn.urls, [TURN.TURN_URLS]);
  const [expiry, user] = turn.username.split(":");
  assert.equal(user, memberId, "coturn's per-user quotas count per member");
  assert.equal(Number(expiry), ice.expiresAt);
  assert.ok(Math.abs(ice.expiresAt - (now + ttl)) <= 5, `expiresAt ${ice.expiresAt}, now ${now}`);
  assert.equal(turn.credential, credentialFor(SECRET, turn.username));
  assert.notEqual(turn.credential, credentialFor("another secret", turn.username));
}

test("strangers get STUN only: 300 anonymous requests, not one TURN credential", async () => {
  const answers = await Promise.all(Array.from({ length: 300 }, () => publicIce(turnWorker)));
  for (const { text, body } of answers) {
    assert.deepEqual(body, STUN_ONLY);
    assert.ok(!text.includes(SECRET), "the secret never leaves the worker");
  }
});

test("a member's welcome carries TURN credentials for them, valid ten minutes", async () => {
  const { client, welcome, id } = await turnWorker.join(uniqueRoom("ice"), "ann");
  assertTurnFor(welcome.ice, id);
  client.close();
});

test("a member asks for fresh credentials with `ice`; a socket that has not joined cannot", async () => {
  const room = uniqueRoom("ice");
  const { client, id } = await turnWorker.join(room, "ann");
  const other = await turnWorker.join(room, "bob");
  await client.next("peer_joined");
  client.send({ type: "ice" });
  const fresh = await client.next("ice");
  assertTurnFor(fresh, id);
  await chatBarrier(client, [other.client]);

  const stranger = await Client.connect(`${turnWorker.wsUrl}/ws/rooms/${room}`);
  stranger.send({ type: "ice" });
  assert.equal((await stranger.next("error")).code, "not_joined");
  for (const c of [client, other.client, stranger]) c.close();
});

test("TURN_TTL_SECONDS sets the expiry, clamped to a minute .. an hour", async () => {
  for (const [ttl, expected] of [["5", 60], ["999999999", 3600], ["soon", 600]]) {
    const ice = await welcomeIceWith({ ...TURN, TURN_TTL_SECONDS: ttl });
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(ice.expiresAt - (now + expected)) <= 5, `TTL ${ttl}: ${ice.expiresAt - now}`);
  }
});

test("odd values do not crash: junk URLs are dropped, no URL or no secret means no TURN", async () => {
  const odd = await welcomeIceWith({
    STUN_URLS: " , http://x, stun:a.example:3478,,",
    TURN_URLS: "nonsense, turn:127.0.0.1:3478",
    TURN_SECRET: SECRET,
  });
  assert.deepEqual(odd.iceServers[0].urls, ["stun:a.example:3478"]);
  assert.deepEqual(odd.iceServers[1].urls, ["turn:127.0.0.1:3478"]);

  for (const vars of [
    { STUN_URLS: "", TURN_URLS: "nonsense", TURN_SECRET: SECRET },
    { TURN_URLS: TURN.TURN_URLS, TURN_SECRET: "" },
    { TURN_SECRET: SECRET },
  ]) {
    assert.deepEqual(await welcomeIceWith(vars), STUN_ONLY, JSON.stringify(vars));
  }
});

test("only GET", async () => {
  const res = await fetch(turnWorker.url + "/api/ice", { method: "POST" });
  assert.equal(res.status, 405);
  assert.equal((await res.json()).error, "method_not_allowed");
});

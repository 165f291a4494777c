// /api/ice: STUN always, TURN credentials in coturn's REST scheme only when configured,
// checked here against the secret with node:crypto (an implementation independent of ours).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startWorker } from "../support/worker.mjs";

const SECRET = "s3cret";
const TURN = { TURN_URLS: "turn:127.0.0.1:3478?transport=udp", TURN_SECRET: SECRET };
const DEFAULT_STUN = "stun:stun.cloudflare.com:3478";

// One worker with TURN for most tests; `iceWith` starts (and stops) one per odd configuration.
let turnWorker;
before(async () => (turnWorker = await startWorker({ vars: TURN })));
after(() => turnWorker.stop());

async function iceWith(vars) {
  const worker = await startWorker({ vars });
  try {
    return await ice(worker);
  } finally {
    await worker.stop();
  }
}

async function ice(worker) {
  const res = await fetch(worker.url + "/api/ice");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.match(res.headers.get("content-type"), /^application\/json/);
  const text = await res.text();
  return { text, body: JSON.parse(text) };
}

const credentialFor = (secret, username) =>
  createHmac("sha1", secret).update(username).digest("base64");

test("without TURN configured: STUN only, expiresAt null", async () => {
  const { body } = await iceWith({});
  assert.deepEqual(body, { iceServers: [{ urls: [DEFAULT_STUN] }], expiresAt: null });
});

test("with TURN configured: credentials verify against the secret and expire after the TTL", async () => {
  const { text, body } = await ice(turnWorker);
  const now = Math.floor(Date.now() / 1000);
  assert.equal(body.iceServers.length, 2);
  assert.deepEqual(body.iceServers[0], { urls: [DEFAULT_STUN] });
  const turn = body.iceServers[1];
  assert.deepEqual(turn.urls, [TURN.TURN_URLS]);

  const [expiry, id] = turn.username.split(":");
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.equal(Number(expiry), body.expiresAt);
  assert.ok(Math.abs(body.expiresAt - (now + 3600)) <= 5, `expiresAt ${body.expiresAt}, now ${now}`);

  assert.equal(turn.credential, credentialFor(SECRET, turn.username));
  assert.notEqual(turn.credential, credentialFor("another secret", turn.username));
  assert.ok(!text.includes(SECRET), "the secret never leaves the worker");
});

test("every answer has a fresh username", async () => {
  const usernames = new Set();
  for (let i = 0; i < 5; i++) usernames.add((await ice(turnWorker)).body.iceServers[1].username);
  assert.equal(usernames.size, 5);
});

test("TURN_TTL_SECONDS sets the expiry, clamped to a sane range", async () => {
  for (const [ttl, expected] of [["5", 60], ["999999999", 86400]]) {
    const { body } = await iceWith({ ...TURN, TURN_TTL_SECONDS: ttl });
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(body.expiresAt - (now + expected)) <= 5, `TTL ${ttl}: ${body.expiresAt - now}`);
  }
});

test("odd values do not crash: junk URLs are dropped, no URL or no secret means no TURN", async () => {
  const odd = await iceWith({
    STUN_URLS: " , http://x, stun:a.example:3478,,",
    TURN_URLS: "nonsense, turn:127.0.0.1:3478",
    TURN_SECRET: SECRET,
    TURN_TTL_SECONDS: "soon",
  });
  assert.deepEqual(odd.body.iceServers[0].urls, ["stun:a.example:3478"]);
  assert.deepEqual(odd.body.iceServers[1].urls, ["turn:127.0.0.1:3478"]);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(odd.body.expiresAt - (now + 3600)) <= 5, "a bad TTL falls back to 3600 s");

  for (const vars of [
    { STUN_URLS: "", TURN_URLS: "nonsense", TURN_SECRET: SECRET },
    { TURN_URLS: TURN.TURN_URLS, TURN_SECRET: "" },
    { TURN_SECRET: SECRET },
  ]) {
    const { body, text } = await iceWith(vars);
    assert.deepEqual(body, { iceServers: [{ urls: [DEFAULT_STUN] }], expiresAt: null }, JSON.stringify(vars));
    assert.ok(!text.includes(SECRET));
  }
});

test("only GET", async () => {
  const res = await fetch(turnWorker.url + "/api/ice", { method: "POST" });
  assert.equal(res.status, 405);
  assert.equal((await res.json()).error, "method_not_allowed");
});

// The stand-in SFU (tests/support/sfu/) on its own, no Room: the Realtime Connection API calls
// Room makes, with the request and response shapes of the published OpenAPI schema
// (realtime-api-2024-05-21.yaml), its refusals, and real RTP forwarded from a publishing
// session to subscribing ones (werift endpoints sending synthetic packets).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSfu } from "../support/sfu/index.mjs";
import { FakeEndpoint } from "../support/sfu/endpoint.mjs";
import { startsKeyframe } from "../support/sfu/forward.mjs";
import { sleep, until } from "../support/wait.mjs";

const APP = "0123456789abcdef0123456789abcdef";
const SECRET = "stand-in-secret";
const SESSION_ID = /^[0-9a-f]{32}$/;
const SDP = /^v=0\r\n/;

let sfu;
const endpoints = [];
before(async () => (sfu = await startSfu({ appId: APP, secret: SECRET })));
after(async () => {
  await Promise.all(endpoints.map((e) => e.close()));
  await sfu.stop();
});

/** One API call; resolves to [status, parsed body]. */
async function call(method, path, body, { app = APP, secret = SECRET } = {}) {
  const headers = { "content-type": "application/json" };
  if (secret !== null) headers.authorization = `Bearer ${secret}`;
  const res = await fetch(`${sfu.url}/apps/${app}${path}`, {
    method,
    headers,
    body: typeof body === "string" ? body : body && JSON.stringify(body),
  });
  assert.match(res.headers.get("content-type"), /^application\/json/);
  return [res.status, await res.json()];
}

async function newSession() {
  const [status, body] = await call("POST", "/sessions/new");
  assert.equal(status, 201);
  assert.deepEqual(Object.keys(body), ["sessionId"]);
  assert.match(body.sessionId, SESSION_ID);
  return body.sessionId;
}

function endpoint() {
  const e = new FakeEndpoint();
  endpoints.push(e);
  return e;
}

/** A session publishing `names` (one werift track each: video, then audio), media flowing. */
async function publisher(names = ["camera"], options) {
  const id = await newSession();
  const e = endpoint();
  const kinds = names.map((_, i) => (i === 0 ? "video" : "audio"));
  const { sdp, mids } = await e.publish(kinds, options);
  const [status, body] = await call("POST", `/sessions/${id}/tracks/new`, {
    sessionDescription: { type: "offer", sdp },
    tracks: names.map((trackName, i) => ({ location: "local", mid: mids[i], trackName })),
  });
  assert.equal(status, 200);
  assert.deepEqual(body, {
    requiresImmediateRenegotiation: false,
    tracks: names.map((trackName, i) => ({ trackName, mid: mids[i] })),
    sessionDescription: { type: "answer", sdp: body.sessionDescription.sdp },
  });
  assert.match(body.sessionDescription.sdp, SDP);
  await e.accept(body.sessionDescription.sdp);
  return { id, endpoint: e, mids };
}

/** A session subscribed to `trackName` of `from`, its offer answered; returns its mid. */
async function subscriber(from, trackName = "camera") {
  const id = await newSession();
  const e = endpoint();
  const [status, body] = await call("POST", `/sessions/${id}/tracks/new`, {
    tracks: [{ location: "remote", sessionId: from, trackName }],
  });
  assert.equal(status, 200);
  assert.equal(body.requiresImmediateRenegotiation, true);
  assert.equal(body.sessionDescription.type, "offer");
  assert.match(body.sessionDescription.sdp, SDP);
  const [{ mid }] = body.tracks;
  assert.deepEqual(body.tracks, [{ sessionId: from, trackName, mid }]);
  const answer = await e.answer(body.sessionDescription.sdp);
  const renegotiated = await call("PUT", `/sessions/${id}/renegotiate`, { sessionDescription: { type: "answer", sdp: answer } });
  assert.deepEqual(renegotiated, [200, {}]);
  return { id, endpoint: e, mid };
}

test("a wrong or missing secret is refused with 401 unauthorized, a wrong app id with 404 not_found", async () => {
  for (const secret of ["wrong", null]) {
    const [status, body] = await call("POST", "/sessions/new", undefined, { secret });
    assert.equal(status, 401);
    assert.equal(body.errorCode, "unauthorized");
    assert.equal(typeof body.errorDescription, "string");
  }
  const [status, body] = await call("POST", "/sessions/new", undefined, { app: "another-app" });
  assert.equal(status, 404);
  assert.equal(body.errorCode, "not_found");
  // Sessions of the app are out of reach without its secret too.
  const id = await newSession();
  assert.equal((await call("GET", `/sessions/${id}`, undefined, { secret: "wrong" }))[0], 401);
});

test("an unknown session is refused with 410 session_error on every call", async () => {
  const unknown = "f".repeat(32);
  const offer = { sessionDescription: { type: "offer", sdp: "v=0\r\n" } };
  for (const [method, path, body] of [
    ["GET", "", undefined],
    ["POST", "/tracks/new", { tracks: [{ location: "remote", sessionId: unknown, trackName: "camera" }] }],
    ["PUT", "/renegotiate", { sessionDescription: { type: "answer", sdp: "v=0\r\n" } }],
    ["PUT", "/tracks/close", { tracks: [{ mid: "0" }], force: true }],
    ["PUT", "/tracks/close", { tracks: [{ mid: "0" }], force: false, ...offer }],
  ]) {
    const [status, answer] = await call(method, `/sessions/${unknown}${path}`, body);
    assert.equal(status, 410, `${method} ${path}`);
    assert.equal(answer.errorCode, "session_error");
  }
});

test("malformed requests are refused: 400 decoding_error, 406 invalid_params", async () => {
  const id = await newSession();
  const tracksNew = `/sessions/${id}/tracks/new`;
  const remote = (trackName) => ({ location: "remote", sessionId: id, trackName });
  const answerWithoutOffer = { sessionDescription: { type: "answer", sdp: "v=0\r\n" } };
  const cases = [
    [tracksNew, "{not json", 400, "decoding_error"],
    [tracksNew, { tracks: "camera" }, 400, "decoding_error"],
    [tracksNew, { tracks: [] }, 406, "invalid_params"],
    [tracksNew, { tracks: Array.from({ length: 65 }, () => remote("x")) }, 406, "invalid_params"],
    [
      tracksNew,
      { tracks: [remote("a"), { location: "local", mid: "0", trackName: "b" }] },
      406,
      "invalid_params",
    ],
    [`/sessions/${id}/tracks/close`, { tracks: [{ mid: "0" }] }, 406, "invalid_params"],
    [`/sessions/${id}/tracks/close`, { tracks: [{ mid: "0" }], force: false }, 406, "invalid_params"],
    [`/sessions/${id}/renegotiate`, {}, 406, "invalid_params"],
    [`/sessions/${id}/renegotiate`, answerWithoutOffer, 406, "invalid_session_description"],
  ];
  for (const [path, body, status, errorCode] of cases) {
    const method = path.endsWith("/tracks/new") ? "POST" : "PUT";
    const [got, answer] = await call(method, path, body);
    assert.deepEqual([got, answer.errorCode], [status, errorCode], `${path} ${JSON.stringify(body).slice(0, 80)}`);
    assert.equal(typeof answer.errorDescription, "string");
  }
});

test("publish, subscribe: the subscriber's offer and answer, and RTP forwarded to two subscribers", async () => {
  const pub = await publisher(["camera", "mic"]);
  const [a, b] = [await subscriber(pub.id), await subscriber(pub.id, "mic")];
  await until(() => (a.endpoint.received.get(a.mid) ?? 0) > 20 && (b.endpoint.received.get(b.mid) ?? 0) > 20, {
    what: "packets at both subscribers",
  });
  const [status, state] = await call("GET", `/sessions/${pub.id}`);
  assert.equal(status, 200);
  assert.deepEqual(state, {
    tracks: [
      { location: "local", mid: pub.mids[0], trackName: "camera", status: "active" },
      { location: "local", mid: pub.mids[1], trackName: "mic", status: "active" },
    ],
    dataChannels: [],
  });
  assert.deepEqual((await call("GET", `/sessions/${a.id}`))[1], {
    tracks: [{ location: "remote", mid: a.mid, trackName: "camera", sessionId: pub.id, status: "active" }],
    dataChannels: [],
  });
  // Packet counts for assertions, besides the API.
  const mine = (await sfu.sessions()).find((s) => s.sessionId === pub.id);
  assert.equal(mine.connectionState, "connected");
  assert.ok(mine.tracks[0].packetsReceived > 0);
});

test("a track name published twice in a session is refused for that track", async () => {
  const pub = await publisher(["camera"]);
  const { sdp, mids } = await pub.endpoint.publish(["video"]);
  const [status, body] = await call("POST", `/sessions/${pub.id}/tracks/new`, {
    sessionDescription: { type: "offer", sdp },
    tracks: [{ location: "local", mid: mids[0], trackName: "camera" }],
  });
  assert.equal(status, 200);
  assert.equal(body.tracks[0].errorCode, "repeated_local_track_error");
  await pub.endpoint.accept(body.sessionDescription.sdp);
});

test("unknown remote tracks fail per track, in a 200, next to the ones that succeed", async () => {
  const pub = await publisher(["camera"]);
  const id = await newSession();
  const [status, body] = await call("POST", `/sessions/${id}/tracks/new`, {
    tracks: [
      { location: "remote", sessionId: pub.id, trackName: "screen" },
      { location: "remote", sessionId: "0".repeat(32), trackName: "camera" },
    ],
  });
  assert.equal(status, 200);
  assert.equal(body.requiresImmediateRenegotiation, false);
  assert.equal(body.sessionDescription, undefined);
  assert.deepEqual(
    body.tracks.map((t) => [t.trackName, t.errorCode, typeof t.errorDescription]),
    [
      ["screen", "not_found_track_error", "string"],
      ["camera", "not_found_track_error", "string"],
    ],
  );
  // With one that exists, the SFU offers that one and still reports the other.
  const [, mixed] = await call("POST", `/sessions/${id}/tracks/new`, {
    tracks: [
      { location: "remote", sessionId: pub.id, trackName: "camera" },
      { location: "remote", sessionId: pub.id, trackName: "screen" },
    ],
  });
  assert.equal(mixed.requiresImmediateRenegotiation, true);
  assert.equal(mixed.sessionDescription.type, "offer");
  assert.equal(typeof mixed.tracks[0].mid, "string");
  assert.equal(mixed.tracks[0].errorCode, undefined);
  assert.equal(mixed.tracks[1].errorCode, "not_found_track_error");
  // Until that offer is answered, the session takes no other change.
  const [busy, refusal] = await call("POST", `/sessions/${id}/tracks/new`, {
    tracks: [{ location: "remote", sessionId: pub.id, trackName: "camera" }],
  });
  assert.deepEqual([busy, refusal.errorCode], [406, "invalid_session_description"]);
});

test("a track that never receives media cannot be subscribed to: empty_track_error", async () => {
  const pub = await publisher(["camera"], { media: false });
  const id = await newSession();
  const [status, body] = await call("POST", `/sessions/${id}/tracks/new`, {
    tracks: [{ location: "remote", sessionId: pub.id, trackName: "camera" }],
  });
  assert.equal(status, 200);
  assert.equal(body.tracks[0].errorCode, "empty_track_error");
});

test("a forced close: GET shows the track inactive, forwarding stops, a second close fails per track", async () => {
  const pub = await publisher(["camera"]);
  const sub = await subscriber(pub.id);
  await until(() => sub.endpoint.received.get(sub.mid) > 0, { what: "packets at the subscriber" });
  const [status, body] = await call("PUT", `/sessions/${pub.id}/tracks/close`, {
    tracks: [{ mid: pub.mids[0] }],
    force: true,
  });
  assert.equal(status, 200);
  assert.deepEqual(body, { requiresImmediateRenegotiation: false, tracks: [{ mid: pub.mids[0] }] });
  assert.equal((await call("GET", `/sessions/${pub.id}`))[1].tracks[0].status, "inactive");
  assert.equal((await call("GET", `/sessions/${sub.id}`))[1].tracks[0].status, "inactive");
  await sleep(300); // packets already on their way
  const before = sub.endpoint.received.get(sub.mid);
  await sleep(500);
  assert.equal(sub.endpoint.received.get(sub.mid), before, "forwarding stopped");
  const closeAgain = { tracks: [{ mid: pub.mids[0] }], force: true };
  const [, again] = await call("PUT", `/sessions/${pub.id}/tracks/close`, closeAgain);
  assert.deepEqual(again.tracks, [
    { mid: pub.mids[0], errorCode: "close_track_error", errorDescription: "Track doesn't exist or was already closed" },
  ]);
  // A closed track can no longer be subscribed to.
  const [, late] = await call("POST", `/sessions/${sub.id}/tracks/new`, {
    tracks: [{ location: "remote", sessionId: pub.id, trackName: "camera" }],
  });
  assert.equal(late.tracks[0].errorCode, "not_found_track_error");
});

test("a negotiated close: the endpoint's offer in, the SFU's answer out", async () => {
  const pub = await publisher(["camera", "mic"]);
  pub.endpoint.stop(pub.mids[1]);
  const offer = await pub.endpoint.offer();
  const [status, body] = await call("PUT", `/sessions/${pub.id}/tracks/close`, {
    tracks: [{ mid: pub.mids[1] }],
    sessionDescription: { type: "offer", sdp: offer },
    force: false,
  });
  assert.equal(status, 200);
  assert.deepEqual(body, {
    requiresImmediateRenegotiation: false,
    tracks: [{ mid: pub.mids[1] }],
    sessionDescription: { type: "answer", sdp: body.sessionDescription.sdp },
  });
  await pub.endpoint.accept(body.sessionDescription.sdp);
  const [, state] = await call("GET", `/sessions/${pub.id}`);
  assert.deepEqual(
    state.tracks.map((t) => [t.trackName, t.status]),
    [
      ["camera", "active"],
      ["mic", "inactive"],
    ],
  );
});

test("tracks/update points a receiving transceiver at another track, and refuses an unknown mid", async () => {
  const [first, second] = [await publisher(["camera"]), await publisher(["camera"])];
  const sub = await subscriber(first.id);
  const [status, body] = await call("PUT", `/sessions/${sub.id}/tracks/update`, {
    tracks: [
      { location: "remote", mid: sub.mid, sessionId: second.id, trackName: "camera" },
      { location: "remote", mid: "99", sessionId: second.id, trackName: "camera" },
    ],
  });
  assert.equal(status, 200);
  assert.deepEqual(body.requiresImmediateRenegotiation, false);
  assert.deepEqual(body.tracks[0], { mid: sub.mid, sessionId: second.id, trackName: "camera" });
  assert.equal(body.tracks[1].errorCode, "update_track_error");
  assert.deepEqual((await call("GET", `/sessions/${sub.id}`))[1].tracks, [
    { location: "remote", mid: sub.mid, trackName: "camera", sessionId: second.id, status: "active" },
  ]);
  // The second publisher's packets now arrive on the same mid, without renegotiation, and the
  // first one's end no longer concerns the subscriber.
  await call("PUT", `/sessions/${first.id}/tracks/close`, { tracks: [{ mid: first.mids[0] }], force: true });
  const forwarded = async () => (await sfu.sessions()).find((s) => s.sessionId === sub.id).tracks[0].packetsSent;
  const before = await forwarded();
  await until(async () => (await forwarded()) > before + 10, { what: "packets from the second publisher" });
});

test("the API calls are recorded for tests to count and time", async () => {
  const before = (await sfu.calls()).length;
  const sent = Date.now();
  await newSession();
  const calls = await sfu.calls();
  assert.equal(calls.length, before + 1);
  const { at, ms, ...call } = calls.at(-1);
  assert.deepEqual(call, { method: "POST", path: `/v1/apps/${APP}/sessions/new`, status: 201 });
  assert.ok(at >= sent && at <= Date.now() && ms >= 0, JSON.stringify({ sent, at, ms }));
});

test("VP8 keyframe starts are told apart from the rest, also in short or empty payloads", () => {
  const starts = (...bytes) => startsKeyframe({ payload: Buffer.from(bytes) });
  assert.equal(starts(0x10, 0x00), true);
  assert.equal(starts(0x90, 0x80, 0x81, 0x02, 0x00), true, "15-bit PictureID");
  assert.equal(starts(0x90, 0xc0, 0x05, 0x07, 0x00), true, "7-bit PictureID and TL0PICIDX");
  assert.equal(starts(0x90, 0xa0, 0x05, 0x40, 0x00), true, "PictureID and TID");
  assert.equal(starts(0x10, 0x01), false, "an inter frame");
  assert.equal(starts(0x00, 0x00), false, "not the start of a partition");
  assert.equal(starts(0x11, 0x00), false, "partition 1");
  assert.equal(starts(0x90, 0x80, 0x81, 0x02), false, "cut short");
  assert.equal(starts(), false, "padding");
});

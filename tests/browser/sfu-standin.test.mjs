// The stand-in SFU (tests/support/sfu/) with real browsers and no Room: each page is one
// endpoint with one RTCPeerConnection, and the test plays the backend, making the Realtime API
// calls with the page's offers and answers. Video must arrive and keep advancing at every
// subscriber, including one that subscribes long after the publisher started: it gets a
// picture only because its keyframe request reaches the publisher through the stand-in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { launchBrowser } from "../support/browser.mjs";
import { launchFirefox } from "../support/firefox.mjs";
import { startSfu } from "../support/sfu/index.mjs";
import { sleep, until } from "../support/wait.mjs";

let sfu, site, chromium, firefox;
before(async () => {
  sfu = await startSfu();
  // A blank page from a server on loopback: a secure context, so getUserMedia works.
  site = createServer((_, response) => response.end("<!doctype html><title>stand-in SFU endpoint</title>"));
  await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
  [chromium, firefox] = await Promise.all([launchBrowser(), launchFirefox()]);
});
after(async () => {
  await chromium?.close();
  await firefox?.close();
  site?.close();
  await sfu?.stop();
});

/** A Realtime API call as Room's backend makes it; fails the test unless it succeeds. */
async function api(method, path, body) {
  const response = await fetch(`${sfu.url}/apps/${sfu.appId}${path}`, {
    method,
    headers: { authorization: `Bearer ${sfu.secret}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const answer = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  for (const track of answer.tracks ?? []) assert.equal(track.errorCode, undefined, JSON.stringify(track));
  return answer;
}

/** Runs in the page: one RTCPeerConnection to the SFU, a <video> per received video track. */
function installEndpoint() {
  // As Room's client: one transport for everything (Firefox then offers port 0 + bundle-only).
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  const frames = {};
  const videos = {};
  pc.ontrack = ({ track, transceiver }) => {
    if (track.kind !== "video") return;
    const video = document.createElement("video");
    video.muted = true;
    // The SFU's offers carry no msid, so the track comes without a stream.
    video.srcObject = new MediaStream([track]);
    document.body.append(video);
    const mid = transceiver.mid;
    frames[mid] = 0;
    videos[mid] = video;
    const count = () => {
      frames[mid]++;
      video.requestVideoFrameCallback(count);
    };
    video.requestVideoFrameCallback(count);
    video.play();
  };
  window.endpoint = {
    frames,
    width: (mid) => videos[mid]?.videoWidth ?? 0,
    /** @param {object[]} [sendEncodings] simulcast layers of the camera ({rid, scaleResolutionDownBy}) */
    async publish(sendEncodings) {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
      const [video, audio] = ["video", "audio"].map((kind) =>
        pc.addTransceiver(stream.getTracks().find((t) => t.kind === kind), {
          direction: "sendonly",
          ...(kind === "video" && sendEncodings && { sendEncodings }),
        }),
      );
      window.endpoint.camera = video.sender;
      await pc.setLocalDescription();
      return { sdp: pc.localDescription.sdp, video: video.mid, audio: audio.mid };
    },
    accept: (sdp) => pc.setRemoteDescription({ type: "answer", sdp }),
    /** Starts or stops sending the camera's simulcast layer `rid`. */
    async sendLayer(rid, active) {
      const parameters = window.endpoint.camera.getParameters();
      parameters.encodings.find((e) => e.rid === rid).active = active;
      await window.endpoint.camera.setParameters(parameters);
    },
    async answer(sdp) {
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription();
      return pc.localDescription.sdp;
    },
  };
}

/** A page in `browser` with its own SFU session. */
async function endpoint(browser, name) {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  await page.evaluate(installEndpoint);
  const { sessionId } = await api("POST", "/sessions/new");
  return { name, page, sessionId };
}

/** Publishes the page's camera and microphone as `camera` and `mic` (camera in `sendEncodings` layers). */
async function publish(publisher, sendEncodings) {
  const offer = await publisher.page.evaluate((encodings) => window.endpoint.publish(encodings), sendEncodings);
  const result = await api("POST", `/sessions/${publisher.sessionId}/tracks/new`, {
    sessionDescription: { type: "offer", sdp: offer.sdp },
    tracks: [
      { location: "local", mid: offer.video, trackName: "camera" },
      { location: "local", mid: offer.audio, trackName: "mic" },
    ],
  });
  await publisher.page.evaluate((sdp) => window.endpoint.accept(sdp), result.sessionDescription.sdp);
}

/**
 * Subscribes `subscriber` to `publisher`'s camera and mic, answers the SFU's offer, and waits
 * until its video has shown 10 frames. Resolves to the milliseconds from the tracks/new call
 * to the first frame.
 */
async function subscribe(subscriber, publisher, simulcast) {
  const started = Date.now();
  const result = await api("POST", `/sessions/${subscriber.sessionId}/tracks/new`, {
    tracks: [
      { location: "remote", sessionId: publisher.sessionId, trackName: "camera", ...(simulcast && { simulcast }) },
      { location: "remote", sessionId: publisher.sessionId, trackName: "mic" },
    ],
  });
  assert.equal(result.requiresImmediateRenegotiation, true);
  const answer = await subscriber.page.evaluate((sdp) => window.endpoint.answer(sdp), result.sessionDescription.sdp);
  const renegotiation = { sessionDescription: { type: "answer", sdp: answer } };
  await api("PUT", `/sessions/${subscriber.sessionId}/renegotiate`, renegotiation);
  const mid = result.tracks[0].mid;
  const frames = () => subscriber.page.evaluate((mid) => window.endpoint.frames[mid] ?? 0, mid);
  await until(async () => (await frames()) > 0, { ms: 10_000, what: `a first frame at ${subscriber.name}` });
  const firstFrameMs = Date.now() - started;
  await until(async () => (await frames()) >= 10, { ms: 10_000, what: `10 frames at ${subscriber.name}` });
  const width = () => subscriber.page.evaluate((mid) => window.endpoint.width(mid), mid);
  return { mid, frames, width, firstFrameMs };
}

/**
 * Fails unless `subscription`'s video shows at least 5 more frames within 10 s. A video that
 * stopped shows none; 5 s was too short once, for the low subscriber moved to the high layer,
 * in a run of the whole suite with both cores saturated (the test passes alone in 8-12 s).
 */
async function advancing(subscription, name) {
  const start = await subscription.frames();
  await until(async () => (await subscription.frames()) >= start + 5, { ms: 10_000, what: `video advancing at ${name}` });
}

test("Chromium: a publisher, two subscribers and a late one all see advancing video", async (t) => {
  const publisher = await endpoint(chromium, "publisher");
  await publish(publisher);
  const [ann, bea] = await Promise.all([endpoint(chromium, "ann"), endpoint(chromium, "bea")]);
  const early = await Promise.all([subscribe(ann, publisher), subscribe(bea, publisher)]);
  // Long after the publisher's first keyframe; only a forwarded keyframe request gives a picture.
  await sleep(4000);
  const late = await endpoint(chromium, "late");
  const lateSubscription = await subscribe(late, publisher);
  for (const [subscription, name] of [...early.map((s, i) => [s, ["ann", "bea"][i]]), [lateSubscription, "late"]]) {
    await advancing(subscription, name);
  }
  const lateMs = lateSubscription.firstFrameMs;
  t.diagnostic(`first frame after subscribing: ${early.map((s) => s.firstFrameMs).join(" ms, ")} ms; late: ${lateMs} ms`);
  assert.ok(lateMs < 5000, `late subscriber's first frame after ${lateMs} ms`);
  const sessions = await sfu.sessions();
  const forwarded = sessions.flatMap((s) => s.tracks).filter((t) => t.location === "remote" && t.trackName === "camera");
  assert.equal(forwarded.length, 3);
  for (const page of [publisher, ann, bea, late].map((e) => e.page)) await page.close();
});

test("Firefox and Chromium: each receives the other's video through the stand-in", async (t) => {
  const [fox, chrome] = await Promise.all([endpoint(firefox, "firefox"), endpoint(chromium, "chromium")]);
  await Promise.all([publish(fox), publish(chrome)]);
  const foxWatches = await subscribe(fox, chrome);
  const chromeWatches = await subscribe(chrome, fox);
  await advancing(foxWatches, "firefox");
  await advancing(chromeWatches, "chromium");
  t.diagnostic(`first frame: Firefox ${foxWatches.firstFrameMs} ms, Chromium ${chromeWatches.firstFrameMs} ms`);
  await Promise.all([fox.page.close(), chrome.page.close()]);
});

test("Chromium simulcast: each subscriber gets the layer it prefers, tracks/update switches it", async (t) => {
  const publisher = await endpoint(chromium, "publisher");
  await publish(publisher, [
    { rid: "l", scaleResolutionDownBy: 4 },
    { rid: "h", scaleResolutionDownBy: 1 },
  ]);
  const [low, high] = await Promise.all([endpoint(chromium, "low"), endpoint(chromium, "high")]);
  const lowWatches = await subscribe(low, publisher, { preferredRid: "l" });
  const highWatches = await subscribe(high, publisher, { preferredRid: "h" });
  const camera = (await sfu.sessions()).find((s) => s.sessionId === publisher.sessionId).tracks[0];
  assert.deepEqual(camera.rids.sort(), ["h", "l"]);
  await until(async () => (await highWatches.width()) > 2 * (await lowWatches.width()), {
    ms: 15_000,
    what: "the high layer wider than the low one",
  });
  const widths = `widths: low ${await lowWatches.width()}, high ${await highWatches.width()}`;
  t.diagnostic(`${widths}; first frames ${lowWatches.firstFrameMs}, ${highWatches.firstFrameMs} ms`);
  const switched = { mid: lowWatches.mid, sessionId: publisher.sessionId, trackName: "camera", simulcast: { preferredRid: "h" } };
  const update = await api("PUT", `/sessions/${low.sessionId}/tracks/update`, { tracks: [{ location: "remote", ...switched }] });
  assert.deepEqual(update.tracks, [switched]);
  const sameWidth = async () => (await lowWatches.width()) === (await highWatches.width());
  await until(sameWidth, { ms: 10_000, what: "the switched layer" });
  await advancing(lowWatches, "low, switched to h");
  for (const page of [publisher, low, high].map((e) => e.page)) await page.close();
});

test("Firefox simulcast, and a layer the publisher stops sending: the next one comes instead", async (t) => {
  const publisher = await endpoint(firefox, "firefox publisher");
  // As Room publishes a camera: highest first.
  await publish(publisher, [
    { rid: "h", scaleResolutionDownBy: 1 },
    { rid: "l", scaleResolutionDownBy: 2 },
  ]);
  const fallback = { ridNotAvailable: "asciibetical" };
  const [low, high] = await Promise.all([endpoint(chromium, "low"), endpoint(chromium, "high")]);
  const lowWatches = await subscribe(low, publisher, { preferredRid: "l", ...fallback });
  const highWatches = await subscribe(high, publisher, { preferredRid: "h", ...fallback });
  const wider = async () => (await highWatches.width()) >= 1.5 * (await lowWatches.width());
  await until(wider, { ms: 15_000, what: "Firefox's high layer wider than its low one" });
  const widths = { low: await lowWatches.width(), high: await highWatches.width() };
  // Firefox names a layer's rid in its first packets only: the rest must reach that layer too.
  await advancing(highWatches, "high");
  const rids = async () => (await sfu.sessions()).find((s) => s.sessionId === low.sessionId).tracks[0].rid;
  assert.equal(await rids(), "l");

  // Firefox stops sending its low layer: the low subscriber gets the high one, then its own again.
  await publisher.page.evaluate(() => window.endpoint.sendLayer("l", false));
  await until(async () => (await lowWatches.width()) === (await highWatches.width()), { ms: 10_000, what: "the high layer instead" });
  assert.equal(await rids(), "h");
  await advancing(lowWatches, "low, on the high layer");
  await publisher.page.evaluate(() => window.endpoint.sendLayer("l", true));
  await until(async () => (await rids()) === "l" && (await lowWatches.width()) < (await highWatches.width()), {
    ms: 10_000,
    what: "the low layer back",
  });
  await advancing(lowWatches, "low, on its layer again");
  t.diagnostic(`Firefox's layers received: l ${widths.low} wide, h ${widths.high}`);
  for (const page of [publisher, low, high].map((e) => e.page)) await page.close();
});

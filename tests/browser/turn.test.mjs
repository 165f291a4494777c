// A relayed call: two browsers forced to relay-only ICE call each other through a real coturn
// on loopback, with the credentials the room gives its members in `welcome` and signaling
// through the real room websockets.
// The page code is written here (page.evaluate) rather than driven through the site's UI, so
// this test proves the TURN path whatever the client looks like.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startWorker } from "../support/worker.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { startCoturn } from "../support/coturn.mjs";
import { sleep } from "../support/wait.mjs";
import { checkPageErrors, watchErrors } from "../support/ui.mjs";

const SECRET = "turn-test-secret";

let coturn, worker, browsers;
before(async () => {
  coturn = await startCoturn({ secret: SECRET });
  [worker, ...browsers] = await Promise.all([
    startWorker({ vars: { TURN_URLS: coturn.url, TURN_SECRET: SECRET }, liftLimits: true }),
    launchBrowser(),
    launchBrowser(),
  ]);
});
after(async () => {
  await Promise.all((browsers ?? []).map((browser) => browser?.close()));
  await worker?.stop();
  await coturn?.stop();
});

// A page that throws fails the test it threw in.
afterEach(checkPageErrors);

/**
 * Runs in the page: joins `room` over the real room websocket, sends the fake camera to every
 * peer over a relay-only RTCPeerConnection configured from the welcome's ICE servers, and
 * shows what it gets. The newcomer offers; the other side answers. Exposes `window.call` for
 * the test to inspect.
 */
async function joinCall({ room, nick }) {
  let iceServers = null;
  const camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws/rooms/${room}`);
  const call = (window.call = { pcs: new Map(), errors: [], video: null });

  const send = (frame) => ws.send(JSON.stringify(frame));
  // One chain per peer: a candidate is applied only after the description before it.
  const chains = new Map();
  const queue = (peer, task) => {
    const next = (chains.get(peer) ?? Promise.resolve()).then(task);
    chains.set(peer, next.catch((error) => call.errors.push(String(error))));
  };

  function connection(peer) {
    if (call.pcs.has(peer)) return call.pcs.get(peer);
    if (!iceServers) throw new Error("a connection before the welcome");
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: "relay" });
    call.pcs.set(peer, pc);
    for (const track of camera.getTracks()) pc.addTrack(track, camera);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) send({ type: "signal", to: peer, data: { candidate: candidate.toJSON() } });
    };
    pc.ontrack = ({ streams: [stream] }) => {
      const video = (call.video = document.createElement("video"));
      Object.assign(video, { autoplay: true, muted: true, playsInline: true, srcObject: stream });
      document.body.append(video);
    };
    return pc;
  }

  ws.onmessage = ({ data }) => {
    if (data === "pong") return;
    const frame = JSON.parse(data);
    if (frame.type === "welcome") {
      iceServers = frame.ice.iceServers;
      for (const peer of frame.peers) {
        queue(peer.id, async () => {
          const pc = connection(peer.id);
          await pc.setLocalDescription(await pc.createOffer());
          send({ type: "signal", to: peer.id, data: { description: pc.localDescription.toJSON() } });
        });
      }
    } else if (frame.type === "signal") {
      const { description, candidate } = frame.data;
      queue(frame.from, async () => {
        const pc = connection(frame.from);
        if (description) {
          await pc.setRemoteDescription(description);
          if (description.type === "offer") {
            await pc.setLocalDescription(await pc.createAnswer());
            send({ type: "signal", to: frame.from, data: { description: pc.localDescription.toJSON() } });
          }
        } else if (candidate) {
          await pc.addIceCandidate(candidate);
        }
      });
    } else if (frame.type === "error") {
      call.errors.push(JSON.stringify(frame));
    }
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("room websocket failed"));
  });
  send({ type: "join", nick });
}

/** Runs in the page: the one connection's state, selected candidate types and video. */
async function callState() {
  const [pc] = window.call.pcs.values();
  if (!pc) return { state: "none" };
  const stats = [...(await pc.getStats()).values()];
  const byId = new Map(stats.map((s) => [s.id, s]));
  const transport = stats.find((s) => s.type === "transport" && s.selectedCandidatePairId);
  const pair = transport && byId.get(transport.selectedCandidatePairId);
  const video = window.call.video;
  return {
    state: pc.connectionState,
    local: pair && byId.get(pair.localCandidateId)?.candidateType,
    remote: pair && byId.get(pair.remoteCandidateId)?.candidateType,
    relayProtocol: pair && byId.get(pair.localCandidateId)?.relayProtocol,
    videoWidth: video?.videoWidth ?? 0,
    currentTime: video?.currentTime ?? 0,
    errors: window.call.errors,
  };
}

async function waitFor(page, check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let state;
  while (Date.now() < deadline) {
    state = await page.evaluate(callState);
    if (check(state)) return state;
    await sleep(250);
  }
  assert.fail(`${what}: timed out, last state ${JSON.stringify(state)}\ncoturn log:\n${await coturn.log()}`);
}

test("two relay-only browsers complete a call through coturn", async () => {
  const room = `turn-${process.pid}`;
  const pages = [];
  for (const [i, browser] of browsers.entries()) {
    const page = watchErrors(await browser.newPage());
    pages.push(page);
    await page.goto(worker.url + "/");
    await page.evaluate(joinCall, { room, nick: `p${i}` });
  }

  const states = [];
  for (const page of pages) {
    states.push(
      await waitFor(page, (s) => s.state === "connected" && s.videoWidth > 0, "connected with video"),
    );
  }
  for (const state of states) {
    assert.deepEqual(state.errors, []);
    assert.equal(state.local, "relay", "the local side of the selected pair is relayed");
    assert.equal(state.remote, "relay", "the remote side of the selected pair is relayed");
    assert.equal(state.relayProtocol, "udp");
  }
  // The video plays, not just arrives: its clock moves.
  for (const [i, page] of pages.entries()) {
    const later = await waitFor(
      page,
      (s) => s.currentTime > states[i].currentTime + 0.5,
      "remote video playing",
    );
    assert.ok(later.videoWidth > 0);
  }
  await Promise.all(pages.map((page) => page.close()));
});

/** Runs in the page: gathers with `iceServers` (relay only) and reports what came out. */
async function gather(iceServers) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: "relay" });
  const candidates = [];
  const errors = [];
  pc.onicecandidate = ({ candidate }) => candidate && candidates.push(candidate.type);
  pc.onicecandidateerror = ({ errorCode }) => errors.push(errorCode);
  const complete = new Promise((resolve) => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
  });
  pc.createDataChannel("probe");
  await pc.setLocalDescription(await pc.createOffer());
  await Promise.race([complete, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  pc.close();
  return { candidates, errors };
}

test("coturn enforces the credentials: a wrong secret or an expired username gets no relay", async () => {
  // Credentials as a member gets them: in the welcome.
  const member = await worker.join(`credentials-${process.pid}`, "member");
  const turn = member.welcome.ice.iceServers.find((server) => server.username);
  await member.client.close();
  const page = watchErrors(await browsers[0].newPage());
  await page.goto(worker.url + "/");

  const good = await page.evaluate(gather, [turn]);
  assert.ok(good.candidates.includes("relay"), `control: ${JSON.stringify(good)}`);

  const expired = `${Math.floor(Date.now() / 1000) - 60}:expired`;
  for (const [what, username, credential] of [
    ["another secret", turn.username, createHmac("sha1", "wrong").update(turn.username).digest("base64")],
    ["an expired username", expired, createHmac("sha1", SECRET).update(expired).digest("base64")],
  ]) {
    const result = await page.evaluate(gather, [{ urls: turn.urls, username, credential }]);
    assert.deepEqual(result.candidates, [], what);
    assert.ok(result.errors.includes(401), `${what}: ${JSON.stringify(result)}`);
  }
  await page.close();
});

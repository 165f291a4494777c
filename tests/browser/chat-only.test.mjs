// A browser that cannot make calls (no WebRTC, as WebKitGTK on Linux, or WebRTC turned off by
// a policy) takes part chat-only: the page says so plainly before and after joining, makes no
// connection and throws nothing, and the people in the call see that person as chat-only while
// their own video flows. Chromium plays such a browser: an init script removes
// `RTCPeerConnection` (and, in one test, `navigator.mediaDevices` too) before the page runs.
// tests/browser/webkit.test.mjs has a real WebKit do the same.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_ICE, browserSuite, joinRoom, myId, openLobby, peers, screenshot, sendChat, waitPlaying } from "../support/ui.mjs";

let worker, browser;
browserSuite({ vars: LOCAL_ICE, liftLimits: true }, (started) => ({ worker, browser } = started));

/** Init scripts (for `openLobby`): a browser without WebRTC; without a camera API as well; and with WebRTC but no camera API. */
const noWebrtc = () => {
  delete window.RTCPeerConnection;
};
const noWebrtcNoCamera = () => {
  delete window.RTCPeerConnection;
  delete Navigator.prototype.mediaDevices;
};
const noCamera = () => {
  delete Navigator.prototype.mediaDevices;
};

/** A person on the lobby page in a browser shaped by `init` (none: a whole Chromium). */
const person = (init) => openLobby(browser, worker.url + "/", { init });

/** What the page shows that a chat-only person would read: the note in the lobby or the call. */
const LOBBY_NOTE = /This browser cannot make video calls \(it has no WebRTC\)\. You can still join a room and chat/;
const CALL_NOTE = /This browser cannot make video calls \(it has no WebRTC\)\. You can chat, and the others see you as chat-only/;

/** The lobby of a browser that cannot call says so, and offers no camera, devices or privacy box. */
async function lobbyIsChatOnly(page) {
  const note = page.locator("#media-message");
  await note.waitFor();
  assert.match(await note.textContent(), LOBBY_NOTE);
  for (const part of [".preview-controls", "#devices", "#privacy"]) assert.equal(await page.isVisible(part), false, part);
}

/**
 * In the call: the note is shown (and not the warning about calls without a relay: there are
 * none), the controls of a call are gone, and my tile says "Chat only".
 */
async function callIsChatOnly(page) {
  const note = page.getByRole("status").filter({ hasText: "cannot make video calls" });
  assert.equal(await note.isVisible(), true);
  assert.match(await note.textContent(), CALL_NOTE);
  assert.equal(await page.isVisible("#no-relay"), false);
  for (const control of ["#mic-btn", "#cam-btn", "#screen-btn", "#settings-btn"]) assert.equal(await page.isVisible(control), false, control);
  for (const control of ["#chat-btn", "#leave-btn"]) assert.equal(await page.isVisible(control), true, control);
  const mine = page.locator('#grid .tile[data-local][data-kind="camera"]');
  assert.equal(await mine.locator(".tile-status").textContent(), "Chat only");
  assert.equal(await mine.getAttribute("data-conn"), "chat-only");
}

/**
 * How `page` shows the person `id`: their tile's status, whether its picture is shown, and the
 * page's connection to them ("none": it made none).
 */
async function shown(page, id) {
  const tile = page.locator(`.tile[data-peer="${id}"][data-kind="camera"]`);
  const [peer] = (await peers(page)).filter((p) => p.id === id);
  return {
    status: await tile.locator(".tile-status").textContent(),
    conn: await tile.getAttribute("data-conn"),
    video: await tile.locator("video").isVisible(),
    webrtc: peer.webrtc,
    connection: peer.connectionState,
  };
}

/** `from` sends `text` in the chat and every page of `to` shows it. */
async function chat(from, text, to) {
  await sendChat(from, text);
  for (const page of to) await page.locator(".msg .text", { hasText: text }).waitFor();
}

test("someone without WebRTC chats with two people in a call, who see them as chat-only", async () => {
  const room = "book-club";
  const [ann, cy, bob] = await Promise.all([person(), person(noWebrtc), person()]);
  await lobbyIsChatOnly(cy);
  await screenshot(cy, "chat-only-lobby.png");
  // Ann sees Cy arrive (peer_joined), Bob finds Cy there (welcome).
  await joinRoom(ann, "Ann", room);
  await joinRoom(cy, "Cy", room);
  await joinRoom(bob, "Bob", room);
  const [annId, cyId, bobId] = await Promise.all([ann, cy, bob].map(myId));
  await callIsChatOnly(cy);

  // The two who can call see each other, and no picture of Cy is awaited.
  await waitPlaying(ann, [bobId]);
  await waitPlaying(bob, [annId]);
  const chatOnly = { status: "Chat only", conn: "chat-only", video: false, webrtc: false, connection: "none" };
  for (const page of [ann, bob]) assert.deepEqual(await shown(page, cyId), chatOnly);
  // Cy made no connection, and shows the others' avatars without a word of connecting.
  for (const id of [annId, bobId]) {
    assert.deepEqual(await shown(cy, id), { status: "", conn: "chat-only", video: false, webrtc: true, connection: "none" });
  }
  for (const page of [ann, bob, cy]) assert.equal(await page.locator(".tile-status", { hasText: "Connecting" }).count(), 0);

  await chat(cy, "Hello from a browser without video", [ann, bob, cy]);
  await chat(ann, "Hi Cy, we can read you", [cy, bob]);
  await screenshot(cy, "chat-only-me.png");
  await screenshot(ann, "chat-only-others.png");
  for (const page of [ann, bob, cy]) await page.context().close();
});

test("a browser with neither WebRTC nor a camera API joins chat-only too", async () => {
  const room = "reading-group";
  const [ann, cy] = await Promise.all([person(), person(noWebrtcNoCamera)]);
  await lobbyIsChatOnly(cy);
  await joinRoom(ann, "Ann", room);
  await joinRoom(cy, "Cy", room);
  await callIsChatOnly(cy);
  const cyId = await myId(cy);
  await ann.locator(`.tile[data-peer="${cyId}"] .tile-status`, { hasText: "Chat only" }).waitFor();
  await chat(cy, "Still here, by text", [ann]);
  await chat(ann, "Got it", [cy]);
  for (const page of [ann, cy]) await page.context().close();
});

test("a browser with WebRTC but no camera API joins the call to watch and listen", async () => {
  const room = "no-camera";
  const [ann, dee] = await Promise.all([person(), person(noCamera)]);
  const note = dee.locator("#media-message");
  await note.waitFor();
  assert.match(await note.textContent(), /cannot use a camera or microphone here\. You can still join, to see and hear the others\./);
  for (const button of ["#preview-mic", "#preview-cam"]) assert.equal(await dee.isDisabled(button), true, button);
  await joinRoom(ann, "Ann", room);
  await joinRoom(dee, "Dee", room);
  const [annId, deeId] = await Promise.all([ann, dee].map(myId));
  // Dee sees and hears Ann; Ann sees Dee's avatar over a live connection.
  await waitPlaying(dee, [annId]);
  await ann.locator(`.tile[data-peer="${deeId}"][data-conn="connected"][data-camera="off"]`).waitFor();
  assert.equal(await dee.isVisible("#chat-only"), false);
  for (const button of ["#mic-btn", "#cam-btn", "#screen-btn"]) {
    assert.equal(await dee.isDisabled(button), true, button);
    assert.ok(await dee.getAttribute(button, "title"), `${button} says why it is off`);
  }
  for (const page of [ann, dee]) await page.context().close();
});

// Safari's engine, as far as this machine has it: WebKitGTK's MiniBrowser, driven over plain
// WebDriver (tests/support/webdriver.mjs). No Debian WebKit has WebRTC, so this is the smoke
// test of a real browser without it: the lobby loads with its live room list, a person joins
// by typing a name and a room, is told plainly that this browser can only chat, and chats
// both ways with a Chromium page in the same room, which shows them as chat-only.
//
// Without Xvfb, MiniBrowser or WebKitWebDriver (scripts/tools.sh `ensure_webkit` installs them)
// the test is skipped, saying so loudly.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_ICE, browserSuite, joinRoom, myId, openLobby, sendChat } from "../support/ui.mjs";
import { launchWebKit, webkitMissing } from "../support/webdriver.mjs";

const ROOM = "safari-engine";
const missing = webkitMissing();
if (missing) console.error(`\n*** WebKit test SKIPPED: ${missing} ***\n`);

let worker, browser, webkit;
// Rooms are listed at once, so that WebKit's lobby can show the one Chromium is in.
browserSuite({ vars: { ...LOCAL_ICE, LIST_AFTER_SECONDS: "0" }, liftLimits: true }, (started) => ({ worker, browser } = started));
before(async () => {
  if (!missing) webkit = await launchWebKit();
});
after(() => webkit?.close());

test("WebKit without WebRTC: lobby, join, and chat both ways with Chromium, as chat-only", async (t) => {
  if (missing) return t.skip(missing);
  const ann = await openLobby(browser, worker.url + "/");
  await joinRoom(ann, "Ann", ROOM);

  await webkit.goto(worker.url + "/");
  await webkit.waitFor(
    "WebKit's lobby to list Ann's room, live",
    (room) =>
      document.querySelector("#lobby-status").dataset.state === "live" &&
      document.querySelector(`#rooms li[data-room="${room}"] [data-count]`)?.dataset.count === "1",
    ROOM,
  );
  assert.match(await webkit.text("#media-message"), /This browser cannot make video calls \(it has no WebRTC\)\. You can still join a room and chat/);

  await webkit.fill("#nick", "Saf");
  await webkit.fill("#room-name", ROOM);
  await webkit.click("#join");
  await webkit.waitFor("WebKit to be in the call", () => window.room.state === "in-call");
  assert.match(await webkit.text("#chat-only"), /This browser cannot make video calls \(it has no WebRTC\)\. You can chat, and the others see you as chat-only/);
  const safId = await webkit.evaluate(() => window.room.me.id);

  // From WebKit to Chromium, and back.
  await webkit.fill("#chat-input", "Hello from Safari's engine");
  await webkit.click('#chat-form button[type="submit"]');
  await ann.locator(".msg .text", { hasText: "Hello from Safari's engine" }).waitFor();
  await sendChat(ann, "Hello WebKit, from Chromium");
  await webkit.waitFor("WebKit to show Ann's message", () =>
    [...document.querySelectorAll(".msg .text")].some((line) => line.textContent === "Hello WebKit, from Chromium"),
  );

  // Chromium shows Saf as chat-only and never tried to connect; nobody waits on "Connecting…".
  const tile = ann.locator(`.tile[data-peer="${safId}"]`);
  assert.equal(await tile.locator(".tile-status").textContent(), "Chat only");
  const [saf] = await ann.evaluate(() => window.room.peers());
  assert.deepEqual([saf.id, saf.webrtc, saf.connectionState], [safId, false, "none"]);
  assert.equal(await ann.locator(".tile-status", { hasText: "Connecting" }).count(), 0);
  const annId = await myId(ann);
  const seenByWebKit = await webkit.evaluate(() =>
    [...document.querySelectorAll("#grid .tile")].map((tile) => [tile.dataset.peer ?? "me", tile.dataset.conn, tile.querySelector(".tile-status").textContent]),
  );
  assert.deepEqual(seenByWebKit, [
    ["me", "chat-only", "Chat only"],
    [annId, "chat-only", ""],
  ]);

  await webkit.screenshot("webkit-chat-only.png");
  assert.deepEqual(await webkit.errors(), [], "WebKit's page threw nothing");
  await ann.context().close();
});

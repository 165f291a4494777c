// The lobby page in a real browser: headers (CSP, caching), the remembered nickname, room
// name checks, direct links, private rooms, and joining without camera or microphone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_ICE, browserSuite, denyMedia, joinRoom, myId, openLobby, screenshot, tagOf } from "../support/ui.mjs";
import { until } from "../support/wait.mjs";

const ADMIN_TOKEN = "lobby-page-test-token";
let worker, browser;
browserSuite({ vars: { ...LOCAL_ICE, ADMIN_TOKEN, LIST_AFTER_SECONDS: "0" }, liftLimits: true }, (started) => ({ worker, browser } = started));


test("the site is served with a strict CSP and revalidated caching", async () => {
  const page = await fetch(worker.url + "/");
  const csp = page.headers.get("content-security-policy");
  assert.ok(csp, "no Content-Security-Policy on /");
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers.get("cache-control"), "no-cache");
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  for (const asset of ["/js/app.js", "/app.css"]) {
    const res = await fetch(worker.url + asset);
    assert.equal(res.status, 200, asset);
    assert.equal(res.headers.get("cache-control"), "public, max-age=0, must-revalidate", asset);
    assert.ok(res.headers.get("etag"), `${asset} has no ETag to revalidate with`);
  }
  // The page itself has no inline script or handler for the CSP to block.
  const html = await page.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=/i);
});

test("the lobby works under its CSP, shows the preview and remembers the nickname", async () => {
  const page = await openLobby(browser, worker.url + "/");
  const violations = [];
  await page.exposeFunction("reportViolation", (v) => violations.push(v));
  await page.evaluate(() =>
    document.addEventListener("securitypolicyviolation", (e) => window.reportViolation(`${e.violatedDirective} ${e.blockedURI}`)),
  );
  assert.equal(await page.title(), "Room");
  await page.waitForSelector('#lobby-status[data-state="live"]');
  await page.waitForFunction(() => document.querySelector("#preview").videoWidth > 0);
  assert.match(await page.$eval("#camera-select", (s) => s.selectedOptions[0].textContent), /fake_device_0/);
  assert.equal(await page.isHidden("#media-message"), true);

  await page.fill("#nick", "Grace");
  await page.fill("#room-name", "two words");
  await page.click("#join");
  assert.match(await page.textContent("#join-error"), /letters, digits/);
  assert.equal(await page.isHidden("#call"), true);
  await screenshot(page, "lobby-form.png");

  await page.reload();
  assert.equal(await page.inputValue("#nick"), "Grace");
  assert.deepEqual(violations, []);
  assert.deepEqual(page.errors, []);
});

test("without camera or microphone: a clear message, and joining still works", async () => {
  const page = await openLobby(browser, worker.url + "/", { init: denyMedia });
  await page.waitForSelector("#media-message:not([hidden])");
  assert.match(await page.textContent("#media-message"), /camera and microphone is blocked.*join without/i);
  assert.equal(await page.getAttribute(".preview", "data-camera"), "off");
  await screenshot(page, "lobby-no-devices.png");

  const other = await openLobby(browser, worker.url + "/");
  await joinRoom(page, "Nomedia", "quiet");
  await joinRoom(other, "Withmedia", "quiet");
  for (const p of [page, other]) await p.waitForFunction(() => document.querySelector("#head-count").textContent === "2");
  assert.equal(await page.textContent("#mic-btn span"), "Unmute");
  assert.equal(await page.textContent("#cam-btn span"), "Start video");
  // The other side shows the person without media as muted, camera off.
  const tile = other.locator(".tile[data-peer]");
  await other.waitForSelector(".tile[data-peer][data-camera=off] .muted-indicator:not([hidden])");
  assert.equal(await tile.locator(".name").textContent(), "Nomedia");
  // And media still flows the other way: the person without a camera sees the other one.
  await page.waitForFunction(() => document.querySelector(".tile[data-peer] video").videoWidth > 0, null, { timeout: 15_000 });
  await other.click("#leave-btn");
  await page.click("#leave-btn");
  await page.context().close();
  await other.context().close();
});

test("a nickname made of HTML shows as text, in the tile, the notices and the chat", async () => {
  const nick = "<img src=x onerror=pwned=1>";
  // No camera for either: this test is about text, so it spares the CPU.
  const [mallory, alice] = await Promise.all([1, 2].map(() => openLobby(browser, worker.url + "/", { init: denyMedia })));
  await joinRoom(alice, "Alice", "html");
  await joinRoom(mallory, nick, "html");
  await mallory.fill("#chat-input", "<b>not bold</b>");
  await mallory.press("#chat-input", "Enter");
  const message = alice.locator(".msg", { hasText: "not bold" });
  await message.waitFor();
  assert.equal(await message.locator(".nick").textContent(), nick);
  assert.equal(await message.locator(".text").textContent(), "<b>not bold</b>");
  assert.equal(await alice.locator(".tile[data-peer] .name").textContent(), nick);
  assert.equal(await alice.locator(".notice", { hasText: "joined" }).last().textContent(), `${nick} ${tagOf(await myId(mallory))} joined.`);
  assert.equal(await mallory.locator('.tile[data-local][data-kind="camera"] .name').textContent(), `${nick} (you)`);
  for (const page of [alice, mallory]) {
    assert.equal(await page.locator("#grid img, #chat img, #call b").count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
  }
  await screenshot(alice, "call-html-nick.png");
  for (const page of [mallory, alice]) {
    await page.click("#leave-btn");
    await page.context().close();
  }
});

test("a private room: unguessable name, share link, not listed, and the link lets others in", async () => {
  const watcher = await openLobby(browser, worker.url + "/");
  await watcher.waitForSelector('#lobby-status[data-state="live"]');
  const host = await openLobby(browser, worker.url + "/");
  await host.fill("#nick", "Host");
  await host.click("#new-private");
  await host.waitForFunction(() => window.room.state === "in-call");
  const link = await host.inputValue("#share-link");
  const url = new URL(link);
  assert.match(url.searchParams.get("room"), /^[a-z2-7]{26}$/);
  assert.equal(url.searchParams.get("private"), "1");
  assert.equal(await host.isVisible("#share"), true);
  assert.equal(await host.textContent("#call-room"), "Private room");
  assert.equal(new URL(host.url()).search, url.search, "the address bar holds the room's link");

  await host.fill("#chat-input", "Welcome, come in");
  await host.press("#chat-input", "Enter");
  await host.waitForSelector(".msg:has-text('Welcome, come in')");

  const guest = await openLobby(browser, link);
  assert.equal(await guest.inputValue("#room-name"), url.searchParams.get("room"));
  assert.equal(await guest.textContent("#join-title"), "Join the private room");
  await guest.fill("#nick", "Guest");
  await guest.click("#join");
  for (const p of [host, guest]) await p.waitForFunction(() => document.querySelector("#head-count").textContent === "2");
  // What was said before the guest came is in the guest's chat (the room's history).
  assert.equal(await guest.textContent(".msg:has-text('Welcome, come in') .nick"), "Host");
  await screenshot(host, "call-private.png");
  // Not listed, and not merely not yet: first the lobby knows the private room (the operator's
  // listing, which comes from the lobby, shows it), then a public room opened after that shows
  // up on the watcher's page, so the list it shows was sent after the lobby knew them both.
  const secret = url.searchParams.get("room");
  await until(
    async () => {
      const res = await fetch(`${worker.url}/api/admin/rooms`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      return (await res.json()).rooms.some((r) => r.name === secret && r.private);
    },
    { what: "the lobby to know the private room" },
  );
  const beacon = await worker.join(`beacon-${process.pid}`, "beacon");
  await watcher.waitForSelector(`#rooms li[data-room="beacon-${process.pid}"]`);
  assert.equal(await watcher.locator(`#rooms li[data-room="${secret}"]`).count(), 0);
  await beacon.client.close();
  for (const p of [guest, host]) await p.click("#leave-btn");
});

test("a full room sends you back to the lobby with a message", async () => {
  const others = [];
  for (let i = 0; i < 8; i++) others.push(await worker.join("packed", `p${i}`));
  const page = await openLobby(browser, worker.url + "/", { init: denyMedia });
  await page.fill("#nick", "Late");
  await page.fill("#room-name", "packed");
  await page.click("#join");
  await page.waitForSelector("#lobby:not([hidden])");
  await page.waitForFunction(() => document.querySelector("#join-error").textContent === "This room is full.");
  assert.equal(new URL(page.url()).search, "");
  await Promise.all(others.map(({ client }) => client.close()));
  await page.context().close();
});

test("a room's link opens the lobby ready to join that room", async () => {
  const page = await openLobby(browser, `${worker.url}/?room=${encodeURIComponent("방-1")}`);
  assert.equal(await page.inputValue("#room-name"), "방-1");
  assert.equal(await page.textContent("#join-title"), "Join 방-1");
  // By keyboard alone: the name field has the focus, Enter joins.
  await page.keyboard.type("Kim");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.room.state === "in-call");
  assert.equal(await page.textContent("#call-room"), "방-1");
  // The room's name between Unicode isolates: a right-to-left name cannot pull " · Room" around.
  assert.equal(await page.title(), "\u2068방-1\u2069 · Room");
  await page.click("#leave-btn");
  await page.waitForSelector("#lobby:not([hidden])");
  assert.equal(new URL(page.url()).search, "");
});

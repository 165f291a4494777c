// "Hide my network address", the pre-join card's option: its defaults and memory, a call in
// which one side hides its address behind a real coturn on loopback (only relay candidates)
// and the other does not, and the warning when the server has no relay to hide it with. And
// the TURN credentials the room gives its members, kept fresh for as long as a call lasts.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { startCoturn } from "../support/coturn.mjs";
import { LOCAL_ICE, checkPageErrors, joinRoom, myId, openLobby, peers, screenshot, waitConnected, waitPlaying } from "../support/ui.mjs";
import { until } from "../support/wait.mjs";

const SECRET = "relay-ui-test-secret";
const HIDE = "Hide my network address";
const NO_RELAY = "This server has no relay: your network address is visible to the people you call.";

let coturn, worker, plainWorker, shortWorker, browser;
before(async () => {
  coturn = await startCoturn({ secret: SECRET });
  const turn = { ...LOCAL_ICE, TURN_URLS: coturn.url, TURN_SECRET: SECRET };
  [worker, plainWorker, shortWorker, browser] = await Promise.all([
    startWorker({ vars: turn, liftLimits: true }),
    startWorker({ vars: LOCAL_ICE, liftLimits: true }),
    // Credentials that live 61 s: the call asks for fresh ones a minute before, so at once.
    startWorker({ vars: { ...turn, TURN_TTL_SECONDS: "61" }, liftLimits: true }),
    launchBrowser(),
  ]);
});
after(async () => {
  await browser?.close();
  await Promise.all([worker?.stop(), plainWorker?.stop(), shortWorker?.stop()]);
  await coturn?.stop();
});

// A page that throws fails the test it threw in.
afterEach(checkPageErrors);

/** The routes of the page's one connection, once a candidate pair is selected. */
async function route(page) {
  const [found] = await until(() => page.evaluate(() => window.room.routes()).then((r) => r[0]?.local && r), {
    what: "a selected candidate pair",
  });
  return found;
}

test("the option is on for a public room, off for a private room's link, and a choice is remembered", async () => {
  const page = await openLobby(browser, worker.url + "/");
  const box = page.getByLabel(HIDE);
  assert.equal(await box.isChecked(), true, "a public room: hidden by default");
  assert.equal(await page.getByText("Calls go through the relay server, so others see its address, not yours.").isVisible(), true);
  await screenshot(page, "lobby-privacy.png");

  await page.goto(`${worker.url}/?room=friends&private=1`);
  assert.equal(await box.isChecked(), false, "a private room: shown by default");
  // Another room than the link's is a public one.
  await page.fill("#room-name", "elsewhere");
  assert.equal(await box.isChecked(), true);
  // A new private room is a private room too, whatever the box said for the form's room.
  await page.fill("#nick", "Host");
  await page.click("#new-private");
  await page.waitForFunction(() => window.room.state === "in-call");
  await page.getByRole("button", { name: "Settings" }).click();
  assert.equal(await page.getByRole("dialog").getByLabel(HIDE).isChecked(), false);
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Leave" }).click();

  // Unticked once: remembered, for public rooms too.
  await page.goto(worker.url + "/");
  await box.uncheck();
  await page.reload();
  assert.equal(await box.isChecked(), false);
  // Ticked once: remembered, for private rooms too.
  await page.goto(`${worker.url}/?room=friends&private=1`);
  await box.check();
  await page.goto(worker.url + "/");
  assert.equal(await box.isChecked(), true);
  await page.goto(`${worker.url}/?room=friends&private=1`);
  assert.equal(await box.isChecked(), true);
  await page.context().close();
});

test("hiding my address: only relay candidates on my side, host candidates on the other, video both ways", async () => {
  const hidden = await openLobby(browser, worker.url + "/");
  assert.equal(await hidden.getByLabel(HIDE).isChecked(), true);
  await joinRoom(hidden, "Rey", "relayed");
  const open = await openLobby(browser, worker.url + "/");
  await open.getByLabel(HIDE).uncheck();
  await joinRoom(open, "Ray", "relayed");
  const ids = await Promise.all([hidden, open].map(myId));

  for (const [i, page] of [hidden, open].entries()) {
    await waitConnected(page, 1);
    await waitPlaying(page, [ids[1 - i]]);
    assert.equal(await page.isHidden("#no-relay"), true);
  }
  const mine = await route(hidden);
  const types = (route) => route.gathered.map((candidate) => candidate.type);
  assert.equal(mine.local, "relay", `coturn log:\n${await coturn.log()}`);
  assert.ok(types(mine).length > 0 && types(mine).every((type) => type === "relay"), `gathered: ${types(mine)}`);
  assert.equal((await peers(hidden))[0].iceTransportPolicy, "relay");

  const theirs = await route(open);
  assert.equal(theirs.remote, "relay", "the other side sees only the relay");
  assert.ok(types(theirs).includes("host"), `gathered: ${types(theirs)}`);
  assert.equal((await peers(open))[0].iceTransportPolicy, "all");
  for (const page of [hidden, open]) {
    await page.getByRole("button", { name: "Leave" }).click();
    await page.context().close();
  }
});

test("without a relay on the server: a warning in the call, every candidate used, and the call connects", async () => {
  const pages = [];
  for (const nick of ["Wes", "Vic"]) {
    const page = await openLobby(browser, plainWorker.url + "/");
    assert.equal(await page.getByLabel(HIDE).isChecked(), true);
    await joinRoom(page, nick, "no-relay");
    pages.push(page);
  }
  const ids = await Promise.all(pages.map(myId));
  for (const [i, page] of pages.entries()) {
    await page.getByText(NO_RELAY).waitFor();
    await waitConnected(page, 1);
    await waitPlaying(page, [ids[1 - i]]);
    assert.equal((await peers(page))[0].iceTransportPolicy, "all");
  }
  await screenshot(pages[0], "call-no-relay.png");

  // Unticking the option in the call's settings takes the warning away, and is remembered.
  const [wes] = pages;
  await wes.getByRole("button", { name: "Settings" }).click();
  await wes.getByRole("dialog").getByLabel(HIDE).uncheck();
  await screenshot(wes, "call-settings.png");
  await wes.keyboard.press("Escape");
  assert.equal(await wes.getByText(NO_RELAY).isHidden(), true);
  await wes.getByRole("button", { name: "Leave" }).click();
  await wes.waitForSelector("#lobby:not([hidden])");
  assert.equal(await wes.getByLabel(HIDE).isChecked(), false);
  for (const page of pages) await page.context().close();
});

test("fresh TURN credentials reach every open connection, and an ICE restart allocates with them", async () => {
  const pages = [];
  const frames = [];
  // Fay comes second: her connection to Gus is made at her welcome, with its credentials.
  for (const nick of ["Gus", "Fay"]) {
    const page = await openLobby(browser, shortWorker.url + "/");
    if (nick === "Fay") {
      // What Fay's room socket says and hears.
      page.on("websocket", (ws) => {
        if (!ws.url().includes("/ws/rooms/")) return;
        ws.on("framesent", ({ payload }) => payload !== "ping" && frames.push({ sent: JSON.parse(payload) }));
        ws.on("framereceived", ({ payload }) => payload !== "pong" && frames.push({ received: JSON.parse(payload) }));
      });
    }
    await joinRoom(page, nick, "fresh");
    pages.push(page);
  }
  const [gus, fay] = pages;
  const turnUser = (ice) => ice.iceServers.find((server) => server.username)?.username;
  const welcome = frames.find((f) => f.received?.type === "welcome").received;
  const fresh = await until(() => frames.find((f) => f.received?.type === "ice")?.received, { what: "an ice frame" });
  assert.ok(frames.some((f) => f.sent?.type === "ice"), "Fay asked for it");
  assert.notEqual(turnUser(fresh), turnUser(welcome.ice));
  await waitConnected(fay, 1);
  await until(async () => (await peers(fay))[0].turnUsername === turnUser(fresh), { what: "the connection to use the fresh credentials" });

  // A restart gathers anew: coturn allocates a new relay (a new port), which it does only for
  // credentials it accepts, and the call goes on through it.
  const relayPorts = async () => (await route(fay)).gathered.filter((c) => c.type === "relay").map((c) => c.port);
  const before = await relayPorts();
  await fay.evaluate(() => window.room.restartIce());
  await until(async () => (await relayPorts()).some((port) => !before.includes(port)), { what: "a relay allocated after the restart" });
  await waitConnected(fay, 1);
  await waitPlaying(fay, [await myId(gus)]);
  assert.equal((await route(fay)).local, "relay");
  // Asked once: the next is due a minute before the fresh ones expire, and at least 30 s on.
  assert.equal(frames.filter((f) => f.sent?.type === "ice").length, 1);
  for (const page of pages) await page.context().close();
});

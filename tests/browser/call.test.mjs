// A three-person call in real browsers, driven through the UI: joining, video in every
// direction, chat, mute, switching camera, screen sharing, a dropped socket, leaving; and a
// fourth person on the lobby watching the room's head count. The tests share one call, built
// by the first test that needs it (`theCall`): in file order that is the joining test, but any
// test also runs alone (--test-name-pattern), and a test that fails leaves the call to be built
// afresh for the next one rather than taking the rest of the file down with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_ICE, browserSuite, joinRoom, myId, openLobby, peers, screenshot, sendChat, tagOf, waitConnected, waitPlaying } from "../support/ui.mjs";
import { until } from "../support/wait.mjs";

const ROOM = "standup";

let worker, browser, watcher;
/** The three people, in joining order: { nick, page, id }. Cy uses a phone-sized window. */
const people = [];
const [ada, bob, cy] = [{ nick: "Ada" }, { nick: "Bob" }, { nick: "Cy" }];

browserSuite({ vars: { ...LOCAL_ICE, LIST_AFTER_SECONDS: "0" }, liftLimits: true }, (started) => ({ worker, browser } = started));


/** The tile keys (peer ids) of everyone but `me`. */
const othersOf = (me) => people.filter((p) => p !== me).map((p) => p.id);

/** Waits until the watcher's lobby shows the room with `n` people (0: not listed). */
function lobbyShows(n) {
  return watcher.waitForFunction((n) => window.seenCounts.at(-1) === n, n, { timeout: 10_000 });
}

/** Runs `build` the first time it is called; later calls share that run (until `reset`). */
function once(build) {
  let running = null;
  const shared = () => (running ??= build());
  shared.reset = () => (running = null);
  return shared;
}

/** The fourth person: a lobby page recording every head count it shows for the room. */
const theWatcher = once(async () => {
  watcher = await openLobby(browser, worker.url + "/");
  await watcher.waitForSelector('#lobby-status[data-state="live"]');
  // Record every head count the lobby shows for the room (0: not listed).
  await watcher.evaluate((room) => {
    window.seenCounts = [];
    const record = () => {
      const count = document.querySelector(`#rooms li[data-room="${CSS.escape(room)}"] [data-count]`);
      const n = count ? Number(count.dataset.count) : 0;
      if (window.seenCounts.at(-1) !== n) window.seenCounts.push(n);
    };
    record();
    new MutationObserver(record).observe(document.querySelector("#rooms"), { childList: true, subtree: true, attributes: true });
  }, ROOM);
});

/**
 * The call: Ada, Bob and Cy join one after another through the UI, watched by the lobby.
 * Resolves with the call set-up times (join click to the first remote frame) of the 2nd and
 * 3rd joiner.
 */
const theCall = once(async () => {
  await theWatcher();
  const setup = [];
  for (const person of [ada, bob, cy]) {
    const viewport = person === cy ? { width: 390, height: 760 } : { width: 1280, height: 720 };
    person.page = await openLobby(browser, worker.url + "/", { viewport });
    people.push(person); // from now on, `hangUp` closes this window
    const clicked = await joinRoom(person.page, person.nick, ROOM);
    person.id = await myId(person.page);
    await lobbyShows(people.length);
    if (people.length > 1) {
      // Call set-up: from the click on Join to the first frame of a remote video.
      await person.page.waitForFunction(
        () => [...document.querySelectorAll(".tile[data-peer] video")].some((v) => v.videoWidth > 0),
        null,
        { polling: "raf", timeout: 20_000 },
      );
      setup.push(Date.now() - clicked);
    }
  }
  return setup;
});

/** Closes the three people's windows, so that the next `theCall()` builds the call afresh. */
async function hangUp() {
  await Promise.all(people.splice(0).map(({ page }) => page.context().close()));
  theCall.reset();
}

/**
 * A test on the call: the call is built first if no test did; a failure (of the test, or of
 * building the call) hangs it up, so that the next test starts from a fresh call.
 */
function callTest(name, body) {
  test(name, async (t) => {
    try {
      await theCall();
      await body(t);
    } catch (error) {
      await hangUp();
      throw error;
    }
  });
}

/** Everyone leaves, one after another (Cy, Bob, Ada): the others see each person go. */
const everyoneLeaves = once(async () => {
  await theCall();
  for (const [leaving, ...staying] of [[cy, ada, bob], [bob, ada], [ada]]) {
    await leaving.page.click("#leave-btn");
    await leaving.page.waitForSelector("#lobby:not([hidden])");
    assert.equal(await leaving.page.title(), "Room");
    for (const { page } of staying) {
      await page.waitForSelector(`.tile[data-peer="${leaving.id}"]`, { state: "detached" });
      // "Cy left.", or one line for all of Cy's comings and goings within the minute, such as
      // "Cy joined and left 2 times." (a dropped socket) or "Cy left and came back, then left again."
      const notice = new RegExp(`^${leaving.nick} ${tagOf(leaving.id)} (.* )?left( again| \\d+ times)?\\.$`);
      await page.locator(".notice", { hasText: notice }).waitFor();
      assert.equal(await page.textContent("#head-count"), String(staying.length));
    }
    await lobbyShows(staying.length);
  }
  for (const { page } of people) assert.deepEqual(page.errors, []);
  // Nobody is in the call any more: a later test on it builds a new one.
  await hangUp();
});

test("a fourth person watches the lobby", async () => {
  await theWatcher();
  assert.equal(await watcher.getAttribute("#lobby-status", "data-state"), "live");
});

callTest("three people join through the UI and every video plays", async (t) => {
  const setup = await theCall();
  // Shown, not judged: bench/call-setup.mjs measures the set-up properly (docs/benchmarks.md).
  t.diagnostic(`call set-up, join click to first remote frame: ${setup.map((ms) => `${ms} ms`).join(", ")} (2nd and 3rd joiner)`);

  for (const person of people) {
    await waitPlaying(person.page, othersOf(person));
    await waitConnected(person.page, 2);
    assert.equal(await person.page.textContent("#head-count"), "3");
  }
  await screenshot(watcher, "lobby.png");
});

callTest("chat reaches everyone with the sender's name; the unread marker counts while chat is closed", async () => {
  // Cy's phone-sized window starts with the chat closed.
  assert.equal(await cy.page.getAttribute("#chat-btn", "aria-expanded"), "false");
  await sendChat(ada.page, "Hello from Ada!");
  await bob.page.waitForSelector(".msg:has-text('Hello from Ada')");
  assert.equal(await bob.page.textContent(".msg:has-text('Hello from Ada') .nick"), "Ada");
  await cy.page.waitForSelector("#unread:not([hidden])");
  assert.equal(await cy.page.textContent("#unread"), "1");
  await cy.page.click("#chat-btn");
  await cy.page.waitForSelector("#chat:not([hidden]) .msg:has-text('Hello from Ada')");
  assert.equal(await cy.page.isHidden("#unread"), true);
  await cy.page.click("#chat-close");

  await sendChat(bob.page, "Morning! Ready when you are.");
  await ada.page.waitForSelector(".msg:has-text('Ready when you are') .nick:text-is('Bob')");
  await cy.page.click("#chat-btn");
  await cy.page.fill("#chat-input", "I'll share my screen in a minute.");
  await cy.page.click("#chat-form button[type=submit]");
  await cy.page.click("#chat-close");
  await ada.page.waitForSelector(".msg:has-text('share my screen') .nick:text-is('Cy')");
});

callTest("muting shows the muted indicator to the others", async () => {
  const indicator = `.tile[data-peer="${bob.id}"] .muted-indicator`;
  assert.equal(await ada.page.isVisible(indicator), false);
  await bob.page.click("#mic-btn");
  assert.equal(await bob.page.textContent("#mic-btn span"), "Unmute");
  for (const { page } of [ada, cy]) await page.waitForSelector(indicator, { state: "visible" });
  await screenshot(ada.page, "call.png");
  await screenshot(cy.page, "call-phone.png");
  await bob.page.click("#mic-btn");
  for (const { page } of [ada, cy]) await page.waitForSelector(indicator, { state: "hidden" });
});

callTest("a tile lights up while that person's microphone sends sound, and not when muted", async () => {
  // Chromium's fake microphone beeps.
  const tile = `.tile[data-peer="${cy.id}"]`;
  await ada.page.waitForSelector(`${tile}[data-speaking]`, { timeout: 10_000 });
  await cy.page.click("#mic-btn");
  await ada.page.waitForSelector(`${tile}:not([data-speaking]) .muted-indicator:not([hidden])`);
  await cy.page.click("#mic-btn");
  await ada.page.waitForSelector(`${tile}[data-speaking]`, { timeout: 10_000 });
});

callTest("switching to the second camera keeps the call", async () => {
  const switchTo = async (label) => {
    await ada.page.click("#settings-btn");
    await ada.page.selectOption("#camera-select", { label });
    await until(async () => (await peers(ada.page)).every((p) => p.sending.video === label), { what: `every sender on ${label}` });
    assert.equal(await ada.page.$eval("#camera-select", (s) => s.selectedOptions[0].textContent), label);
    await ada.page.keyboard.press("Escape");
    await ada.page.waitForSelector("#settings", { state: "hidden" });
    for (const person of [bob, cy]) await waitConnected(person.page, 2);
  };
  // Chromium's fake_device_1 produces Y16 (depth) frames, which do not reach the others as
  // moving video: their picture of Ada stands still while she uses it (a real camera's would
  // move). So on it the call must stay up; back on fake_device_0, her video must move again.
  await switchTo("fake_device_1");
  await switchTo("fake_device_0");
  for (const person of [bob, cy]) await waitPlaying(person.page, othersOf(person));
});

callTest("switching microphone and speaker during the call", async () => {
  await bob.page.click("#settings-btn");
  await bob.page.selectOption("#mic-select", { label: "Fake Audio Input 2" });
  await until(async () => (await peers(bob.page)).every((p) => p.sending.audio === "Fake Audio Input 2"), { what: "every sender on the new mic" });
  const speaker = await bob.page.$eval("#speaker-select", (s) => [...s.options].find((o) => o.textContent === "Fake Audio Output 1").value);
  await bob.page.selectOption("#speaker-select", speaker);
  await bob.page.waitForFunction(
    (id) => [...document.querySelectorAll(".tile[data-peer] video")].every((v) => v.sinkId === id),
    speaker,
  );
  await bob.page.click("#settings button[aria-label=Close]");
  await waitConnected(bob.page, 2);
});

callTest("sharing a screen adds a tile for the others and stopping removes it", async () => {
  await bob.page.click("#screen-btn");
  await bob.page.waitForSelector("#screen-btn.active");
  const withScreen = (person) => [...othersOf(person), `${bob.id}:screen`];
  for (const person of [ada, cy]) await waitPlaying(person.page, withScreen(person));
  await screenshot(ada.page, "call-screen.png");

  await bob.page.click("#screen-btn");
  for (const person of [ada, cy]) {
    await person.page.waitForSelector(`.tile[data-peer="${bob.id}"][data-kind="screen"]`, { state: "detached" });
  }
  for (const person of people) {
    await waitPlaying(person.page, othersOf(person));
    await waitConnected(person.page, 2);
  }
});

callTest("a dropped socket reconnects by itself and the call carries on", async () => {
  await cy.page.evaluate(() => window.room.dropSocket());
  await cy.page.waitForSelector("#conn-banner:not([hidden])");
  await cy.page.waitForSelector("#conn-banner", { state: "hidden" });
  assert.equal(await myId(cy.page), cy.id, "the resume token gave back the same id");
  for (const person of people) {
    await waitConnected(person.page, 2);
    await waitPlaying(person.page, othersOf(person));
  }
  await cy.page.click("#chat-btn");
  await sendChat(cy.page, "back again");
  await ada.page.waitForSelector(".msg:has-text('back again')");
});

test("leaving: the others see each person go", async () => {
  await everyoneLeaves();
});

test("the lobby counted 1, 2, 3 and back down to none", async () => {
  // The whole call, up and down (already done when the tests run in order).
  await everyoneLeaves();
  const seen = await watcher.evaluate(() => window.seenCounts);
  // A reconnect may dip to 2 and back in the middle; the rise and the fall must be complete.
  assert.deepEqual(seen.slice(0, 4), [0, 1, 2, 3], `seen: ${seen}`);
  assert.deepEqual(seen.slice(-4), [3, 2, 1, 0], `seen: ${seen}`);
  assert.deepEqual(watcher.errors, []);
});

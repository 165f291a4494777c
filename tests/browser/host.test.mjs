// A room's host and the people in it, in real browsers, as people use the page: Ada (the
// first in, so the host) locks the room; Cy knocks, waits, and Ada lets him in from the notice;
// Ada mutes Bob, asks him to unmute, mutes everyone; hands go up and down; Dee knocks and is
// turned away, then knocks and gives up; a reaction; Ada stops Cy's screen share; Cy renames
// himself, is made a host and gives it up; Ada removes Bob, who cannot come back from the same
// browser; and the lobby shows the room locked. The tests run in file order on one call: each
// starts where the last one left it. Last, on a server of its own, a knock nobody answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";
import { LOCAL_ICE, browserSuite, denyMedia, joinRoom, myId, openLobby, screenshot, tagOf, waitPlaying } from "../support/ui.mjs";

const ROOM = "design-review";

let worker, browser;
browserSuite({ vars: { ...LOCAL_ICE, LIST_AFTER_SECONDS: "0" }, liftLimits: true }, (started) => ({ worker, browser } = started));

/** The people: { nick, page, id }. Dee has no camera: she never gets into the call. */
const [ada, bob, cy, dee] = [{ nick: "Ada" }, { nick: "Bob" }, { nick: "Cy" }, { nick: "Dee" }];

/**
 * The accessible name of a button that acts on a person: what it shows, then whom, as in
 * "Mute Bob #1a2b" (the name between Unicode isolates, the tag after it).
 */
function acting(shown, { nick, id }) {
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escape(shown)} \u2068${escape(nick)}\u2069 ${tagOf(id)}$`);
}

/** Opens the participants panel, if it is not open. */
async function openPeople(page) {
  if ((await page.getAttribute("#people-btn", "aria-pressed")) !== "true") await page.getByRole("button", { name: /^People/ }).click();
  await page.waitForSelector("#people:not([hidden])");
}

/** A person's tile on `page`. */
function tile(page, person) {
  return page.locator(`.tile[data-kind="camera"][data-peer="${person.id}"]`);
}

/** Types a name and the room, clicks Join, and waits at the locked door. */
async function knock(person) {
  await person.page.getByLabel("Your name").fill(person.nick);
  await person.page.getByRole("textbox", { name: "Room", exact: true }).fill(ROOM);
  await person.page.getByRole("button", { name: "Join", exact: true }).click();
  await person.page.waitForFunction(() => window.room.state === "knocking");
}

test("the first in is the host, and locks the room; the others see the lock", async () => {
  // Every page opens now, before the call loads the machine: Dee, without a camera, watches
  // the lobby until her turn.
  [ada.page, bob.page, cy.page, dee.page] = await Promise.all([
    ...[ada, bob, cy].map(() => openLobby(browser, worker.url + "/")),
    openLobby(browser, worker.url + "/", { init: denyMedia }),
  ]);
  for (const person of [ada, bob]) {
    await joinRoom(person.page, person.nick, ROOM);
    person.id = await myId(person.page);
  }
  await openPeople(ada.page);
  const people = ada.page.getByRole("list", { name: "In the room" });
  await people.locator("li", { hasText: "Bob" }).waitFor();
  assert.match(await people.locator("li", { hasText: "(you)" }).textContent(), /Host/);
  await ada.page.getByRole("button", { name: "Lock room" }).click();
  await ada.page.getByRole("button", { name: "Unlock room" }).waitFor();
  for (const { page } of [ada, bob]) await page.waitForSelector("#room-locked:not([hidden])");
  await bob.page.locator(".notice", { hasText: `Ada ${tagOf(ada.id)} locked the room.` }).waitFor();
  // Bob is no host: his panel offers him nothing over Ada.
  await openPeople(bob.page);
  await bob.page.getByRole("list", { name: "In the room" }).locator("li", { hasText: "Ada" }).waitFor();
  assert.equal(await bob.page.getByRole("button", { name: acting("Mute", ada) }).count(), 0);
  assert.equal(await bob.page.isHidden("#host-tools"), true);
});

test("a knock: the newcomer waits, the host admits him from the notice, and he is in the call", async () => {
  await knock(cy);
  assert.equal(await cy.page.getByRole("heading", { name: "Waiting for a host to let you in…" }).isVisible(), true);
  assert.equal(await cy.page.evaluate(() => document.activeElement.textContent), "Cancel");
  await screenshot(cy.page, "knocking.png");

  // The notice, without taking the focus from where Ada is.
  const focused = await ada.page.evaluate(() => document.activeElement.outerHTML);
  const notice = ada.page.locator("#toasts .toast", { hasText: "Cy" });
  await notice.filter({ hasText: "wants to join." }).waitFor();
  assert.equal(await ada.page.evaluate(() => document.activeElement.outerHTML), focused);
  // The same knock in the panel's Waiting section.
  await ada.page.getByRole("list", { name: "Waiting to join" }).locator("li", { hasText: "Cy" }).waitFor();
  assert.equal(await ada.page.getAttribute("#people-btn", "aria-label"), "People, 1 person waiting");
  await notice.getByRole("button", { name: /^Admit \u2068Cy\u2069 #/ }).click();

  await cy.page.waitForFunction(() => window.room.state === "in-call");
  cy.id = await myId(cy.page);
  await cy.page.waitForSelector("#knock-wait", { state: "hidden" });
  await notice.waitFor({ state: "detached" });
  await ada.page.waitForSelector("#waiting", { state: "hidden" });
  for (const person of [ada, bob, cy]) {
    await waitPlaying(person.page, [ada, bob, cy].filter((p) => p !== person).map((p) => p.id));
  }
});

/** Waits until `page` shows `person` muted (`muted`) or not, and plays their sound only if not. */
async function showsMuted(page, person, muted) {
  await tile(page, person).locator(".muted-indicator").waitFor({ state: muted ? "visible" : "hidden" });
  assert.equal(await tile(page, person).locator("video").evaluate((video) => video.muted), muted);
}

test("the host mutes someone: every page shows it, and their microphone is off", async () => {
  await ada.page.getByRole("button", { name: acting("Mute", bob) }).click();
  await bob.page.locator("#toasts", { hasText: `Ada ${tagOf(ada.id)} muted you.` }).waitFor();
  assert.equal(await bob.page.textContent("#mic-btn span"), "Unmute");
  // Not played either, whatever Bob's page might still send.
  for (const { page } of [ada, cy]) await showsMuted(page, bob, true);
  // The host can only ask: the Mute button became Ask to unmute, and has the focus Mute had.
  const ask = ada.page.getByRole("button", { name: acting("Ask to unmute", bob) });
  await ask.waitFor();
  assert.equal(await ask.evaluate((button) => button === document.activeElement), true);
  // Asked, Bob decides to.
  await ask.click();
  await bob.page.locator("#toasts .toast", { hasText: "asks you to unmute." }).getByRole("button", { name: "Unmute my microphone" }).click();
  await bob.page.waitForFunction(() => document.querySelector("#mic-btn span").textContent === "Mute");
  for (const { page } of [ada, cy]) await showsMuted(page, bob, false);

  // Everyone but the host.
  await ada.page.getByRole("button", { name: "Mute all" }).click();
  for (const { page } of [bob, cy]) await page.waitForFunction(() => document.querySelector("#mic-btn span").textContent === "Unmute");
  assert.equal(await ada.page.textContent("#mic-btn span"), "Mute");
  for (const person of [bob, cy]) await showsMuted(ada.page, person, true);
});

test("raised hands show on every page, first in the host's list; the host lowers one", async () => {
  await cy.page.getByRole("button", { name: "Raise hand" }).click();
  await cy.page.waitForSelector('#hand-btn[aria-pressed="true"]');
  for (const { page } of [ada, bob]) await tile(page, cy).getByRole("img", { name: "Hand raised" }).waitFor();
  const first = ada.page.getByRole("list", { name: "In the room" }).locator("li").first();
  await first.filter({ hasText: "Cy" }).waitFor();
  assert.equal(await first.getByRole("img", { name: "Hand raised" }).count(), 1);

  // A fourth knocks meanwhile: the host's view, with someone waiting.
  await knock(dee);
  await ada.page.getByRole("list", { name: "Waiting to join" }).locator("li", { hasText: "Dee" }).waitFor();
  await ada.page.mouse.move(0, 0);
  await screenshot(ada.page, "host-panel.png");

  await ada.page.getByRole("button", { name: acting("Lower hand of", cy) }).click();
  await cy.page.waitForSelector('#hand-btn[aria-pressed="false"]');
  await cy.page.locator("#toasts", { hasText: "Ada" }).filter({ hasText: "lowered your hand." }).waitFor();
  await tile(bob.page, cy).getByRole("img", { name: "Hand raised" }).waitFor({ state: "hidden" });
});

test("a knock turned away: back in the lobby, told who said no; a knock given up", async () => {
  await ada.page.getByRole("list", { name: "Waiting to join" }).getByRole("button", { name: /^Deny \u2068Dee\u2069 #/ }).click();
  await dee.page.waitForSelector("#lobby:not([hidden])");
  await dee.page.waitForFunction(() => window.room.state === "lobby");
  assert.equal(await dee.page.textContent("#join-error"), "Ada did not let you in.");
  await ada.page.waitForSelector("#waiting", { state: "hidden" });

  // Again, and this time Dee gives up: the host's notice goes with her.
  await knock(dee);
  await ada.page.locator("#toasts .toast", { hasText: "Dee" }).waitFor();
  await dee.page.getByRole("button", { name: "Cancel" }).click();
  await dee.page.waitForFunction(() => window.room.state === "lobby");
  assert.equal(await dee.page.textContent("#join-error"), "");
  await ada.page.locator("#toasts .toast", { hasText: "Dee" }).waitFor({ state: "detached" });
  await ada.page.waitForSelector("#waiting", { state: "hidden" });
});

test("a reaction floats over the sender's tile on the others' pages", async () => {
  await bob.page.getByRole("button", { name: "React" }).click();
  await bob.page.getByRole("button", { name: "Celebrate" }).click();
  for (const { page } of [ada, cy]) assert.equal(await tile(page, bob).locator(".reaction").textContent(), "🎉");
  await bob.page.locator('.tile[data-local][data-kind="camera"] .reaction').waitFor();
  // Not in the chat's history.
  assert.equal(await ada.page.locator("#messages", { hasText: "🎉" }).count(), 0);
});

test("the host stops someone's screen share", async () => {
  await cy.page.getByRole("button", { name: "Share screen" }).click();
  await cy.page.waitForSelector("#screen-btn.active");
  await ada.page.locator(`.tile[data-kind="screen"][data-peer="${cy.id}"]`).waitFor();
  await ada.page.getByRole("button", { name: acting("Stop screen share of", cy) }).click();
  await cy.page.waitForSelector("#screen-btn:not(.active)");
  await cy.page.locator("#toasts", { hasText: "stopped your screen share." }).waitFor();
  for (const { page } of [ada, bob]) await page.locator(`.tile[data-kind="screen"][data-peer="${cy.id}"]`).waitFor({ state: "detached" });
});

test("renaming in the call: the others' tiles and lists follow, and they are told", async () => {
  await openPeople(cy.page);
  await cy.page.getByRole("button", { name: "Rename yourself" }).click();
  // A name like someone's present is refused, in the form.
  await cy.page.getByLabel("Your new name").fill("ADA");
  await cy.page.getByRole("button", { name: "Save" }).click();
  await cy.page.getByRole("alert").filter({ hasText: "looks like" }).waitFor();
  assert.equal(await cy.page.getByLabel("Your new name").getAttribute("aria-invalid"), "true");
  await cy.page.getByLabel("Your new name").fill("Cyril");
  await cy.page.keyboard.press("Enter");
  await cy.page.getByRole("button", { name: "Rename yourself" }).waitFor();
  for (const { page } of [ada, bob]) {
    await tile(page, cy).locator(".name", { hasText: "Cyril" }).waitFor();
    // In the chat, closed on Ada's page while her panel is open.
    await page.locator(".notice", { hasText: `Cy ${tagOf(cy.id)} is now Cyril.` }).waitFor({ state: "attached" });
  }
  await ada.page.getByRole("list", { name: "In the room" }).locator("li", { hasText: "Cyril" }).waitFor();
  cy.nick = "Cyril";
});

test("a host makes another a host, who gives the role up again", async () => {
  await ada.page.getByRole("button", { name: acting("Make host", cy) }).click();
  await cy.page.locator("#toasts", { hasText: "You are now a host." }).waitFor();
  await cy.page.waitForSelector("#host-tools:not([hidden])");
  // Hosts cannot act on each other's role, but can on anyone else.
  await cy.page.getByRole("button", { name: acting("Mute", ada) }).waitFor();
  assert.equal(await cy.page.getByRole("button", { name: acting("Make host", ada) }).count(), 0);
  await cy.page.getByRole("button", { name: "Give up host" }).click();
  await cy.page.locator("#toasts", { hasText: "You are no longer a host." }).waitFor();
  await cy.page.waitForSelector("#host-tools", { state: "hidden" });
  await ada.page.getByRole("button", { name: acting("Make host", cy) }).waitFor();
});

test("the host removes someone: they land in the lobby told by whom, and cannot walk back in", async () => {
  await ada.page.getByRole("button", { name: acting("Remove", bob) }).click();
  // A confirmation first, with the focus on it.
  const confirm = ada.page.getByRole("button", { name: acting("Yes, remove", bob) });
  assert.equal(await confirm.evaluate((button) => button === document.activeElement), true);
  await confirm.click();
  await bob.page.waitForSelector("#lobby:not([hidden])");
  assert.equal(await bob.page.textContent("#join-error"), "Ada removed you from the room.");
  for (const { page } of [ada, cy]) await tile(page, bob).waitFor({ state: "detached" });
  // The same browser, again: refused.
  await bob.page.getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.waitForFunction(() => window.room.state === "lobby" && document.querySelector("#join-error").textContent === "You were removed from this room.");
});

test("the lobby shows the room locked, with its count", async () => {
  const row = dee.page.locator(`#rooms li[data-room="${ROOM}"]`);
  await row.getByRole("img", { name: "locked" }).waitFor();
  await row.locator('[data-count="2"]').waitFor();
  for (const { page } of [ada, bob, cy, dee]) await page.context().close();
});

test("a knock nobody answers: back in the lobby, told so", async () => {
  const quick = await startWorker({ vars: { ...LOCAL_ICE, KNOCK_TIMEOUT_MS: "1500" }, liftLimits: true });
  try {
    // The host is a websocket client who locks the room and then says nothing.
    const host = await quick.join(ROOM, "Host");
    host.client.send({ type: "lock", locked: true });
    await host.client.next("room");
    const page = await openLobby(browser, quick.url + "/", { init: denyMedia });
    await knock({ page, nick: "Eve" });
    await page.waitForFunction(() => window.room.state === "lobby", null, { timeout: 10_000 });
    assert.equal(await page.textContent("#join-error"), "Nobody let you in.");
    await page.context().close();
    await host.client.close();
  } finally {
    await quick.stop();
  }
});

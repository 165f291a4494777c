// Accessibility, checked by a real engine and by a keyboard. axe-core (npm, injected into the
// page) scans the lobby, the pre-join card of a room's link, a call with the chat open, the
// People panel, the Settings dialog (devices) and the operator page, in Korean and in English:
// no violation of impact "serious" or "critical" may remain; lighter ones are printed as
// diagnostics. Then a whole visit by keyboard alone: join, mute, share the screen, chat,
// leave, with the toggles saying their state. And a call's buttons all on screen at window
// widths from 320 px to 1280 (reflow), in both languages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ROOT } from "../support/worker.mjs";
import { LOCAL_ICE, browserSuite, openLobby, watchErrors } from "../support/ui.mjs";

const TOKEN = "a11y-test-token";
let worker, browser;
// Rooms are listed at once, so that the lobby's list has a room (and its buttons) to scan.
browserSuite({ vars: { ...LOCAL_ICE, ADMIN_TOKEN: TOKEN, LIST_AFTER_SECONDS: "0" }, liftLimits: true }, (started) => ({ worker, browser } = started));

const AXE = await readFile(path.join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");
const BLOCKING = new Set(["serious", "critical"]);

/**
 * Scans the page as it is with axe-core: fails on a serious or critical violation (naming the
 * rule and the elements), and returns the lighter ones as lines for the diagnostics.
 */
async function scan(page, what) {
  // Evaluated through the driver, not a <script>: the site's CSP allows no inline script.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }).then((result) => result.violations));
  const describe = ({ impact, id, help, nodes }) => `${what}: ${impact} ${id} (${help}) at ${nodes.map((node) => node.target.join(" ")).join(", ")}`;
  assert.deepEqual(violations.filter((v) => BLOCKING.has(v.impact)).map(describe), [], what);
  return violations.map(describe);
}

for (const locale of ["ko-KR", "en-US"]) {
  test(`axe finds nothing serious in the lobby, a call, its panels and dialog, and the operator page (${locale})`, async (t) => {
    const lighter = [];
    const room = `a11y-${locale}`;
    const ann = await worker.join(room, "Ann");
    const page = await openLobby(browser, worker.url + "/", { locale });
    // Without motion, as the site honours it: a button caught in its 0.15 s colour transition
    // (the Join button, as the page goes live) has a contrast that is neither its old nor its
    // new one, and axe failed on it once in a CI run.
    await page.emulateMedia({ reducedMotion: "reduce" });
    await page.locator(`#rooms li[data-room="${room}"]`).waitFor();
    lighter.push(...(await scan(page, "lobby")));

    await page.goto(`${worker.url}/?room=${room}`);
    await page.waitForSelector('#lobby-status[data-state="live"]');
    lighter.push(...(await scan(page, "pre-join card")));

    await page.fill("#nick", "Minji");
    await page.click("#join");
    await page.waitForFunction(() => window.room.state === "in-call");
    ann.client.send({ type: "chat", text: "hello" });
    await page.locator(".msg", { hasText: "hello" }).waitFor();
    lighter.push(...(await scan(page, "call with the chat open")));

    await page.click("#people-btn");
    await page.locator("#people-list li").nth(1).waitFor();
    lighter.push(...(await scan(page, "People panel")));

    await page.click("#settings-btn");
    await page.waitForSelector("#settings[open]");
    lighter.push(...(await scan(page, "Settings dialog (devices)")));
    await page.context().close();

    const context = await browser.newContext({ locale });
    const admin = watchErrors(await context.newPage());
    await admin.goto(`${worker.url}/admin.html`);
    lighter.push(...(await scan(admin, "operator sign-in")));
    await admin.fill("#token", TOKEN);
    await admin.click("button[type=submit]");
    await admin.locator(".room h2", { hasText: room }).waitFor();
    lighter.push(...(await scan(admin, "operator rooms")));
    await context.close();
    await ann.client.close();
    for (const line of lighter) t.diagnostic(line);
  });
}

/** Presses Tab until the element `id` has the focus (at most `max` times); fails if it never does. */
async function tabTo(page, id, max = 40) {
  for (let i = 0; i < max; i++) {
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
    await page.keyboard.press("Tab");
  }
  assert.fail(`Tab never reached #${id}`);
}

/** The next chat message someone else sent that the member gets, past any other frame. */
async function nextChat({ client, id }) {
  for (;;) {
    const frame = await client.next();
    if (frame.type === "chat" && frame.from !== id) return frame;
  }
}

/** The accessible name and pressed or expanded state of the focused element. */
function focusedState(page) {
  return page.evaluate(() => {
    const node = document.activeElement;
    return { id: node.id, name: node.getAttribute("aria-label") ?? node.textContent.trim(), expanded: node.getAttribute("aria-expanded") };
  });
}

test("a visit by keyboard alone: join, mute, chat, leave; the toggles say their state", async () => {
  const room = "keyboard";
  const ann = await worker.join(room, "Ann");
  const page = await openLobby(browser, worker.url + "/", { locale: "en-US" });
  await page.waitForSelector('#lobby-status[data-state="live"]');

  // The name field has the focus on arrival; Tab goes on to the room; Enter joins.
  await tabTo(page, "nick");
  await page.keyboard.type("Keys");
  await page.keyboard.press("Tab");
  await page.keyboard.type(room);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.room.state === "in-call");

  // In the call the chat is open with the focus in its field: type and send.
  assert.equal(await page.evaluate(() => document.activeElement.id), "chat-input");
  await page.keyboard.type("typed, not clicked");
  await page.keyboard.press("Enter");
  assert.equal((await nextChat(ann)).text, "typed, not clicked");

  // Mute with the Space bar: the button's name says the new state.
  await tabTo(page, "mic-btn");
  assert.equal((await focusedState(page)).name, "Mute");
  await page.keyboard.press("Space");
  await page.waitForFunction(() => document.activeElement.textContent.trim() === "Unmute");
  assert.equal(await page.evaluate(() => window.room.me && document.querySelector("#mic-btn").dataset.off), "true");
  // The camera and the screen share say theirs the same way.
  await tabTo(page, "cam-btn");
  assert.equal((await focusedState(page)).name, "Stop video");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement.textContent.trim() === "Start video");
  await tabTo(page, "screen-btn");
  assert.equal((await focusedState(page)).name, "Share screen");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement.textContent.trim() === "Stop sharing");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement.textContent.trim() === "Share screen");

  // The chat toggle says whether the chat is open; closing and opening it again by keyboard.
  await tabTo(page, "chat-btn");
  assert.deepEqual(await focusedState(page), { id: "chat-btn", name: "Chat", expanded: "true" });
  await page.keyboard.press("Enter");
  assert.equal(await page.isHidden("#chat"), true);
  assert.equal(await page.getAttribute("#chat-btn", "aria-expanded"), "false");
  ann.client.send({ type: "chat", text: "while it was closed" });
  await page.waitForFunction(() => document.querySelector("#chat-btn").getAttribute("aria-label") === "Chat, 1 unread");
  await page.keyboard.press("Enter");
  assert.equal(await page.getAttribute("#chat-btn", "aria-expanded"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "chat-input");
  await page.keyboard.type("back again");
  await page.keyboard.press("Enter");
  assert.equal((await nextChat(ann)).text, "back again");

  // Leave with Enter: the lobby, with the focus on Join.
  await tabTo(page, "leave-btn");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.room.state === "lobby");
  assert.equal(await page.evaluate(() => document.activeElement.id), "join");
  await ann.client.close();
  await page.context().close();
});

// WCAG's reflow criterion (1.4.10): no function lost from a window 320 px wide up. The call's
// row of buttons once overflowed on both sides between 600 and 900 px (a tablet held upright):
// Mute and Leave were off screen, where no scrolling reached them.
for (const locale of ["ko-KR", "en-US"]) {
  test(`every call button is on screen, whole, from 320 px wide to 1280 (${locale})`, async () => {
    const page = await openLobby(browser, worker.url + "/", { locale });
    await page.fill("#nick", "Wide");
    await page.fill("#room-name", `reflow-${locale}`);
    await page.click("#join");
    await page.waitForFunction(() => window.room.state === "in-call");
    const offScreen = [];
    for (const width of [320, 390, 600, 601, 640, 768, 900, 941, 1024, 1280]) {
      await page.setViewportSize({ width, height: 700 });
      const outside = await page.evaluate(() =>
        [...document.querySelectorAll(".controls button")]
          .filter((button) => button.checkVisibility())
          .filter((button) => {
            const { left, right, top, bottom } = button.getBoundingClientRect();
            return left < 0 || right > innerWidth || top < 0 || bottom > innerHeight;
          })
          .map((button) => button.id),
      );
      if (outside.length) offScreen.push(`${width} px: ${outside.join(", ")}`);
    }
    assert.deepEqual(offScreen, []);
    await page.context().close();
  });
}

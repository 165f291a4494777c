// The server is stopped and started again in the middle of a three-person call (as a
// redeploy or a crash would do): every browser reconnects by itself, the lobby and the room
// are right again, chat works, and the videos play again.
import { test, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";
import { freePort } from "../support/net.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { LOCAL_ICE, checkPageErrors, joinRoom, myId, openLobby, waitConnected, waitPlaying } from "../support/ui.mjs";
import { until } from "../support/wait.mjs";

/** Documented in docs/security.md: how long browsers take to be back in the call. */
const RECOVERY_BUDGET_MS = 30_000;

let worker, browser;
after(async () => {
  await browser?.close();
  await worker?.stop();
});
// A page that throws fails the test it threw in.
afterEach(checkPageErrors);

test("a restart mid-call: everyone reconnects, chat works, the videos play again", async (t) => {
  const port = await freePort();
  [worker, browser] = await Promise.all([startWorker({ port, vars: { ...LOCAL_ICE, LIST_AFTER_SECONDS: "0" }, liftLimits: true }), launchBrowser()]);
  const people = [];
  for (const nick of ["Ada", "Bob", "Cy"]) {
    const page = await openLobby(browser, worker.url + "/");
    await joinRoom(page, nick, "restart");
    people.push({ nick, page });
  }
  for (const { page } of people) await waitConnected(page, 2);

  // Every socket drops at once; nothing is listening for a moment.
  await worker.stop();
  worker = null;
  for (const { page } of people) await page.waitForSelector("#conn-banner:not([hidden])");
  const restarted = Date.now();
  worker = await startWorker({ port, vars: { ...LOCAL_ICE, LIST_AFTER_SECONDS: "0" }, liftLimits: true });

  // Back in the call: banner gone, two connected peers each, all remote videos playing.
  for (const person of people) {
    await person.page.waitForSelector("#conn-banner", { state: "hidden", timeout: RECOVERY_BUDGET_MS });
    person.id = await myId(person.page);
  }
  for (const { page } of people) await waitConnected(page, 2, RECOVERY_BUDGET_MS);
  for (const person of people) {
    const others = people.filter((p) => p !== person).map((p) => p.id);
    await waitPlaying(person.page, others, RECOVERY_BUDGET_MS);
  }
  const recovered = Date.now() - restarted;
  t.diagnostic(`after the restart, every browser was back in the call with video in ${recovered} ms`);
  assert.ok(recovered < RECOVERY_BUDGET_MS);

  // The rebuilt room and lobby agree with the browsers.
  for (const { page } of people) assert.equal(await page.textContent("#head-count"), "3");
  const rooms = await until(
    async () => {
      const { rooms } = await (await fetch(worker.url + "/api/rooms")).json();
      return rooms.find((r) => r.name === "restart" && r.count === 3) && rooms;
    },
    { what: "the lobby to list the room with 3 people" },
  );
  assert.deepEqual(rooms.filter((r) => r.name === "restart"), [{ name: "restart", count: 3, locked: false }]);

  // Chat reaches everyone again.
  const [ada, bob, cy] = people;
  if (!(await ada.page.isVisible("#chat-input"))) await ada.page.click("#chat-btn");
  await ada.page.fill("#chat-input", "we are back");
  await ada.page.press("#chat-input", "Enter");
  for (const { page } of [bob, cy]) await page.waitForSelector(".msg:has-text('we are back')");
});

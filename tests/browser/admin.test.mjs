// The operator page (site/admin.html) in a real browser: the token typed in and kept only in
// memory, the listing shown as text, and removing a participant.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserSuite, tagOf, watchErrors } from "../support/ui.mjs";

const TOKEN = "page-test-token-42";
let worker, browser;
browserSuite({ vars: { ADMIN_TOKEN: TOKEN }, liftLimits: true }, (started) => ({ worker, browser } = started));

test("the operator page lists rooms as text and removes a participant", async () => {
  const nasty = `<img src=x onerror=alert(1)>`;
  const a = await worker.join("standup", "ann");
  const b = await worker.join("standup", nasty);
  const s = await worker.join("secret-xyz", "sam", { private: true });

  const page = watchErrors(await browser.newPage());
  const dialogs = [];
  page.on("dialog", (dialog) => (dialogs.push([dialog.type(), dialog.message()]), dialog.accept()));
  await page.goto(`${worker.url}/admin.html`);

  await page.fill("#token", "wrong");
  await page.click("button[type=submit]");
  await page.waitForSelector("#status.error");
  assert.match(await page.textContent("#status"), /not right/);
  assert.equal(await page.isVisible("#view"), false);

  await page.fill("#token", TOKEN);
  await page.click("button[type=submit]");
  await page.waitForSelector("text=secret-xyz");
  // The token left the field and was stored nowhere.
  assert.equal(await page.inputValue("#token"), "");
  const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length, location.href]);
  assert.deepEqual(stored.slice(0, 2), [0, 0]);
  assert.ok(!stored[2].includes(TOKEN));

  const cards = await page.$$eval(".room", (cards) =>
    cards.map((card) => ({
      title: card.querySelector("h2").textContent,
      nicks: [...card.querySelectorAll("td.nick")].map((td) => [td.querySelector("bdi").textContent, td.querySelector(".tag").textContent]),
    })),
  );
  assert.deepEqual(cards.map((card) => card.title), ["standuppublic2 people", "secret-xyzprivate1 person"]);
  // Each name isolated in a <bdi>, with the tag of the id after it.
  assert.deepEqual(cards[0].nicks.sort(), [["ann", tagOf(a.id)], [nasty, tagOf(b.id)]].sort());
  assert.deepEqual(cards[1].nicks, [["sam", tagOf(s.id)]]);
  // The nickname stayed text: no image element was made (so no handler ran).
  assert.equal(await page.$$eval(".rooms img", (imgs) => imgs.length), 0);

  // Names in text (the button's label, the confirmation, the status line) are between Unicode
  // isolates (FSI, PDI): right-to-left characters in them cannot reorder the words around them.
  const ann = `\u2068ann\u2069 ${tagOf(a.id)}`;
  await page.getByRole("button", { name: `Remove ${ann} from \u2068standup\u2069` }).click();
  assert.equal((await a.client.closed).code, 4003);
  const left = await b.client.next("peer_left");
  assert.equal(left.id, a.id);
  await page.waitForFunction((text) => document.querySelector("#status").textContent === text, `Removed ${ann} from \u2068standup\u2069.`);
  await page.waitForFunction(() => !document.querySelector(".rooms").textContent.includes("ann"));

  await page.click("#forget");
  assert.equal(await page.isVisible("#view"), false);
  assert.equal(await page.$$eval(".room", (cards) => cards.length), 0);
  // One dialog: the confirmation of the removal (an alert would mean a nickname ran).
  assert.deepEqual(dialogs, [["confirm", `Remove ${ann} from \u2068standup\u2069? Their connection is closed.`]]);

  await page.close();
  await Promise.all([b.client.close(), s.client.close()]);
});

test("the operator finds a room by name, listed or not, and goes back to all rooms", async () => {
  const hidden = await worker.join("hidden-room", "hana", { private: true });
  const page = watchErrors(await browser.newPage());
  await page.goto(`${worker.url}/admin.html`);
  await page.fill("#token", TOKEN);
  await page.click("button[type=submit]");
  await page.waitForSelector("#view:not([hidden])");

  await page.getByLabel("Find a room by name").fill("hidden-room");
  await page.getByRole("button", { name: "Find" }).click();
  // The list of all rooms shows this one room too: wait for the answer to the search.
  await page.waitForSelector("#show-all:not([hidden])");
  assert.equal(await page.textContent(".room h2"), "hidden-roomprivate1 person");
  assert.match(await page.textContent("#summary"), /hidden-room.*1 person/);
  await page.getByRole("button", { name: "Show all rooms" }).click();
  await page.waitForSelector("#show-all", { state: "hidden" });

  // A name nobody is in says so rather than showing nothing.
  await page.getByLabel("Find a room by name").fill("nobody-here");
  await page.getByRole("button", { name: "Find" }).click();
  await page.waitForSelector("text=No one is in");
  await page.close();
  await hidden.client.close();
});

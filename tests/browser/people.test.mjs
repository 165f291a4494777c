// How the call page shows people, when some of them try to confuse the others: look-alike
// names told apart by the tag of their id, right-to-left names that cannot reorder the text
// around them, and join/leave notices that a reconnect loop cannot flood the chat with. The
// others are websocket clients (tests/support/worker.mjs `join`), one browser page watches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_ICE, browserSuite, denyMedia, joinRoom, myId, openLobby, screenshot, tagOf } from "../support/ui.mjs";

let worker, browser;
browserSuite({ vars: LOCAL_ICE, liftLimits: true }, (started) => ({ worker, browser } = started));


/** Leaves the room the way the web client does, and waits until the room has closed the socket. */
async function leave({ client }) {
  client.send({ type: "leave" });
  await client.closed;
}

/** The watcher: a person without camera or microphone (this is about text) in `room`. */
async function watch(room) {
  const page = await openLobby(browser, worker.url + "/", { init: denyMedia });
  await joinRoom(page, "Watcher", room);
  return page;
}

test("names that look alike are told apart by the tag of their id", async () => {
  const room = "lookalikes";
  const page = await watch(room);
  // Latin "Cox", the same in lower case, and all in Cyrillic: one after another, each saying
  // hello, the last one staying (the room refuses a name that looks like one present's).
  const names = ["Cox", "cox", "\u0421\u043e\u0445"];
  const ids = [];
  for (const [i, nick] of names.entries()) {
    const member = await worker.join(room, nick);
    ids.push(member.id);
    member.client.send({ type: "chat", text: `hello ${i}` });
    await page.locator(".msg", { hasText: `hello ${i}` }).waitFor();
    if (i < names.length - 1) await leave(member);
  }

  const authors = await page.locator(".msg").evaluateAll((items) =>
    items.map((item) => [item.querySelector(".nick").textContent, item.querySelector(".tag").textContent]),
  );
  assert.deepEqual(authors, names.map((nick, i) => [nick, tagOf(ids[i])]));
  assert.equal(new Set(authors.map(([, tag]) => tag)).size, 3, "three different tags");

  // The one still here: the tag on their tile is that of the id the page knows them by.
  const [present] = await page.evaluate(() => window.room.peers());
  assert.equal(present.id, ids[2]);
  const tile = page.locator(`.tile[data-peer="${present.id}"]`);
  assert.equal(await tile.locator(".name").textContent(), names[2]);
  assert.equal(await tile.locator(".tag").textContent(), tagOf(present.id));
  // My own tile has my tag too, to tell the others which one I am.
  assert.equal(await page.locator('.tile[data-local][data-kind="camera"] .tag').textContent(), tagOf(await myId(page)));
  await screenshot(page, "call-lookalikes.png");
  await page.context().close();
});

test("a right-to-left name cannot reorder the text after it", async () => {
  const room = "bidi";
  // A tag that starts with a digit is what right-to-left text would pull to its side: "#1"
  // would show before the name. Ids are random; join until one starts with a digit.
  let member;
  for (;;) {
    member = await worker.join(room, "אבג");
    if (/^\d/.test(member.id)) break;
    await leave(member);
  }
  const page = await watch(room);
  member.client.send({ type: "chat", text: "שלום" });
  await page.locator(".msg", { hasText: "שלום" }).waitFor();
  await leave(member);
  const notice = page.locator(".notice", { hasText: "left." });
  await notice.waitFor();
  assert.equal(await notice.textContent(), `אבג ${tagOf(member.id)} left.`);
  // Laid out left to right as written: the whole tag to the right of the name.
  const [nick, tag] = await notice.evaluate((line) =>
    [".nick", ".tag"].map((part) => {
      const box = line.querySelector(part).getBoundingClientRect();
      return { left: box.left, right: box.right };
    }),
  );
  assert.ok(tag.left >= nick.right, `name at ${JSON.stringify(nick)}, tag at ${JSON.stringify(tag)}`);
  await page.context().close();
});

test("someone joining and leaving 30 times makes one notice line, changed at most every 2 s", async () => {
  const room = "flood";
  const page = await watch(room);
  // Everything a screen reader is told: what is added to the page's polite live region.
  await page.evaluate(() => {
    window.announced = 0;
    new MutationObserver((records) => (window.announced += records.reduce((n, r) => n + r.addedNodes.length, 0))).observe(
      document.querySelector("#announcer"),
      { childList: true },
    );
  });
  const started = Date.now();
  let last;
  for (let i = 0; i < 30; i++) {
    last = await worker.join(room, "Mallory");
    await leave(last);
  }
  const line = page.locator(".notice", { hasText: "Mallory" });
  await page.locator(".notice", { hasText: "Mallory" }).filter({ hasText: "30 times" }).waitFor();
  const elapsed = Date.now() - started;
  assert.equal(await line.count(), 1);
  assert.equal(await line.textContent(), `Mallory ${tagOf(last.id)} joined and left 30 times.`);
  const announced = await page.evaluate(() => window.announced);
  assert.ok(announced <= Math.ceil(elapsed / 2000) + 1, `${announced} announcements in ${elapsed} ms`);
  assert.equal(await page.getAttribute("#announcer", "aria-live"), "polite");

  // Someone else coming and going once reads as it always did.
  const bob = await worker.join(room, "Bob");
  const bobLine = page.locator(".notice", { hasText: "Bob" });
  await bobLine.filter({ hasText: "joined." }).waitFor();
  assert.equal(await bobLine.textContent(), `Bob ${tagOf(bob.id)} joined.`);
  await leave(bob);
  await bobLine.filter({ hasText: "joined and left." }).waitFor();
  assert.equal(await bobLine.count(), 1);
  await screenshot(page, "call-notices.png");
  await page.context().close();
});

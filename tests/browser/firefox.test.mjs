// Firefox in a call with Chromium: Ann (Chromium), Fox (Firefox ESR) and Bea (Chromium) join one
// room through the UI. Video plays in every direction, chat, mute and camera-off show across
// the two engines, a Chromium screen share plays in Firefox, and Firefox's dropped socket
// reconnects with its identity. Firefox is where WebRTC calls most often break (codecs, DTLS,
// the details of perfect negotiation), so it is driven as a person would, like Chromium.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_ICE, browserSuite, joinRoom, myId, openLobby, screenshot, sendChat, waitConnected, waitFor, waitPlaying } from "../support/ui.mjs";
import { launchFirefox } from "../support/firefox.mjs";

const ROOM = "two-engines";

let worker, chromium, firefox;
browserSuite({ vars: LOCAL_ICE, liftLimits: true }, (started) => ({ worker, browser: chromium } = started));
before(async () => {
  firefox = await launchFirefox();
});
after(() => firefox?.close());

const ann = { nick: "Ann", engine: () => chromium };
const fox = { nick: "Fox", engine: () => firefox };
const bea = { nick: "Bea", engine: () => chromium };
const people = [ann, fox, bea];

/** The tile keys (peer ids) of everyone but `me`. */
const othersOf = (me) => people.filter((p) => p !== me).map((p) => p.id);

/** What `viewer`'s page shows on `person`'s tile: muted, camera on or off. */
function tileState(viewer, person) {
  return viewer.page.evaluate((id) => {
    const tile = document.querySelector(`.tile[data-peer="${id}"][data-kind="camera"]`);
    return { muted: tile.hasAttribute("data-muted"), camera: tile.dataset.camera };
  }, person.id);
}

/** Waits until every other page shows `person`'s tile as `state` ({ muted } and/or { camera }). */
async function othersSee(person, state) {
  for (const viewer of people.filter((p) => p !== person)) {
    await waitFor(
      viewer.page,
      ({ id, want }) => {
        const tile = document.querySelector(`.tile[data-peer="${id}"][data-kind="camera"]`);
        const seen = { muted: tile?.hasAttribute("data-muted"), camera: tile?.dataset.camera };
        return Object.entries(want).every(([key, value]) => seen[key] === value);
      },
      { id: person.id, want: state },
    );
  }
}

/** Waits until `person`'s chat shows a line `text` from `from`. */
function sees(person, from, text) {
  return waitFor(
    person.page,
    ({ from, text }) =>
      [...document.querySelectorAll("#chat .msg")].some((m) => m.querySelector(".nick")?.textContent === from && m.textContent.includes(text)),
    { from, text },
  );
}

test("Chromium, Firefox and Chromium join one call and every video plays both ways", async (t) => {
  for (const person of people) {
    person.page = await openLobby(person.engine(), worker.url + "/");
    await joinRoom(person.page, person.nick, ROOM);
    person.id = await myId(person.page);
  }
  for (const person of people) {
    await waitPlaying(person.page, othersOf(person));
    await waitConnected(person.page, 2);
  }
  // What the two engines agreed on, for the record.
  const codecs = await fox.page.evaluate(() => window.room.codecs());
  assert.ok(codecs.some((c) => c.startsWith("video/")), `Firefox receives video: ${codecs}`);
  t.diagnostic(`codecs Firefox receives from Chromium: ${codecs.join(", ")}`);
  await screenshot(fox.page, "call-firefox.png");
});

test("chat crosses between the engines with the sender's name", async () => {
  await sendChat(fox.page, "Hello from Firefox");
  await sees(ann, "Fox", "Hello from Firefox");
  await sees(bea, "Fox", "Hello from Firefox");
  await sendChat(ann.page, "Hello from Chromium");
  await sees(fox, "Ann", "Hello from Chromium");
});

test("mute and camera-off show across the engines, both ways", async () => {
  await fox.page.click("#mic-btn");
  await othersSee(fox, { muted: true });
  await fox.page.click("#cam-btn");
  await othersSee(fox, { camera: "off" });
  await ann.page.click("#mic-btn");
  await ann.page.click("#cam-btn");
  await othersSee(ann, { muted: true, camera: "off" });
  assert.deepEqual(await tileState(fox, ann), { muted: true, camera: "off" });

  for (const person of [fox, ann]) {
    await person.page.click("#mic-btn");
    await person.page.click("#cam-btn");
    await othersSee(person, { muted: false, camera: "on" });
  }
  for (const person of people) await waitPlaying(person.page, othersOf(person));
});

test("a screen shared from Chromium plays in Firefox, and goes when it stops", async () => {
  await bea.page.click("#screen-btn");
  await waitPlaying(fox.page, [...othersOf(fox), `${bea.id}:screen`]);
  await bea.page.click("#screen-btn");
  await waitFor(fox.page, (id) => !document.querySelector(`.tile[data-peer="${id}"][data-kind="screen"]`), bea.id);
});

test("Firefox's dropped socket reconnects with the same identity and the call carries on", async () => {
  await fox.page.evaluate(() => window.room.dropSocket());
  await fox.page.waitForSelector("#conn-banner:not([hidden])");
  await fox.page.waitForSelector("#conn-banner[hidden]");
  assert.equal(await myId(fox.page), fox.id, "the resume token gave back the same id");
  for (const person of people) {
    await waitConnected(person.page, 2);
    await waitPlaying(person.page, othersOf(person));
  }
  await sendChat(fox.page, "back again");
  await sees(bea, "Fox", "back again");
});

test("Firefox leaves and the others see it go", async () => {
  await fox.page.click("#leave-btn");
  for (const person of [ann, bea]) await waitConnected(person.page, 1);
  await fox.page.waitForSelector("#lobby:not([hidden])");
  for (const person of people) await person.page.close();
});

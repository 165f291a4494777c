// The client's relay-only switch: with `?relay=1` in the page's address, calls made through the
// UI use only TURN relays (ICE servers and credentials from /api/ice, a real coturn on loopback).
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { startCoturn } from "../support/coturn.mjs";
import { LOCAL_ICE, checkPageErrors, joinRoom, openLobby, waitConnected, waitPlaying } from "../support/ui.mjs";
import { until } from "../support/wait.mjs";

const SECRET = "relay-ui-test-secret";
let coturn, worker, browser;
before(async () => {
  coturn = await startCoturn({ secret: SECRET });
  [worker, browser] = await Promise.all([
    startWorker({ vars: { ...LOCAL_ICE, TURN_URLS: coturn.url, TURN_SECRET: SECRET }, liftLimits: true }),
    launchBrowser(),
  ]);
});
after(async () => {
  await browser?.close();
  await worker?.stop();
  await coturn?.stop();
});

// A page that throws fails the test it threw in.
afterEach(checkPageErrors);

test("?relay=1 sends the call through the TURN relay", async () => {
  const pages = [];
  for (const nick of ["Rey", "Ray"]) {
    const page = await openLobby(browser, `${worker.url}/?relay=1`);
    await joinRoom(page, nick, "relayed");
    assert.equal(new URL(page.url()).searchParams.get("relay"), "1", "the switch stays in the address");
    pages.push(page);
  }
  const ids = await Promise.all(pages.map((page) => page.evaluate(() => window.room.me.id)));
  for (const [i, page] of pages.entries()) {
    await waitConnected(page, 1);
    await waitPlaying(page, [ids[1 - i]]);
    const [route] = await until(() => page.evaluate(() => window.room.routes()).then((r) => r[0]?.local && r), {
      what: "a selected candidate pair",
    });
    assert.deepEqual([route.local, route.remote], ["relay", "relay"], `coturn log:\n${await coturn.log()}`);
  }
  for (const page of pages) await page.click("#leave-btn");
});

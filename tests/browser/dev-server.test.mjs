// The README's run command, scripts/dev.sh (wrangler dev), through an evening of calls: 30
// three-person calls in a row in Chromium, each joining through the UI, chatting and leaving
// (or closing the windows), with the server alive and answering at the end and its open
// sockets back to where they started. Every other browser test runs the worker in Miniflare; this one runs what people run.
//
// wrangler dev puts a proxy workerd in front of the worker's workerd and reuses idle
// keep-alive connections between them; both ends drop one after about 5 s idle, so a request
// sent just then can race the close. wrangler 4.116 treated that one failed request as fatal
// and exited (workers-sdk #15317). The first test sends requests right at that moment.
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { startDevServer, openSockets } from "../support/dev-server.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { LOCAL_ICE, checkPageErrors, joinRoom, myId, openLobby, sendChat, waitConnected, waitFor, waitPlaying } from "../support/ui.mjs";
import { Client } from "../support/client.mjs";
import { sleep, until } from "../support/wait.mjs";
import { memoryMiB } from "../../bench/lib/proc.mjs";

const CALLS = 30;

let server, browser;
before(async () => {
  [server, browser] = await Promise.all([
    startDevServer({ vars: { ...LOCAL_ICE, LIST_AFTER_SECONDS: "0" }, liftLimits: true }),
    launchBrowser(),
  ]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Fails with wrangler's last words if it has exited. */
function assertRunning() {
  assert.ok(server.running, `scripts/dev.sh exited:\n${server.output().slice(-3000)}`);
}

test("requests sent as the proxy's idle connections time out (about 5 s) do not stop the server", async (t) => {
  // Each round: 8 requests at once (several keep-alive connections), then an idle pause
  // stepped across the 5 s timeout, then 8 more, which race the timeout's close.
  for (const pause of [4900, 4950, 5000, 5050, 5100]) {
    const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(`${server.url}/app.css`).then((r) => r.status)));
    assert.deepEqual(new Set(statuses), new Set([200]));
    await sleep(pause);
    assertRunning();
  }
  t.diagnostic("5 rounds of 8 requests after idle pauses of 4.90 to 5.10 s: all answered");
});

test(`${CALLS} three-person calls in a row: the server stays up and lets go of every socket`, async (t) => {
  const pids = server.pids();
  const start = { sockets: openSockets(pids), memory: memoryMiB(pids) };
  let windows = [];
  try {
    for (let call = 1; call <= CALLS; call++) {
      // Most calls end with everyone clicking Leave and joining the next from the same window;
      // every fifth, the windows are closed instead, and new ones opened for the next call.
      if (windows.length === 0) windows = await Promise.all(["Ann", "Bob", "Cy"].map(() => openLobby(browser, server.url + "/")));
      const closeAfter = call % 5 === 0;
      await threePersonCall(windows, `evening-${call}`, { watchLobby: call % 10 === 0, closeAfter }).catch((error) => {
        error.message = `call ${call} of ${CALLS}: ${error.message}`;
        throw error;
      });
      if (closeAfter) windows = [];
      assertRunning();
    }
  } finally {
    await Promise.all(windows.map((page) => page.context().close()));
  }
  // Health still answers, and a newcomer can still join.
  const health = await fetch(`${server.url}/api/health`);
  assert.equal(health.status, 200);
  const client = await Client.connect(`${server.wsUrl}/ws/rooms/after-the-evening`);
  client.send({ type: "join", nick: "Last" });
  await client.next("welcome");
  await client.close();
  // The browsers' connections close with their windows; wrangler's own idle keep-alive
  // connections between its two workerd processes close after about 5 s.
  const end = await until(
    () => {
      const sockets = openSockets(server.pids());
      return sockets <= start.sockets && { sockets };
    },
    { ms: 20_000, what: `open sockets back to ${start.sockets} (now ${openSockets(server.pids())})` },
  );
  const memory = memoryMiB(server.pids());
  t.diagnostic(
    `wrangler dev before → after ${CALLS} calls: ${start.sockets} → ${end.sockets} open sockets, ` +
      `RSS ${start.memory.rss.toFixed(0)} → ${memory.rss.toFixed(0)} MiB (peak ${memory.peak.toFixed(0)} MiB)`,
  );
});

/**
 * Ann, Bob and Cy join `room` at once from the three lobby `windows`, each is connected to
 * the other two, the last to join sees both videos play, Ann's chat line reaches the others, and all
 * three leave: by the Leave button, or (`closeAfter`) by closing their windows. `watchLobby`:
 * a fourth person's lobby also shows the room with its 3 people.
 */
async function threePersonCall(windows, room, { watchLobby, closeAfter }) {
  const [ann, bob, cy] = windows;
  // All three click Join at about the same moment, as people do at the start of a meeting.
  await Promise.all(
    [[ann, "Ann"], [bob, "Bob"], [cy, "Cy"]].map(async ([page, nick]) => {
      await joinRoom(page, nick, room);
      page.id = await myId(page);
    }),
  );
  await Promise.all(windows.map((page) => waitConnected(page, 2)));
  await waitPlaying(cy, [ann.id, bob.id]);
  const text = `Hello ${room}`;
  await sendChat(ann, text);
  for (const page of [bob, cy]) {
    await waitFor(page, (text) => [...document.querySelectorAll("#chat .msg")].some((m) => m.textContent.includes(text)), text, 20_000);
  }
  if (watchLobby) {
    const lobby = await openLobby(browser, server.url + "/");
    await lobby.waitForSelector(`#rooms li[data-room="${room}"] [data-count="3"]`);
    await lobby.context().close();
  }
  checkPageErrors();
  if (closeAfter) {
    await Promise.all(windows.map((page) => page.context().close()));
  } else {
    await Promise.all(
      windows.map(async (page) => {
        await page.click("#leave-btn");
        await page.waitForSelector("#lobby:not([hidden])");
      }),
    );
  }
}

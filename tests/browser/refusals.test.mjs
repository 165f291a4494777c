// When the room says no: a name refused (one like someone's present, or holding an invisible
// character) sends the person back to the pre-join card with the name ready to fix; a network
// over its limit of connections gets told so instead of a call page connecting forever; and a
// socket closed for not joining in time (4006) is simply followed by one that joins.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";
import { freshRateWindow } from "../support/wait.mjs";
import { LOCAL_ICE, browserSuite, denyMedia, joinRoom, openLobby, screenshot } from "../support/ui.mjs";

let worker, browser;
browserSuite({ vars: LOCAL_ICE, liftLimits: true }, (started) => ({ worker, browser } = started));


/** Types a name and a room and clicks Join, expecting to be sent back to the lobby. */
async function refusedJoin(page, nick, room) {
  await page.getByLabel("Your name").fill(nick);
  await page.getByRole("textbox", { name: "Room", exact: true }).fill(room);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.waitForSelector("#lobby:not([hidden])");
  await page.waitForFunction(() => window.room.state === "lobby" && document.querySelector("#join-error").textContent);
}

test("a refused name: the pre-join card says why, and the name is ready to be fixed", async () => {
  const present = await worker.join("names", "Cox");
  const page = await openLobby(browser, worker.url + "/", { init: denyMedia });
  const name = page.getByLabel("Your name");

  // The same name in Cyrillic letters, while the Latin one is in the room.
  await refusedJoin(page, "\u0421\u043e\u0445", "names");
  assert.equal(await page.textContent("#join-error"), "Someone here already goes by a name that looks like this one.");
  assert.equal(await page.getByRole("alert").filter({ hasText: "looks like" }).isVisible(), true);
  assert.equal(await name.getAttribute("aria-invalid"), "true");
  // Focused and all selected: typing replaces it.
  const focus = await page.evaluate(() => {
    const { id, selectionStart, selectionEnd, value } = document.activeElement;
    return { id, selected: value.slice(selectionStart, selectionEnd) };
  });
  assert.deepEqual(focus, { id: "nick", selected: "\u0421\u043e\u0445" });
  await screenshot(page, "lobby-name-taken.png");

  // An invisible character: refused, and the message names it.
  await refusedJoin(page, "Co\u200bx", "names");
  assert.match(await page.textContent("#join-error"), /invisible, formatting or control characters \(U\+200B\)/);

  // Typing clears the complaint; another name gets in.
  await name.fill("Coxwain");
  assert.equal(await page.textContent("#join-error"), "");
  assert.equal(await name.getAttribute("aria-invalid"), null);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.waitForFunction(() => window.room.state === "in-call");
  await present.client.close();
  await page.context().close();
});

test("too many connections from one network: joining gives up and says so", async () => {
  // The limits as deployed: 60 sockets a minute from one network. Browsers here come from
  // 127.0.0.1; websocket clients claiming that address use up its minute first.
  const limited = await startWorker({ vars: LOCAL_ICE });
  try {
    const page = await openLobby(browser, limited.url + "/", { init: denyMedia });
    await page.waitForSelector('#lobby-status[data-state="live"]');
    // The whole test in one window of the limit: a new minute would let the join through.
    await freshRateWindow(25_000);
    for (;;) {
      try {
        const client = await Client.connect(`${limited.wsUrl}/ws/lobby`, { headers: { "CF-Connecting-IP": "127.0.0.1" } });
        await client.close();
      } catch (error) {
        assert.equal(error.status, 429, error.message);
        break;
      }
    }
    await refusedJoin(page, "Patient", "busy");
    assert.equal(await page.textContent("#join-error"), "Too many connections from your network (or to this room): try again in a minute.");
    assert.equal(await page.getByLabel("Your name").getAttribute("aria-invalid"), null, "nothing wrong with the name");
    await screenshot(page, "lobby-too-many.png");
    await page.context().close();
  } finally {
    await limited.stop();
  }
});

test("a socket closed for not joining in time is followed by one that joins", async () => {
  const quick = await startWorker({ vars: { ...LOCAL_ICE, JOIN_TIMEOUT_MS: "1000" }, liftLimits: true });
  try {
    const page = await openLobby(browser, quick.url + "/", { init: denyMedia });
    // The first room socket's join is held back (as by a tab frozen in the background): the
    // room closes it. Every other frame, both ways, goes through.
    const closes = [];
    let held = false;
    await page.routeWebSocket(/\/ws\/rooms\//, (socket) => {
      const server = socket.connectToServer();
      socket.onMessage((message) => {
        if (!held && String(message).includes('"join"')) held = true;
        else server.send(message);
      });
      server.onClose((code, reason) => {
        closes.push(code);
        socket.close({ code, reason });
      });
    });
    await joinRoom(page, "Sleepy", "deadline");
    assert.deepEqual(closes, [4006]);
    assert.equal(await page.isHidden("#conn-banner"), true);
    await page.context().close();
  } finally {
    await quick.stop();
  }
});

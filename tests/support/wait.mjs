// Waiting in tests, for things nothing announces (a video starting to play, a lobby catching
// up): a plain pause, and polling until something holds. One copy for the websocket and the
// browser tests, so that every wait reads the same.
import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";

/** Resolves after `ms` milliseconds (Node's promise timer, under a name that says so). */
export { sleep };

/** Polls `check` (async, truthy when done) until it passes or `ms` run out. */
export async function until(check, { ms = 15_000, every = 200, what = "condition" } = {}) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(every);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/**
 * Polls `read` (async) until what it gives deep-equals `expected`; fails with the last value
 * after `timeoutMs`. For what comes through a cache (`/api/rooms`), read until it is fresh.
 */
export async function eventually(read, expected, timeoutMs = 6000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const actual = await read();
    try {
      return assert.deepEqual(actual, expected);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await sleep(100);
  }
}

/** `promise`, or a failure naming `what` if it has not settled within `ms`. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Waits, if need be, for a fresh minute, so that `needMs` are left in it. Rate limiting counts
 * in fixed windows (a minute, aligned to the clock, in Miniflare as at Cloudflare): a test
 * that uses up a limit and then checks the refusal would pass or fail by the clock if the
 * window ended in between, and a burst straddling two windows gets twice the limit through.
 */
export async function freshRateWindow(needMs = 25_000) {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await sleep(left + 50);
}

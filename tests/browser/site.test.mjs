// The site in a real browser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "../support/worker.mjs";
import { launchBrowser } from "../support/browser.mjs";

let worker, browser;
before(async () => {
  [worker, browser] = await Promise.all([startWorker(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await worker?.stop();
});

test("the site loads and shows its title", async () => {
  const page = await browser.newPage();
  await page.goto(worker.url + "/");
  assert.equal(await page.title(), "Room");
  await page.close();
});

test("the API answers the browser", async () => {
  const page = await browser.newPage();
  await page.goto(worker.url + "/");
  const health = await page.evaluate(() => fetch("/api/health").then((r) => r.json()));
  assert.equal(health.ok, true);
  await page.close();
});

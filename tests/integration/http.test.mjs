// The Worker's HTTP surface: the site, health, and the router's refusals.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ROOT } from "../support/worker.mjs";
import { Client } from "../support/client.mjs";
import { readFileSync } from "node:fs";
import path from "node:path";

let worker;
before(async () => (worker = await startWorker()));
after(() => worker.stop());

const get = (path, init) => fetch(worker.url + path, init);

test("serves the site", async () => {
  const res = await get("/");
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<title>Room<\/title>/);
});

test("health reports the stamped version", async () => {
  const res = await get("/api/health");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.ok, true);
  // build.rs stamps `{crate version}+{12-hex git revision}`, or `+unknown` outside git: the
  // whole string must be exactly that (anchored on both ends, the alternation inside).
  const crate = readFileSync(path.join(ROOT, "Cargo.toml"), "utf8").match(/^version = "([^"]+)"$/m)[1];
  const escaped = crate.replace(/[.+]/g, "\\$&");
  assert.match(body.version, new RegExp(`^${escaped}\\+(?:[0-9a-f]{12}|unknown)$`));
});

test("bad room names are refused with 400 and a JSON error", async () => {
  for (const name of ["a%20b", "%3Cscript%3E", "x".repeat(65), "%ZZ", ""]) {
    const refused = await Client.connect(`${worker.wsUrl}/ws/rooms/${name}`).then(
      () => assert.fail(`${name} was accepted`),
      (error) => error,
    );
    assert.equal(refused.status, 400, name);
    assert.equal(refused.body.error, "bad_room_name");
  }
});

test("plain GETs to socket paths are 426", async () => {
  for (const path of ["/ws/lobby", "/ws/rooms/team", "/ws/rooms/%EB%B0%A9-1"]) {
    const res = await get(path);
    assert.equal(res.status, 426, path);
    assert.equal((await res.json()).error, "upgrade_required");
  }
});

test("unknown paths and methods get JSON errors", async () => {
  const missing = await get("/api/nope");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error, "not_found");
  const post = await get("/api/health", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal((await post.json()).error, "method_not_allowed");
});

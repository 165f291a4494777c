// The message catalogs (site/js/messages.js) on their own, in Node: English and Korean have
// the same messages with the same placeholders, every message is used by the site, every key
// the site names exists, and every error code of docs/protocol.md has a sentence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MESSAGES } from "../../site/js/messages.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { en, ko } = MESSAGES;

/** The site's own code and pages (the catalogs left out), as one text. */
async function siteSource() {
  const files = await readdir(path.join(ROOT, "site"), { recursive: true });
  const code = files.filter((file) => /\.(js|html)$/.test(file) && !file.endsWith("messages.js"));
  const texts = await Promise.all(code.map((file) => readFile(path.join(ROOT, "site", file), "utf8")));
  return texts.join("\n");
}

/** The error codes docs/protocol.md lists: in its tables of errors, and as answers (`404 not_found`). */
async function protocolCodes() {
  const doc = await readFile(path.join(ROOT, "docs/protocol.md"), "utf8");
  const patterns = [/^\| (?:\d{3} \| )?`([a-z_]+)` \|/gm, /`\d{3} ([a-z_]+)`/g, /"error":"([a-z_]+)"/g];
  return new Set(patterns.flatMap((pattern) => [...doc.matchAll(pattern)].map((match) => match[1])));
}

/** The placeholders of a message, of all its plural forms. */
function placeholders(message) {
  const forms = typeof message === "string" ? [message] : Object.values(message);
  return [...new Set(forms.flatMap((form) => [...form.matchAll(/\{(\w+)\}/g)].map((match) => match[1])))].sort();
}

test("English and Korean have the same messages, with the same placeholders", () => {
  assert.deepEqual(Object.keys(ko).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) {
    assert.deepEqual(placeholders(ko[key]), placeholders(en[key]), key);
  }
});

test("a count has the plural forms of each language (Intl.PluralRules), and nothing is empty", () => {
  for (const [language, catalog] of Object.entries(MESSAGES)) {
    const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
    for (const [key, message] of Object.entries(catalog)) {
      if (typeof message === "string") {
        assert.ok(message.trim(), `${language} ${key} is empty`);
        continue;
      }
      assert.deepEqual(Object.keys(message).sort(), [...categories].sort(), `${language} ${key}: one form per plural category`);
      for (const form of Object.values(message)) assert.match(form, /\{count\}/, `${language} ${key}`);
    }
  }
});

test("every message is used by the site, and every key the site names exists", async () => {
  const source = await siteSource();
  const codes = await protocolCodes();
  // Error messages are looked up by the code the server sent (`error.${code}`).
  assert.match(source, /`error\.\$\{/);
  const unused = Object.keys(en).filter((key) => {
    if (new RegExp(`["'\`]${key.replaceAll(".", "\\.")}["'\`]`).test(source)) return false;
    return !(key.startsWith("error.") && codes.has(key.slice("error.".length)));
  });
  assert.deepEqual(unused, [], "messages nothing uses");

  const namespaces = new Set(Object.keys(en).map((key) => key.split(".")[0]));
  const named = [...source.matchAll(/["'`]([a-z]+\.[a-zA-Z_]+)["'`]/g)].map((match) => match[1]);
  const missing = named.filter((key) => namespaces.has(key.split(".")[0]) && !Object.hasOwn(en, key));
  assert.deepEqual([...new Set(missing)], [], "keys with no message");
});

test("every error code of docs/protocol.md has a sentence in both languages", async () => {
  const codes = await protocolCodes();
  // A sample of each kind of table, so that a change of the document's layout cannot empty the set.
  for (const code of ["bad_room_name", "too_many_connections", "bad_message", "room_full", "knock_limit", "unauthorized", "bad_request", "unreachable"]) {
    assert.ok(codes.has(code), `docs/protocol.md lists ${code}`);
  }
  for (const code of codes) {
    assert.ok(Object.hasOwn(en, `error.${code}`), `English for ${code}`);
    assert.ok(Object.hasOwn(ko, `error.${code}`), `Korean for ${code}`);
  }
});

test("Korean messages are in Korean", () => {
  // Words that stay as they are in Korean: the brand, the secret's name, the API.
  const kept = /Room|ADMIN_TOKEN|API/g;
  for (const [key, message] of Object.entries(ko)) {
    for (const form of typeof message === "string" ? [message] : Object.values(message)) {
      const text = form.replace(/\{\w+\}/g, "").replace(kept, "");
      assert.doesNotMatch(text, /[A-Za-z]{2,}/, `${key}: ${form}`);
      if (/[A-Za-z가-힣]/.test(text)) assert.match(text, /[가-힣]/, `${key}: ${form}`);
    }
  }
});

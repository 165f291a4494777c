// The page's language: Korean or English, every word the site shows taken from the catalogs
// in messages.js. The first choice comes from the browser (Korean if the person's first
// preferred language is Korean, else English); a choice made on the page is remembered and
// applies at once, without a reload: static text is marked in the HTML (`data-i18n` for the
// text, `data-i18n-<attribute>` for an attribute such as aria-label) and rewritten here, and
// the modules that build text re-render on `onLanguageChange`.
//
// Counts use Intl.PluralRules, times Intl.DateTimeFormat and lists of names Intl.ListFormat,
// all in the page's language.
import { MESSAGES } from "./messages.js";
import { store } from "./storage.js";

/** The languages there are, each named in itself (as the language menus show them). */
export const LANGUAGES = { ko: "한국어", en: "English" };

/** Attributes a `data-i18n-<attribute>` marks for translation. */
const ATTRIBUTES = ["aria-label", "title", "placeholder", "alt", "content"];

const changes = new EventTarget();
let language = initialLanguage();

function initialLanguage() {
  const chosen = store.get("language", null);
  if (Object.hasOwn(LANGUAGES, chosen)) return chosen;
  const first = globalThis.navigator?.languages?.[0] ?? "";
  return first.toLowerCase().startsWith("ko") ? "ko" : "en";
}

/** The page's language: "ko" or "en". */
export function currentLanguage() {
  return language;
}

/** Switches the page to another language, remembers the choice, and tells the modules. */
export function setLanguage(next) {
  if (!Object.hasOwn(LANGUAGES, next) || next === language) return;
  language = next;
  store.set("language", next);
  translatePage();
  changes.dispatchEvent(new Event("change"));
}

/** Calls `render` after every switch of language. */
export function onLanguageChange(render) {
  changes.addEventListener("change", render);
}

/**
 * The text of a message: `t("count.people", { count: 3 })`. `{name}` in the catalog's text is
 * replaced by `params.name`; a message with plural forms picks one by `params.count`.
 */
export function t(key, params = {}) {
  return parts(key, params).join("");
}

/**
 * A message as a list of strings and the elements among its params (such as a person's name
 * in a <bdi>, or a list from `listParts`), for `el` or `append`: the catalog decides where they
 * go in the sentence.
 */
export function parts(key, params = {}) {
  let text = MESSAGES[language][key] ?? MESSAGES.en[key] ?? key;
  if (typeof text === "object") text = text[pluralRules().select(params.count)] ?? text.other;
  return text
    .split(/\{(\w+)\}/)
    .flatMap((piece, i) => (i % 2 ? (typeof params[piece] === "number" ? number(params[piece]) : params[piece]) : piece))
    .filter((piece) => piece !== "");
}

/** Whether the catalogs have a message under `key`. */
export function hasMessage(key) {
  return Object.hasOwn(MESSAGES.en, key);
}

/**
 * The text of a message kept as `{ key, params }`, to be shown again in another language. A
 * param may itself be such a message, or a list of them ("camera and microphone").
 */
export function say({ key, params = {} }) {
  const said = Object.entries(params).map(([name, value]) => [
    name,
    Array.isArray(value) ? listOf(value.map(say)) : value?.key ? say(value) : value,
  ]);
  return t(key, Object.fromEntries(said));
}

/** The time of day of a timestamp (ms), as the page's language writes it: "3:04 PM", "오후 3:04". */
export function clockTime(ms) {
  return cached("time", () => new Intl.DateTimeFormat(language, { hour: "numeric", minute: "2-digit" })).format(ms);
}

/** Strings as a list in the page's language: "Ann, Bob and Cy", "Ann, Bob 및 Cy". */
export function listOf(items) {
  return listParts(items).join("");
}

/** Strings or elements as a list in the page's language, as parts: [ann, ", ", bob, " and ", cy]. */
export function listParts(items) {
  const format = cached("list", () => new Intl.ListFormat(language, { type: "conjunction" }));
  return format.formatToParts(items.map((_, i) => String(i))).map((part) => (part.type === "element" ? items[Number(part.value)] : part.value));
}

function number(n) {
  return cached("number", () => new Intl.NumberFormat(language)).format(n);
}

function pluralRules() {
  return cached("plural", () => new Intl.PluralRules(language));
}

const formatters = new Map();

/** One formatter of each kind per language: making them is not free. */
function cached(kind, make) {
  const key = `${kind}:${language}`;
  if (!formatters.has(key)) formatters.set(key, make());
  return formatters.get(key);
}

/**
 * Writes the marked text of `root` (the whole page by default) in the page's language, sets
 * <html lang>, and keeps every language menu showing it.
 */
export function translatePage(root = document) {
  if (root === document) document.documentElement.lang = language;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const attribute of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
    }
  }
  for (const menu of root.querySelectorAll("select.language")) menu.value = language;
}

/** Wires every language menu of the page (`select.language`) and translates the page. */
export function startLanguage() {
  for (const menu of document.querySelectorAll("select.language")) {
    menu.replaceChildren(
      ...Object.entries(LANGUAGES).map(([code, name]) => {
        const option = document.createElement("option");
        option.value = code;
        option.lang = code;
        option.textContent = name;
        return option;
      }),
    );
    menu.addEventListener("change", () => setLanguage(menu.value));
  }
  translatePage();
}

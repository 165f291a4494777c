// The chat panel: messages with nickname and time, join and leave notices, history on
// arrival (each message shown once, even when a reconnect sends the history again), and an
// unread count on the Chat button while the panel is closed. Text only via text nodes.
//
// Join and leave notices are grouped by nickname: someone who comes and goes again within a
// minute of their last coming or going gets their one line updated ("Mallory joined and left
// 30 times.") instead of a new line each time, so that nobody can flood the chat (or a screen
// reader) with their name by reconnecting in a loop.
//
// Screen readers hear new messages, notices and comings and goings through a polite live
// region of their own (`announcer`), whether or not the panel is open; never the history.
// Everything the panel wrote is written again when the language changes.
import { el, personName } from "./dom.js";
import { personText } from "./format.js";
import { clockTime, onLanguageChange, parts, t } from "./i18n.js";

/** Comings and goings of one nickname this close together share a line. */
const PRESENCE_GROUP_MS = 60_000;
/** A grouped line changes at most this often: each change is read out by screen readers. */
const PRESENCE_UPDATE_MS = 2_000;
/** Announcements kept in the live region (older ones have been read). */
const ANNOUNCEMENTS_KEPT = 5;

export class ChatPanel {
  #seen = new Set();
  #unread = 0;
  /** Per nickname, the latest line about their comings and goings (see `presence`). */
  #presence = new Map();

  /**
   * @param {object} parts  panel, list, form, input, toggle (button), badge, close (button),
   *   announcer (a polite live region)
   * @param {(text: string) => boolean} onSend  returns false if the message could not go out
   */
  constructor(parts, onSend) {
    Object.assign(this, parts);
    onLanguageChange(() => this.#rewrite());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (onSend(text)) this.input.value = "";
    });
    this.toggle.addEventListener("click", () => this.setOpen(!this.isOpen));
    this.close.addEventListener("click", () => {
      this.setOpen(false);
      this.toggle.focus();
    });
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  setOpen(open) {
    this.panel.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    this.toggle.classList.toggle("active", open);
    if (open) {
      this.#setUnread(0);
      this.#scroll(true);
      this.input.focus({ preventScroll: true });
    }
    // The stage changes size: the grid re-lays itself out (ResizeObserver).
  }

  clear() {
    this.list.replaceChildren();
    this.#seen.clear();
    for (const group of this.#presence.values()) clearTimeout(group.timer);
    this.#presence.clear();
    this.#setUnread(0);
  }

  /**
   * A chat frame ({from, nick, text, ts}); `mine` when I sent it, `past` when it is history
   * (not read out). Repeats are ignored.
   */
  message(frame, mine, past = false) {
    const key = `${frame.ts}|${frame.from}|${frame.text}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const time = el("time", { datetime: new Date(frame.ts).toISOString() }, clockTime(frame.ts));
    time.ts = frame.ts;
    const item = el(
      "li",
      { class: mine ? "msg mine" : "msg" },
      el("div", { class: "meta" }, personName(frame.nick, frame.from), time),
      el("p", { class: "text" }, frame.text),
    );
    this.#append(item, !mine);
    if (!mine && !past) this.#announce(t("chat.said", { name: personText(frame.nick, frame.from), text: frame.text }));
  }

  /**
   * A line about the room: `key` and `params` of its message (i18n.js), where a param may be
   * a function that makes an element (such as a person's name): each writing needs its own.
   */
  notice(key, params = {}) {
    const line = el("li", { class: "notice" });
    line.write = () => line.replaceChildren(...parts(key, made(params)));
    line.write();
    this.#append(line, false);
    this.#announce(line.textContent);
  }

  /**
   * Someone joined or left (`change`: "join" or "leave"). Within a minute of their last
   * coming or going, their line says so in place, at most every two seconds.
   */
  presence(change, { id, nick }) {
    const now = Date.now();
    let group = this.#presence.get(nick);
    const fresh = !group || now - group.at >= PRESENCE_GROUP_MS;
    if (fresh) {
      group = { nick, first: change, joins: 0, leaves: 0, shownAt: 0, timer: 0, line: el("li", { class: "notice" }) };
      this.#presence.set(nick, group);
    }
    Object.assign(group, { last: change, id, at: now });
    group[change === "join" ? "joins" : "leaves"]++;
    if (fresh) {
      this.#showPresence(group);
      this.#append(group.line, false);
    } else if (!group.timer) {
      group.timer = setTimeout(() => this.#showPresence(group), group.shownAt + PRESENCE_UPDATE_MS - now);
    }
  }

  /** Writes a person's line anew (their name and tag, the latest id's, and what they did), and reads it out. */
  #showPresence(group) {
    group.timer = 0;
    group.shownAt = Date.now();
    const [key, count] = presenceMessage(group);
    group.line.write = () => group.line.replaceChildren(...parts(key, { name: personName(group.nick, group.id), count }));
    group.line.write();
    this.#announce(group.line.textContent);
  }

  #announce(text) {
    this.announcer.append(el("p", {}, text));
    while (this.announcer.children.length > ANNOUNCEMENTS_KEPT) this.announcer.firstElementChild.remove();
  }

  /** Writes the panel again in the page's language: notices, times, the unread count. */
  #rewrite() {
    for (const line of this.list.querySelectorAll(".notice")) line.write();
    for (const time of this.list.querySelectorAll("time")) time.textContent = clockTime(time.ts);
    this.#setUnread(this.#unread);
  }

  #append(item, counts) {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(item);
    this.#scroll(atBottom);
    if (counts && !this.isOpen) this.#setUnread(this.#unread + 1);
  }

  #scroll(toBottom) {
    if (toBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  #setUnread(n) {
    this.#unread = n;
    this.badge.hidden = n === 0;
    this.badge.textContent = n > 9 ? "9+" : String(n);
    this.toggle.setAttribute("aria-label", n ? t("ctl.chatUnread", { count: n }) : t("ctl.chat"));
  }
}

/** Params with their element-making functions called. */
function made(params) {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, typeof value === "function" ? value() : value]));
}

/**
 * The message of one person's comings and goings, and the count it names: counted as they
 * alternate from the first, joined and left, or left and came back.
 */
function presenceMessage({ first, last, joins, leaves }) {
  const undone = first === "join" ? leaves : joins;
  if (undone === 0) {
    const times = joins + leaves;
    if (first === "join") return [times === 1 ? "presence.joined" : "presence.joinedTimes", times];
    return [times === 1 ? "presence.left" : "presence.leftTimes", times];
  }
  const again = last === first;
  if (first === "join") {
    if (undone === 1) return [again ? "presence.joinedLeftBack" : "presence.joinedLeft", undone];
    return [again ? "presence.joinedLeftTimesBack" : "presence.joinedLeftTimes", undone];
  }
  if (undone === 1) return [again ? "presence.leftBackLeft" : "presence.leftBack", undone];
  return [again ? "presence.leftBackTimesLeft" : "presence.leftBackTimes", undone];
}

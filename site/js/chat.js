// The chat panel: messages with nickname and time, join and leave notices, history on
// arrival (each message shown once, even when a reconnect sends the history again), and an
// unread count on the Chat button while the panel is closed. Text only via text nodes.
//
// Join and leave notices are grouped by nickname: someone who comes and goes again within a
// minute of their last coming or going gets their one line updated ("Mallory joined and left
// 30 times.") instead of a new line each time, so that nobody can flood the chat (or a screen
// reader) with their name by reconnecting in a loop.
import { el, personName } from "./dom.js";
import { clockTime } from "./format.js";

/** Comings and goings of one nickname this close together share a line. */
const PRESENCE_GROUP_MS = 60_000;
/** A grouped line changes at most this often: each change is read out by screen readers. */
const PRESENCE_UPDATE_MS = 2_000;

export class ChatPanel {
  #seen = new Set();
  #unread = 0;
  /** Per nickname, the latest line about their comings and goings (see `presence`). */
  #presence = new Map();

  /**
   * @param {object} parts  panel, list, form, input, toggle (button), badge, close (button)
   * @param {(text: string) => boolean} onSend  returns false if the message could not go out
   */
  constructor(parts, onSend) {
    Object.assign(this, parts);
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

  /** A chat frame ({from, nick, text, ts}); `mine` when I sent it. Repeats are ignored. */
  message(frame, mine) {
    const key = `${frame.ts}|${frame.from}|${frame.text}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const time = el("time", { datetime: new Date(frame.ts).toISOString() }, clockTime(frame.ts));
    const item = el(
      "li",
      { class: mine ? "msg mine" : "msg" },
      el("div", { class: "meta" }, personName(frame.nick, frame.from), time),
      el("p", { class: "text" }, frame.text),
    );
    this.#append(item, !mine);
  }

  /** A line about the room, of text and elements (such as a person's name). */
  notice(...parts) {
    this.#append(el("li", { class: "notice" }, ...parts), false);
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
      showPresence(group);
      this.#append(group.line, false);
    } else if (!group.timer) {
      group.timer = setTimeout(() => showPresence(group), group.shownAt + PRESENCE_UPDATE_MS - now);
    }
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
    this.toggle.setAttribute("aria-label", n ? `Chat, ${n} unread` : "Chat");
  }
}

/** Writes a person's line anew: their name and tag (the latest id's), and what they did. */
function showPresence(group) {
  group.timer = 0;
  group.shownAt = Date.now();
  group.line.replaceChildren(personName(group.nick, group.id), ` ${presenceText(group)}`);
}

/** What a line says of one person's comings and goings, after their name. */
function presenceText({ first, last, joins, leaves }) {
  // Counted as they alternate from the first: joined and left, or left and came back.
  const [did, undid, undone] = first === "join" ? ["joined", "left", leaves] : ["left", "came back", joins];
  if (undone === 0) return joins + leaves === 1 ? `${did}.` : `${did} ${joins + leaves} times.`;
  const pair = `${did} and ${undid}${undone > 1 ? ` ${undone} times` : ""}`;
  return last === first ? `${pair}, then ${first === "join" ? "came back" : "left again"}.` : `${pair}.`;
}

// The chat panel: messages with nickname and time, join and leave notices, history on
// arrival (each message shown once, even when a reconnect sends the history again), and an
// unread count on the Chat button while the panel is closed. Text only via text nodes.
import { el, personName } from "./dom.js";
import { clockTime } from "./format.js";

export class ChatPanel {
  #seen = new Set();
  #unread = 0;

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

// The participants panel: everyone in the room, me included, with what each is doing (host,
// muted, camera off, sharing a screen, hand raised), raised hands first in the order they went
// up; my Rename; and for a host, who is waiting at a locked room's door (Admit, Deny), Mute all,
// Lock room, and per person Make host, Mute or Ask to unmute, Stop screen share, Lower hand and
// Remove (after a confirmation). The room enforces who may do what; the panel only offers it.
//
// Rows are kept per person and rebuilt only when what they show changed, so a button keeps
// the focus while others change; when the focused button itself goes (Mute became Ask to
// unmute, the person left), the focus moves to the nearest sensible place instead of the page.
import { el, icon, personName } from "./dom.js";
import { personText, plural } from "./format.js";

export class ParticipantsPanel {
  /** @type {import("./call.js").Call | null} */
  #call = null;
  #media;
  #parts;
  #onToggle;
  /** Rows by key (a person's id, or `knock:<id>`): { signature, li }. */
  #rows = new Map();
  /** The person whose removal waits for a confirmation, by id. */
  #confirming = null;
  /** The form that renames me, built once (it keeps what I typed through rebuilds of my row). */
  #rename = renameForm({
    // The same name again changes nothing, and the room would not say so: just close.
    send: (nick) => (nick === this.#call?.me?.nick ? this.closeRename() : this.#call?.rename(nick)),
    cancel: () => this.closeRename(),
  });
  #renaming = false;

  /**
   * @param {object} parts  panel, toggle, close, title, list, waiting (section), waitingList,
   *   hostTools, muteAll, lock, badge (the count of knocks on the toggle)
   * @param {import("./media.js").LocalMedia} media  my own state comes from it
   * @param {(open: boolean) => void} onToggle  told when the panel opens or closes
   */
  constructor(parts, media, onToggle) {
    this.#parts = parts;
    this.#media = media;
    this.#onToggle = onToggle;
    parts.toggle.addEventListener("click", () => this.setOpen(!this.isOpen));
    parts.close.addEventListener("click", () => {
      this.setOpen(false);
      parts.toggle.focus();
    });
    parts.muteAll.addEventListener("click", () => this.#call?.muteAll());
    parts.lock.addEventListener("click", () => this.#call?.lock(!this.#call.locked));
    for (const type of ["change", "screen"]) media.addEventListener(type, () => this.render());
  }

  get isOpen() {
    return !this.#parts.panel.hidden;
  }

  setOpen(open) {
    const { panel, toggle, title } = this.#parts;
    panel.hidden = !open;
    toggle.setAttribute("aria-pressed", String(open));
    toggle.classList.toggle("active", open);
    if (open) title.focus({ preventScroll: true });
    this.#onToggle(open);
  }

  /** Shows the people of `call` from now on (null: nobody, the call is over). */
  follow(call) {
    this.#call = call;
    this.#confirming = null;
    this.#renaming = false;
    if (call) {
      for (const type of ["welcome", "peer", "me", "knocks", "room"]) {
        call.addEventListener(type, () => this.#call === call && this.render());
      }
    }
    this.render();
  }

  /** Whether my rename form is open (the room's refusal of a name is for it). */
  get renaming() {
    return this.#renaming;
  }

  /** The room refused my new name: the form says why, ready for another. */
  renameFailed(message) {
    this.#rename.fail(message);
  }

  /** Closes the rename form: cancelled, or my new name came back from the room. */
  closeRename() {
    if (!this.#renaming) return;
    this.#renaming = false;
    this.render();
  }

  render() {
    const { list, waiting, waitingList, hostTools, lock, badge, toggle, title } = this.#parts;
    const call = this.#call;
    const me = call?.me;
    const amHost = Boolean(me?.host);
    const people = me ? this.#people(call) : [];
    const knocks = amHost ? [...call.knocks.values()] : [];
    const focused = this.#focused();

    title.textContent = `People (${people.length})`;
    hostTools.hidden = !amHost;
    lock.textContent = call?.locked ? "Unlock room" : "Lock room";
    waiting.hidden = !knocks.length;
    badge.hidden = !knocks.length;
    badge.textContent = String(knocks.length);
    toggle.setAttribute("aria-label", knocks.length ? `People, ${plural(knocks.length, "person", "people")} waiting` : "People");

    const alone = people.length === 1;
    const rows = people.map((person) => this.#row(person.id, [shown(person), amHost, alone], () => this.#personRow(person, amHost, alone)));
    const knockRows = knocks.map((knock) => this.#row(`knock:${knock.id}`, [knock], () => knockRow(knock, call)));
    place(list, rows);
    place(waitingList, knockRows);
    for (const [key, { li }] of this.#rows) if (!li.isConnected) this.#rows.delete(key);
    this.#restoreFocus(focused);
  }

  /** Me and the others, hands first in the order raised, then me, then by arrival. */
  #people(call) {
    const media = this.#media;
    // The room's record of my media is only what it last heard: my own devices say it now.
    const now = call.webrtc ? { muted: !media.live("audio"), camera: media.live("video"), screen: Boolean(media.screen) } : {};
    const me = { ...call.me, ...now, mine: true };
    const byArrival = [...call.peers.values()].sort((a, b) => a.joinedAt - b.joinedAt);
    const everyone = [me, ...byArrival];
    const hands = everyone.filter((p) => p.hand != null).sort((a, b) => a.hand - b.hand);
    return [...hands, ...everyone.filter((p) => p.hand == null)];
  }

  /** The row under `key`, kept if what it shows is unchanged, else built anew. */
  #row(key, showing, build) {
    const mine = key === this.#call?.me?.id;
    const signature = JSON.stringify([showing, this.#confirming === key, mine && this.#renaming]);
    const kept = this.#rows.get(key);
    if (kept?.signature === signature) return kept.li;
    const li = build();
    this.#rows.set(key, { signature, li });
    return li;
  }

  #personRow(person, amHost, alone) {
    const call = this.#call;
    const { id } = person;
    const who = personText(person.nick, id);
    const li = el("li", { "data-id": id }, personLine(person));
    if (person.mine) {
      if (this.#renaming) {
        this.#rename.input.dataset.key = `${id}:rename`;
        li.append(this.#rename.form);
      } else {
        li.append(
          actions(
            button("Rename", "Rename yourself", `${id}:rename`, () => this.#openRename(person.nick)),
            person.host && !alone ? button("Give up host", null, `${id}:unhost`, () => call.setHost(id, false)) : "",
          ),
        );
      }
      return li;
    }
    if (!amHost) return li;
    if (this.#confirming === id) {
      li.append(
        el("p", { class: "confirm" }, "Remove ", el("bdi", {}, person.nick), " from the room?"),
        actions(
          button("Yes, remove", `Yes, remove ${who}`, `${id}:confirm`, () => call.act("remove", id), "danger"),
          button("Cancel", `Cancel removing ${who}`, `${id}:keep`, () => this.#confirm(null, `${id}:remove`)),
        ),
      );
      return li;
    }
    const media = person.webrtc !== false;
    li.append(
      actions(
        person.host ? "" : button("Make host", `Make host ${who}`, `${id}:host`, () => call.setHost(id, true)),
        media && !person.muted ? button("Mute", `Mute ${who}`, `${id}:mute`, () => call.act("mute", id)) : "",
        media && person.muted ? button("Ask to unmute", `Ask to unmute ${who}`, `${id}:ask`, () => call.act("ask_unmute", id)) : "",
        person.screen ? button("Stop screen share", `Stop screen share of ${who}`, `${id}:screen`, () => call.act("stop_screen", id)) : "",
        person.hand != null ? button("Lower hand", `Lower hand of ${who}`, `${id}:hand`, () => call.lowerHand(id)) : "",
        button("Remove", `Remove ${who}`, `${id}:remove`, () => this.#confirm(id, `${id}:confirm`), "danger"),
      ),
    );
    return li;
  }

  /** Asks to confirm a removal (an id), or stops asking (null); then focuses the key `then`. */
  #confirm(id, then) {
    this.#confirming = id;
    this.render();
    this.#focus(then);
  }

  #openRename(nick) {
    this.#renaming = true;
    this.#rename.reset(nick);
    this.render();
    this.#rename.input.focus();
    this.#rename.input.select();
  }

  #focus(key) {
    this.#parts.panel.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
  }

  /** Where the focus is in the panel: the element's key, its row and its place among the row's buttons. */
  #focused() {
    const active = document.activeElement;
    if (!active?.dataset?.key || !this.#parts.panel.contains(active)) return null;
    const row = active.closest("li");
    return { key: active.dataset.key, id: row?.dataset.id, index: row ? [...row.querySelectorAll("button")].indexOf(active) : -1 };
  }

  /**
   * After a rebuild, puts the focus back if it was in the panel and got lost: on the element
   * with the same key; if that is gone, on the button in its place in the row (Mute became Ask
   * to unmute); if the row is gone too, on the panel's title.
   */
  #restoreFocus(focused) {
    if (!focused || document.activeElement !== document.body) return;
    const { panel, title } = this.#parts;
    const same = panel.querySelector(`[data-key="${CSS.escape(focused.key)}"]`);
    if (same) return same.focus();
    const buttons = [...(panel.querySelector(`li[data-id="${CSS.escape(focused.id ?? "")}"]`)?.querySelectorAll("button") ?? [])];
    (buttons[Math.min(focused.index, buttons.length - 1)] ?? buttons[0] ?? title).focus();
  }
}

/** What a person's row shows, and nothing else: the row is rebuilt when this changes. */
function shown({ id, nick, host, hand, muted, camera, screen, webrtc, mine }) {
  return { id, nick, host, hand, muted, camera, screen, webrtc, mine };
}

/** A person's avatar letter, name and tag, and what they are doing, as badges and icons. */
function personLine(person) {
  const calls = person.webrtc !== false;
  return el(
    "div",
    { class: "who" },
    el("span", { class: "dot", "aria-hidden": "true" }, [...person.nick.trim()][0]?.toUpperCase() ?? "?"),
    personName(person.nick, person.id),
    person.mine ? el("span", { class: "you" }, "(you)") : "",
    el(
      "span",
      { class: "states" },
      person.host ? el("span", { class: "role" }, "Host") : "",
      person.hand != null ? el("span", { class: "hand", role: "img", "aria-label": "Hand raised" }, "✋") : "",
      calls ? "" : el("span", { class: "role" }, "Chat only"),
      calls && person.muted ? icon("mic-off", "Muted") : "",
      calls && person.camera === false ? icon("video-off", "Camera off") : "",
      person.screen ? icon("screen", "Sharing a screen") : "",
    ),
  );
}

/** A knocker's row, for hosts: their name, Admit and Deny. */
function knockRow(knock, call) {
  const who = personText(knock.nick, knock.id);
  const key = `knock:${knock.id}`;
  return el(
    "li",
    { "data-id": knock.id },
    personLine(knock),
    actions(
      button("Admit", `Admit ${who}`, `${key}:admit`, () => call.act("admit", knock.id), "primary"),
      button("Deny", `Deny ${who}`, `${key}:deny`, () => call.act("deny", knock.id)),
    ),
  );
}

/**
 * The inline form that renames me: the name to edit, Save and Cancel (or Escape), and the
 * room's reason when it refuses the name.
 */
function renameForm({ send, cancel }) {
  const input = el("input", { id: "rename-input", autocomplete: "nickname", maxlength: 32, "aria-describedby": "rename-error" });
  const error = el("p", { id: "rename-error", class: "field-error", role: "alert" });
  const clear = () => {
    error.textContent = "";
    input.removeAttribute("aria-invalid");
  };
  const form = el(
    "form",
    { class: "rename" },
    el("label", { for: "rename-input" }, "Your new name"),
    input,
    error,
    actions(el("button", { type: "submit", class: "primary small" }, "Save"), button("Cancel", "Cancel renaming", "rename-cancel", cancel)),
  );
  input.addEventListener("input", clear);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
  const rename = {
    form,
    input,
    reset(nick) {
      input.value = nick;
      clear();
    },
    fail(message) {
      error.textContent = message;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      input.select();
    },
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const nick = input.value.trim();
    if (!nick) rename.fail("Enter a name.");
    else send(nick);
  });
  return rename;
}

/**
 * A small button: visible `text`, a key for the focus, and an accessible `label` that names
 * the person and starts with the visible text (so that voice control finds it by what it
 * shows), or none when the text says it all.
 */
function button(text, label, key, run, kind = "secondary") {
  const node = el("button", { type: "button", class: `${kind} small`, "aria-label": label, "data-key": key }, text);
  node.addEventListener("click", run);
  return node;
}

function actions(...buttons) {
  return el("div", { class: "row-actions" }, ...buttons);
}

/** Makes `list` hold exactly `items`, in order, moving only what must move. */
function place(list, items) {
  items.forEach((item, i) => {
    if (list.children[i] !== item) list.insertBefore(item, list.children[i] ?? null);
  });
  while (list.children.length > items.length) list.lastElementChild.remove();
}

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
import { personText } from "./format.js";
import { onLanguageChange, parts, say, t, translatePage } from "./i18n.js";

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
    onLanguageChange(() => {
      // Every row is built again, in the new language.
      this.#rows.clear();
      this.#rename.showError();
      this.render();
    });
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

    title.textContent = t("people.title", { count: people.length });
    hostTools.hidden = !amHost;
    lock.textContent = t(call?.locked ? "people.unlock" : "people.lock");
    waiting.hidden = !knocks.length;
    badge.hidden = !knocks.length;
    badge.textContent = String(knocks.length);
    const waitingCount = t("count.people", { count: knocks.length });
    toggle.setAttribute("aria-label", knocks.length ? t("ctl.peopleWaiting", { waiting: waitingCount }) : t("ctl.people"));
    translatePage(this.#rename.form);

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
            button(t("people.rename"), t("people.renameLabel"), `${id}:rename`, () => this.#openRename(person.nick)),
            person.host && !alone ? button(t("people.giveUpHost"), null, `${id}:unhost`, () => call.setHost(id, false)) : "",
          ),
        );
      }
      return li;
    }
    if (!amHost) return li;
    if (this.#confirming === id) {
      li.append(
        el("p", { class: "confirm" }, ...parts("people.confirmRemove", { name: el("bdi", {}, person.nick) })),
        actions(
          button(t("people.yesRemove"), t("people.yesRemoveLabel", { who }), `${id}:confirm`, () => call.act("remove", id), "danger"),
          button(t("common.cancel"), t("people.keepLabel", { who }), `${id}:keep`, () => this.#confirm(null, `${id}:remove`)),
        ),
      );
      return li;
    }
    const media = person.webrtc !== false;
    li.append(
      actions(
        person.host ? "" : button(t("people.makeHost"), t("people.makeHostLabel", { who }), `${id}:host`, () => call.setHost(id, true)),
        media && !person.muted ? button(t("ctl.mute"), t("people.muteLabel", { who }), `${id}:mute`, () => call.act("mute", id)) : "",
        media && person.muted ? button(t("people.askUnmute"), t("people.askUnmuteLabel", { who }), `${id}:ask`, () => call.act("ask_unmute", id)) : "",
        person.screen ? button(t("people.stopScreen"), t("people.stopScreenLabel", { who }), `${id}:screen`, () => call.act("stop_screen", id)) : "",
        person.hand != null ? button(t("people.lowerHand"), t("people.lowerHandLabel", { who }), `${id}:hand`, () => call.lowerHand(id)) : "",
        button(t("people.remove"), t("people.removeLabel", { who }), `${id}:remove`, () => this.#confirm(id, `${id}:confirm`), "danger"),
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
    person.mine ? el("span", { class: "you" }, t("people.you")) : "",
    el(
      "span",
      { class: "states" },
      person.host ? el("span", { class: "role" }, t("people.host")) : "",
      person.hand != null ? el("span", { class: "hand", role: "img", "aria-label": t("tile.handRaised") }, "✋") : "",
      calls ? "" : el("span", { class: "role" }, t("tile.chatOnly")),
      calls && person.muted ? icon("mic-off", t("tile.muted")) : "",
      calls && person.camera === false ? icon("video-off", t("people.cameraOff")) : "",
      person.screen ? icon("screen", t("people.sharing")) : "",
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
      button(t("people.admit"), t("people.admitLabel", { who }), `${key}:admit`, () => call.act("admit", knock.id), "primary"),
      button(t("people.deny"), t("people.denyLabel", { who }), `${key}:deny`, () => call.act("deny", knock.id)),
    ),
  );
}

/**
 * The inline form that renames me: the name to edit, Save and Cancel (or Escape), and the
 * room's reason when it refuses the name (a message, i18n.js). Its words are marked for
 * `translatePage`, since it is built once.
 */
function renameForm({ send, cancel }) {
  const input = el("input", { id: "rename-input", autocomplete: "nickname", maxlength: 32, "aria-describedby": "rename-error" });
  const error = el("p", { id: "rename-error", class: "field-error", role: "alert" });
  /** The refusal shown (a message), kept to be written again in another language. */
  let refused = null;
  const showError = () => {
    error.textContent = refused ? say(refused) : "";
  };
  const clear = () => {
    refused = null;
    showError();
    input.removeAttribute("aria-invalid");
  };
  const form = el(
    "form",
    { class: "rename" },
    el("label", { for: "rename-input", "data-i18n": "rename.label" }),
    input,
    error,
    actions(
      el("button", { type: "submit", class: "primary small", "data-i18n": "rename.save" }),
      el("button", { type: "button", class: "secondary small", "data-i18n": "common.cancel", "data-i18n-aria-label": "rename.cancelLabel", "data-key": "rename-cancel" }),
    ),
  );
  form.querySelector('[data-key="rename-cancel"]').addEventListener("click", cancel);
  input.addEventListener("input", clear);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
  const rename = {
    form,
    input,
    showError,
    reset(nick) {
      input.value = nick;
      clear();
    },
    fail(message) {
      refused = message;
      showError();
      input.setAttribute("aria-invalid", "true");
      input.focus();
      input.select();
    },
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const nick = input.value.trim();
    if (!nick) rename.fail({ key: "rename.empty" });
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

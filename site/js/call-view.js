// The call: the video grid, the controls, the chat, a banner while the connection is lost, a
// warning when my network address cannot be hidden, and a note when this browser cannot make
// calls (chat-only: no camera, microphone or screen controls, and tiles that say so).
// Hosts and everyone: the participants panel (participants.js), raised hands, reactions, the
// lock, the waiting page while I knock at a locked room, hosts' notices of knocks (knocks.js),
// and what a host did to me (muted me, asked me to unmute, lowered my hand).
// One Call at a time; events from a call that has ended are ignored. While in a call, the
// tab's title and address are the room's. What the view writes is written again when the
// language changes (toasts, which soon go, excepted).
import { Call, refusal } from "./call.js";
import { ChatPanel } from "./chat.js";
import { $, el, personName, switchButton, toast } from "./dom.js";
import { isolate } from "./format.js";
import { listParts, onLanguageChange, parts, say, t } from "./i18n.js";
import { Grid, ME } from "./grid.js";
import { KnockNotices } from "./knocks.js";
import { pageAddress, roomLink } from "./names.js";
import { ParticipantsPanel } from "./participants.js";
import { reactionsMenu } from "./reactions.js";

// Who is talking: a ring around the tile while the audio a connection receives is loud enough.
const SPEAKING_LEVEL = 0.03;

/** What the tile of someone who takes part chat-only says, mine included. */
const CHAT_ONLY = "tile.chatOnly";

/** The room's refusals of a name (docs/protocol.md): in a call, for the rename form. */
const NICK_REFUSALS = new Set(["bad_nick", "nick_taken"]);

export class CallView {
  #media;
  #onLeave;
  #call = null;
  /** The interval that shows who is talking, while in a call. */
  #speaking = 0;
  /** Whether the banner says the connection is lost (so "open" is news: "Reconnected."). */
  #wasReconnecting = false;
  /** The interval that counts down to the next attempt in the banner. */
  #countdown = 0;
  /** The socket's last status, which the banner shows. */
  #status = { state: "open" };
  /** The room's name, or null for a private room (its name is its secret). */
  #roomName = null;
  #view = $("#call");
  #grid = new Grid($("#grid"), $("#stage"), (id, size) => this.#call?.showCamera(id, size));
  #settings = $("#settings");
  #hideAddress = $("#hide-address");
  #chat = new ChatPanel(
    {
      panel: $("#chat"),
      list: $("#messages"),
      form: $("#chat-form"),
      input: $("#chat-input"),
      toggle: $("#chat-btn"),
      badge: $("#unread"),
      close: $("#chat-close"),
      announcer: $("#announcer"),
    },
    (text) => {
      if (this.#call?.sendChat(text)) return true;
      toast(t("call.notSent"), "error");
      return false;
    },
  );
  #people;
  #knocks = new KnockNotices((type, id) => this.#call?.act(type, id));
  #reactions = reactionsMenu({ button: $("#react-btn"), menu: $("#react-menu") }, (emoji) => this.#call?.react(emoji));

  /**
   * @param {import("./media.js").LocalMedia} media
   * @param {object} options
   * @param {(message: string | null, refusal: string | null) => void} options.onLeave called
   *   once the call view is hidden, with why the call ended (null after Leave) and the error
   *   code if the room refused to let us in
   */
  constructor(media, { onLeave }) {
    this.#media = media;
    this.#onLeave = onLeave;
    // One side panel at a time, chat or people: the videos keep their room.
    this.#people = new ParticipantsPanel(
      {
        panel: $("#people"),
        toggle: $("#people-btn"),
        close: $("#people-close"),
        title: $("#people-title"),
        list: $("#people-list"),
        waiting: $("#waiting"),
        waitingList: $("#waiting-list"),
        hostTools: $("#host-tools"),
        muteAll: $("#mute-all"),
        lock: $("#lock-btn"),
        badge: $("#people-waiting"),
      },
      media,
      (open) => open && this.#chat.setOpen(false),
    );
    $("#chat-btn").addEventListener("click", () => this.#chat.isOpen && this.#people.setOpen(false));
    $("#hand-btn").addEventListener("click", () => this.#call?.me && this.#call.raiseHand(this.#call.me.hand == null));
    $("#knock-cancel").addEventListener("click", () => this.#call?.leave());

    $("#mic-btn").addEventListener("click", () => media.setEnabled("audio", !media.live("audio")));
    $("#cam-btn").addEventListener("click", () => media.setEnabled("video", !media.live("video")));
    $("#screen-btn").addEventListener("click", () => {
      if (media.screen) return media.stopScreen();
      media.startScreen().catch((error) => {
        if (error.name !== "NotAllowedError") toast(t("call.screenFailed", { reason: error.message || error.name }), "error");
      });
    });
    $("#settings-btn").addEventListener("click", () => this.#settings.showModal());
    // The lobby's box, moved into the Settings dialog (the lobby remembers the choice).
    this.#hideAddress.addEventListener("change", () => {
      if (!this.#call) return;
      this.#call.hideAddress = this.#hideAddress.checked;
      this.#showRelayWarning();
    });
    $("#leave-btn").addEventListener("click", () => this.#call?.leave());
    for (const button of [$("#copy-link"), $("#share-copy")]) {
      button.addEventListener("click", () =>
        navigator.clipboard.writeText($("#share-link").value).then(
          () => toast(t("call.linkCopied"), "ok", 2500),
          () => toast(t("call.copyFailed"), "error"),
        ),
      );
    }

    media.addEventListener("change", () => this.#updateControls());
    media.addEventListener("screen", () => {
      this.#updateControls();
      if (!this.#call) return;
      if (media.screen) this.#grid.addScreen(ME, this.#call.nick).setStream(media.screen);
      else this.#grid.removeScreen(ME);
    });
    media.addEventListener("speaker", () => this.#grid.setSink(media.speakerId));
    // Closing the tab is leaving: the others see it at once and the resume token ends.
    addEventListener("pagehide", () => this.#call?.leave());
    onLanguageChange(() => {
      if (!this.#call) return;
      this.#showRoom();
      this.#showCount();
      this.#updateControls();
      this.#showConnection(this.#status);
      this.#grid.rewrite();
    });
  }

  /** The call being joined or in progress, or null (in the lobby). */
  get call() {
    return this.#call;
  }

  enter(room, nick, isPrivate, hideAddress) {
    const media = this.#media;
    const grid = this.#grid;
    const chat = this.#chat;
    history.replaceState(null, "", pageAddress(room, isPrivate));
    this.#roomName = isPrivate ? null : room;
    this.#showRoom();

    const current = new Call({ room, nick, isPrivate, media, hideAddress });
    this.#call = current;
    const on = (type, handler) => current.addEventListener(type, ({ detail }) => this.#call === current && handler(detail));

    on("waiting", () => this.#showWaiting(true));
    on("welcome", ({ me: you, history: past, rejoined, limits }) => {
      this.#showWaiting(false);
      this.#showMe(you);
      this.#showLock(current.locked);
      if (limits?.maxChatChars) $("#chat-input").maxLength = limits.maxChatChars;
      for (const frame of past) chat.message(frame, frame.from === you.id, true);
      if (!rejoined) {
        // Who was here first, in a list of their names and tags ("Ann #1a2b and Bob #3c4d").
        const others = [...current.peers.values()].map(({ nick, id }) => ({ nick, id }));
        const names = () => listParts(others.map(({ nick, id }) => personName(nick, id)));
        if (isPrivate) chat.notice(others.length ? "chat.joinedPrivateWith" : "chat.joinedPrivate", { names });
        else chat.notice(others.length ? "chat.joinedRoomWith" : "chat.joinedRoom", { room: () => el("bdi", {}, room), names });
      }
      this.#showRelayWarning();
    });
    on("count", ({ count }) => {
      $("#head-count").querySelector("span").textContent = String(count);
      this.#showCount();
    });
    on("peer", ({ peer, change, quiet }) => {
      if (change === "leave") {
        grid.removePeer(peer.id);
        chat.presence("leave", peer);
        return;
      }
      let tile = grid.camera(peer.id);
      if (!tile || change === "join") {
        tile = grid.addCamera(peer.id, peer.nick);
        if (!current.calls(peer)) tile.setChatOnly(peer.webrtc === false ? CHAT_ONLY : "");
        if (media.speakerId) tile.setSink(media.speakerId);
        if (!quiet) chat.presence("join", peer);
      }
      tile.setNick(peer.nick);
      tile.setHand(peer.hand != null);
      tile.setMuted(peer.muted);
      if (peer.muted) tile.setSpeaking(false);
      tile.setCamera(peer.camera);
      grid.screen(peer.id)?.setNick(peer.nick);
      if (!peer.screen) grid.removeScreen(peer.id);
    });
    on("track", ({ peer, stream, screen, shown }) => {
      if (!screen) {
        // The call learns when the tile has a frame of it on screen, if it asks (`shown`).
        const tile = grid.camera(peer.id);
        if (!tile) return shown?.();
        return tile.setStream(stream).then((onScreen) => onScreen && shown?.());
      }
      const tile = grid.screen(peer.id) ?? grid.addScreen(peer.id, peer.nick);
      tile.setStream(stream);
      stream.addEventListener("removetrack", () => {
        if (!stream.getVideoTracks().length && grid.screen(peer.id) === tile) grid.removeScreen(peer.id);
      });
    });
    on("link", ({ peer, state }) => grid.camera(peer.id)?.setConnection(state));
    on("media", () => this.#showRelayWarning());
    on("chat", (frame) => chat.message(frame, frame.from === current.me?.id));
    on("me", ({ me }) => this.#showMe(me));
    on("renamed", ({ person, was }) => {
      const { id, nick } = person;
      if (person === current.me) {
        this.#people.closeRename();
        chat.notice("chat.youAreNow", { name: () => el("bdi", {}, nick) });
      } else {
        chat.notice("chat.renamed", { was: () => personName(was, id), name: () => el("bdi", {}, nick) });
      }
    });
    on("hand", ({ person, by }) => {
      const mine = person === current.me;
      if (person.hand != null && !mine) chat.notice("chat.raisedHand", { name: nameMaker(person) });
      if (person.hand == null && mine && by && by !== person) toast(parts("toast.loweredHand", { name: nameOf(by) }));
    });
    on("host", ({ person, by }) => {
      if (person === current.me) toast(t(person.host ? "toast.nowHost" : "toast.noLongerHost"), "ok");
      else if (person.host) chat.notice(by ? "chat.isHost" : "chat.isTheHost", { name: nameMaker(person) });
    });
    on("moderated", ({ by, what }) => toast(parts(what === "mute" ? "toast.mutedYou" : "toast.stoppedScreen", { name: nameOf(by) })));
    on("ask-unmute", ({ by }) =>
      toast(parts("toast.asksUnmute", { name: nameOf(by) }), "info", 15_000, [
        { text: t("ctl.unmute"), label: t("toast.unmuteMe"), run: () => media.setEnabled("audio", true) },
      ]),
    );
    on("room", ({ locked, by }) => {
      this.#showLock(locked);
      if (by) chat.notice(locked ? "chat.locked" : "chat.unlocked", { name: nameMaker(by) });
      else chat.notice(locked ? "chat.roomLocked" : "chat.roomUnlockedItself");
    });
    on("knocks", () => this.#knocks.sync(current.knocks));
    on("reaction", ({ person, emoji }) => grid.camera(person === current.me ? ME : person.id)?.react(emoji));
    on("status", (status) => this.#showConnection(status));
    on("error", (frame) => {
      if (NICK_REFUSALS.has(frame.code) && this.#people.renaming) this.#people.renameFailed(refusal(frame));
      else toast(say(refusal(frame)), "error");
    });
    on("ended", ({ message, refusal }) => this.#leave(message, refusal));
    // The room's socket first: it connects while the page builds the call view (a layout of
    // the whole page), and no frame is handled before this task ends.
    current.start();

    this.#view.hidden = false;
    $("#call-lock").toggleAttribute("hidden", !isPrivate); // an <svg>: no .hidden property
    $("#share").hidden = !isPrivate;
    $("#share-link").value = roomLink(room, isPrivate).href;
    $("#devices-call").append($("#devices"));
    $("#privacy-call").append($("#privacy"));
    this.#showChatOnly(!current.webrtc);
    chat.clear();
    this.#people.setOpen(false);
    this.#people.follow(current);
    // Chat-only, the chat is all there is: it opens on a narrow screen too.
    chat.setOpen(matchMedia("(min-width: 900px)").matches || !current.webrtc);
    if (!chat.isOpen) $("#mic-btn").focus();
    grid.clear();
    const mine = grid.addCamera(ME, nick);
    mine.setStream(media.stream);
    if (!current.webrtc) mine.setChatOnly(CHAT_ONLY);
    this.#updateControls();
    this.#speaking = setInterval(() => this.#showSpeaking(current), 300);
  }

  /**
   * Says that this browser cannot make calls, and leaves out the controls of a call: there is
   * no camera, microphone, screen or connection to set.
   */
  #showChatOnly(chatOnly) {
    $("#chat-only").hidden = !chatOnly;
    for (const id of ["#mic-btn", "#cam-btn", "#screen-btn", "#settings-btn"]) $(id).hidden = chatOnly;
  }

  /**
   * Warns when I asked to hide my network address and the server has no relay to do it with
   * (chat-only, I call nobody: nobody sees it; on the SFU, the others see only the SFU's).
   */
  #showRelayWarning() {
    const call = this.#call;
    $("#no-relay").hidden = !(call?.me && call.webrtc && call.mode !== "sfu" && call.hideAddress && !call.hasRelay);
  }

  #showSpeaking(call) {
    for (const peer of call.peers.values()) {
      call
        .audioLevel(peer)
        .then((level) => this.#grid.camera(peer.id)?.setSpeaking(!peer.muted && level > SPEAKING_LEVEL))
        .catch(() => {});
    }
  }

  /**
   * Shows the page for knocking at a locked room (`waiting`), or the call; the focus goes to
   * Cancel, and from there to the call's first control once let in.
   */
  #showWaiting(waiting) {
    const wasWaiting = !$("#knock-wait").hidden;
    $("#knock-wait").hidden = !waiting;
    this.#view.toggleAttribute("data-waiting", waiting);
    if (waiting) $("#knock-cancel").focus();
    else if (wasWaiting && this.#call) $("#mic-btn").focus();
  }

  /** My name on my tile, my raised hand there and on the Raise hand button. */
  #showMe(me) {
    const tile = this.#grid.camera(ME);
    tile?.setNick(me.nick, me.id);
    tile?.setHand(me.hand != null);
    this.#grid.screen(ME)?.setNick(me.nick, me.id);
    showHand(me.hand != null);
  }

  #showLock(locked) {
    $("#room-locked").hidden = !locked;
  }

  #leave(message, refusal) {
    this.#call = null;
    clearInterval(this.#speaking);
    this.#showWaiting(false);
    this.#showLock(false);
    this.#knocks.clear();
    this.#reactions.close();
    this.#people.follow(null);
    this.#people.setOpen(false);
    showHand(false);
    if (this.#settings.open) this.#settings.close();
    this.#media.stopScreen();
    this.#grid.clear();
    $("#devices-home").append($("#devices"));
    this.#view.hidden = true;
    $("#no-relay").hidden = true;
    $("#chat-only").hidden = true;
    this.#showConnection({ state: "open" });
    document.title = "Room";
    history.replaceState(null, "", pageAddress());
    this.#onLeave(message, refusal);
  }

  /** The room's name in the bar and the tab's title ("Private room" for a private one). */
  #showRoom() {
    const name = this.#roomName ?? t("call.privateRoom");
    $("#call-room").textContent = name;
    document.title = `${this.#roomName === null ? name : isolate(name)} · Room`;
  }

  /** The head count's accessible name and tooltip: "3 people in the room". */
  #showCount() {
    const chip = $("#head-count");
    const label = t("call.people", { count: Number(chip.querySelector("span").textContent) });
    chip.setAttribute("aria-label", label);
    chip.title = label;
  }

  #showConnection(status) {
    this.#status = status;
    const { state, retryAt } = status;
    const banner = $("#conn-banner");
    clearInterval(this.#countdown);
    // Knocking, the room answered too: there is nothing to reconnect.
    if (state === "open" || state === "ended" || state === "knocking") {
      banner.hidden = true;
      // Only a call we were in can be back: "open" comes before the first welcome is handled.
      if (this.#wasReconnecting && state === "open" && this.#call?.me) toast(t("call.reconnected"), "ok", 2500);
      this.#wasReconnecting = false;
      return;
    }
    if (state === "connecting" && !this.#wasReconnecting) return; // the first connection: no news
    this.#wasReconnecting = true;
    banner.hidden = false;
    // Lost once in, or not in yet (the room may not let us in at all).
    const [what, doingIn, doing] = this.#call?.me
      ? ["call.lost", "call.reconnectingIn", "common.reconnecting"]
      : ["call.cannotConnect", "call.tryingAgainIn", "call.tryingAgain"];
    const tick = () => {
      const seconds = Math.ceil((retryAt - Date.now()) / 1000);
      banner.textContent = `${t(what)} ${state === "reconnecting" && seconds > 0 ? t(doingIn, { seconds }) : t(doing)}`;
    };
    tick();
    if (state === "reconnecting") this.#countdown = setInterval(tick, 500);
  }

  #updateControls() {
    const media = this.#media;
    const micOn = media.live("audio");
    const camOn = media.live("video");
    switchButton($("#mic-btn"), micOn, ["mic", t("ctl.mute")], ["mic-off", t("ctl.unmute")]);
    switchButton($("#cam-btn"), camOn, ["video", t("ctl.stopVideo")], ["video-off", t("ctl.startVideo")]);
    for (const button of [$("#mic-btn"), $("#cam-btn")]) offerIf(button, media.canCapture, t("call.noCapture"));
    offerIf($("#screen-btn"), media.canShareScreen, t("call.noScreen"));
    const sharing = Boolean(media.screen);
    $("#screen-btn").classList.toggle("active", sharing);
    $("#screen-btn span").textContent = t(sharing ? "ctl.stopSharing" : "ctl.shareScreen");
    const me = this.#grid.camera(ME);
    me?.setMuted(!micOn);
    me?.setCamera(camOn);
  }
}

/** Enables a control, or disables it with the reason as its tooltip. */
function offerIf(button, possible, why) {
  button.disabled = !possible;
  button.title = possible ? "" : why;
}

/** The Raise hand button, pressed while my hand is up. */
function showHand(raised) {
  const hand = $("#hand-btn");
  hand.setAttribute("aria-pressed", String(raised));
  hand.classList.toggle("active", raised);
}

/** A person's name and tag, or "A host" when the room does not know them (any more). */
function nameOf(person) {
  return person ? personName(person.nick, person.id) : t("call.aHost");
}

/** What makes a person's name and tag as they are now, for a chat notice (written again in another language). */
function nameMaker({ nick, id }) {
  return () => personName(nick, id);
}

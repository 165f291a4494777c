// The call: the video grid, the controls, the chat, a banner while the connection is lost, a
// warning when my network address cannot be hidden, and a note when this browser cannot make
// calls (chat-only: no camera, microphone or screen controls, and tiles that say so).
// One Call at a time; events from a call that has ended are ignored. While in a call, the
// tab's title and address are the room's.
import { Call } from "./call.js";
import { ChatPanel } from "./chat.js";
import { $, el, switchButton, toast } from "./dom.js";
import { isolate, plural } from "./format.js";
import { Grid, ME } from "./grid.js";
import { pageAddress, roomLink } from "./names.js";

// Who is talking: a ring around the tile while the audio a connection receives is loud enough.
const SPEAKING_LEVEL = 0.03;

/** What the tile of someone who takes part chat-only says, mine included. */
const CHAT_ONLY = "Chat only";
/** Why a control is off: the browser gives the page no camera or microphone, or no screen. */
const NO_CAPTURE = "This browser gives this page no camera or microphone.";
const NO_SCREEN = "This browser cannot share the screen.";

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
  #view = $("#call");
  #grid = new Grid($("#grid"), $("#stage"));
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
    },
    (text) => {
      if (this.#call?.sendChat(text)) return true;
      toast("Not connected: the message was not sent.", "error");
      return false;
    },
  );

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

    $("#mic-btn").addEventListener("click", () => media.setEnabled("audio", !media.live("audio")));
    $("#cam-btn").addEventListener("click", () => media.setEnabled("video", !media.live("video")));
    $("#screen-btn").addEventListener("click", () => {
      if (media.screen) return media.stopScreen();
      media.startScreen().catch((error) => {
        if (error.name !== "NotAllowedError") toast(`Screen sharing failed: ${error.message || error.name}`, "error");
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
          () => toast("Link copied.", "ok", 2500),
          () => toast("Could not copy: select the link and copy it yourself.", "error"),
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
    document.title = `${isPrivate ? "Private room" : isolate(room)} · Room`;

    this.#view.hidden = false;
    $("#call-room").textContent = isPrivate ? "Private room" : room;
    $("#call-lock").toggleAttribute("hidden", !isPrivate); // an <svg>: no .hidden property
    $("#share").hidden = !isPrivate;
    $("#share-link").value = roomLink(room, isPrivate).href;
    $("#devices-call").append($("#devices"));
    $("#privacy-call").append($("#privacy"));
    const current = new Call({ room, nick, isPrivate, media, hideAddress });
    this.#call = current;
    this.#showChatOnly(!current.webrtc);
    chat.clear();
    // Chat-only, the chat is all there is: it opens on a narrow screen too.
    chat.setOpen(matchMedia("(min-width: 900px)").matches || !current.webrtc);
    if (!chat.isOpen) $("#mic-btn").focus();
    grid.clear();
    const mine = grid.addCamera(ME, nick);
    mine.setStream(media.stream);
    if (!current.webrtc) mine.setChatOnly(CHAT_ONLY);
    this.#updateControls();
    const on = (type, handler) => current.addEventListener(type, ({ detail }) => this.#call === current && handler(detail));

    on("welcome", ({ me: you, history: past, rejoined, limits }) => {
      grid.camera(ME)?.setNick(you.nick, you.id);
      if (limits?.maxChatChars) $("#chat-input").maxLength = limits.maxChatChars;
      for (const frame of past) chat.message(frame, frame.from === you.id);
      if (!rejoined) chat.notice(...(isPrivate ? ["You joined the private room."] : ["You joined ", el("bdi", {}, room), "."]));
      this.#showRelayWarning();
    });
    on("count", ({ count }) => {
      const chip = $("#head-count");
      chip.querySelector("span").textContent = String(count);
      chip.setAttribute("aria-label", `${plural(count, "person", "people")} in the room`);
      chip.title = chip.getAttribute("aria-label");
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
      tile.setMuted(peer.muted);
      if (peer.muted) tile.setSpeaking(false);
      tile.setCamera(peer.camera);
      grid.screen(peer.id)?.setNick(peer.nick);
      if (!peer.screen) grid.removeScreen(peer.id);
    });
    on("track", ({ peer, stream, screen }) => {
      if (!screen) return grid.camera(peer.id)?.setStream(stream);
      const tile = grid.screen(peer.id) ?? grid.addScreen(peer.id, peer.nick);
      tile.setStream(stream);
      stream.addEventListener("removetrack", () => {
        if (!stream.getVideoTracks().length && grid.screen(peer.id) === tile) grid.removeScreen(peer.id);
      });
    });
    on("link", ({ peer, state }) => grid.camera(peer.id)?.setConnection(state));
    on("chat", (frame) => chat.message(frame, frame.from === current.me?.id));
    on("status", (status) => this.#showConnection(status));
    on("error", (frame) => toast(frame.message || frame.code, "error"));
    on("ended", ({ message, refusal }) => this.#leave(message, refusal));
    current.start();
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
   * (chat-only, I call nobody: nobody sees it).
   */
  #showRelayWarning() {
    const call = this.#call;
    $("#no-relay").hidden = !(call?.me && call.webrtc && call.hideAddress && !call.hasRelay);
  }

  #showSpeaking(call) {
    for (const peer of call.peers.values()) {
      peer.link
        ?.audioLevel()
        .then((level) => this.#grid.camera(peer.id)?.setSpeaking(!peer.muted && level > SPEAKING_LEVEL))
        .catch(() => {});
    }
  }

  #leave(message, refusal) {
    this.#call = null;
    clearInterval(this.#speaking);
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

  #showConnection({ state, retryAt }) {
    const banner = $("#conn-banner");
    clearInterval(this.#countdown);
    if (state === "open" || state === "ended") {
      banner.hidden = true;
      // Only a call we were in can be back: "open" comes before the first welcome is handled.
      if (this.#wasReconnecting && state === "open" && this.#call?.me) toast("Reconnected.", "ok", 2500);
      this.#wasReconnecting = false;
      return;
    }
    if (state === "connecting" && !this.#wasReconnecting) return; // the first connection: no news
    this.#wasReconnecting = true;
    banner.hidden = false;
    // Lost once in, or not in yet (the room may not let us in at all).
    const [what, doing] = this.#call?.me ? ["Connection lost.", "Reconnecting"] : ["Cannot connect to the room.", "Trying again"];
    const tick = () => {
      const seconds = Math.ceil((retryAt - Date.now()) / 1000);
      banner.textContent = state === "reconnecting" && seconds > 0 ? `${what} ${doing} in ${seconds} s…` : `${what} ${doing}…`;
    };
    tick();
    if (state === "reconnecting") this.#countdown = setInterval(tick, 500);
  }

  #updateControls() {
    const media = this.#media;
    const micOn = media.live("audio");
    const camOn = media.live("video");
    switchButton($("#mic-btn"), micOn, ["mic", "Mute"], ["mic-off", "Unmute"]);
    switchButton($("#cam-btn"), camOn, ["video", "Stop video"], ["video-off", "Start video"]);
    for (const button of [$("#mic-btn"), $("#cam-btn")]) offerIf(button, media.canCapture, NO_CAPTURE);
    offerIf($("#screen-btn"), media.canShareScreen, NO_SCREEN);
    const sharing = Boolean(media.screen);
    $("#screen-btn").classList.toggle("active", sharing);
    $("#screen-btn span").textContent = sharing ? "Stop sharing" : "Share screen";
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

// A call: the room socket plus a full mesh of PeerLinks, one per other person, or, once the
// room has moved to the SFU (docs/protocol.md, "Rooms that grow: mesh and SFU"), one SfuLink
// (sfu.js) that carries everyone's media.
//
// Who starts a connection: whoever learns about the other from a `welcome` (the newcomer,
// or anyone after reconnecting) makes a fresh link and offers; the others wait for that offer
// and create their link when it arrives. An offer from a connection id a link has not seen
// replaces the link, so a side that started over is always followed.
//
// Events (CustomEvent detail in parentheses):
//   "welcome" ({ me, history, limits, rejoined }: rejoined after a reconnect)   "count" ({ count })
//   "peer" ({ peer, change: "join" | "update" | "leave", quiet }) "chat" (the chat frame)
//   "me" ({ me }: my record changed: name, hand, host role, or a host's mute)
//   "track" ({ peer, stream, screen, shown }: `shown`, if given, is to be called once a frame
//     of that camera stream is on the person's tile)   "link" ({ peer, state }: connection state)
//   "media" ({ mode }: the room moved to the SFU while I was in it, see `mode`)
//   "status" (socket status, see socket.js and signaling.js)   "error" (an error frame)
//   "waiting" (the room is locked: I wait at its door until a host lets me in or not)
//   "knocks" (who knocks changed, see `knocks`; for hosts)   "room" ({ locked, by })
//   "renamed" ({ person, was })   "hand" ({ person, by })   "host" ({ person, by })
//   "moderated" ({ by, what: "mute" | "screen" }: a host turned my microphone or share off)
//   "ask-unmute" ({ by })   "reaction" ({ person, emoji })
//   "ended" ({ message, refusal }: the call is over; message, `{ key, params }` (i18n.js),
//   says why, null after Leave; refusal is the error code when the room refused to let us
//   in, such as "nick_taken")
// A person (`person`, `by`) is my record or another's; `by` is null when the room itself did
// it, or when that host has left since.
//
// A browser without WebRTC takes part chat-only: it joins saying so (`webrtc: false`), makes
// no connections and sends no media state, and nobody offers it a connection. The others'
// chat-only people (`peer.webrtc === false`) get no connection either.
//
// The move to the SFU is make-before-break: when the room says `media: "sfu"`, each person's
// tile keeps its peer-to-peer stream until the SFU's copy of that person has decoded a frame;
// then the tile is given the SFU's stream, and once a frame of it is on the tile (the view
// says so, `shown`), that person is told (`{sfu: "playing"}` over the signal relay). A
// peer-to-peer connection closes once both sides have said so, or, for a side that never says
// it, once the SFU's copy plays here and SWITCH_PATIENCE_MS have passed since the move. A
// newcomer to a room on the SFU makes no peer-to-peer connection at all. The view needs to
// know none of this: "track" and "link" events say what a tile shows, from whichever
// connection carries it, and `shown` asks only to be told when a tile has a frame on screen.
//
// ICE servers come from the room: the welcome carries them (TURN credentials are only for
// members, and short-lived), and while the call lasts the room is asked for fresh ones a
// minute before they expire, so that an ICE restart late in a long call can still use the
// relay.
import { hasMessage } from "./i18n.js";
import { PeerLink, canCall, usableIceServers } from "./peer.js";
import { SfuLink } from "./sfu.js";
import { RoomSocket } from "./signaling.js";
import { browserKey } from "./storage.js";

/**
 * Joining gives up after this many attempts in a row whose socket never opened (a few
 * seconds of backoff): the person is better off back in the lobby, told why, than waiting on
 * a call page that never connects.
 */
const JOIN_ATTEMPTS = 4;

/** What a welcome from a server without ICE servers for us amounts to. */
const NO_ICE = { iceServers: [], expiresAt: null };
/** Fresh TURN credentials are asked for this long before the ones in hand expire… */
const ICE_REFRESH_LEAD_MS = 60_000;
/** …and not more often than this, however short their life or if no answer came. */
const ICE_REFRESH_GAP_MS = 30_000;

/** An SFU call the room has not answered in this long has failed (the queue moves on). */
const SFU_ANSWER_MS = 15_000;
/**
 * After the move to the SFU, how long a peer-to-peer connection waits for the other side to say
 * it plays my SFU copy, once its SFU copy plays here.
 */
const SWITCH_PATIENCE_MS = 30_000;
/** A failed connection to the SFU is made anew (a new session) after this pause. */
const SFU_RETRY_MS = 2000;

export class Call extends EventTarget {
  /**
   * My record as the others see it, once welcomed: { id, nick, host, hand, … }. Its media state
   * is only what the room last heard: `media` is the truth of my own.
   */
  me = null;
  /** Whether the room is locked: newcomers knock and a host lets them in. */
  locked = false;
  /** Whether I am waiting at a locked room's door. */
  waiting = false;
  /** For a host, who is knocking, by id: { id, nick }. Empty for everyone else. */
  knocks = new Map();
  /** Whether this browser can make calls; without WebRTC I am here chat-only. */
  webrtc = canCall;
  /**
   * Other people by id: { id, nick, muted, camera, screen, joinedAt, tracks, link, via,
   * sfuStreams, showsSfu, playsMine }: `link` is the peer-to-peer connection (null without
   * one), `via` "sfu" once their tile is given the SFU's copy, `sfuStreams` the SFU's streams
   * of their camera and screen, `showsSfu` whether a frame of that copy is on their tile,
   * `playsMine` whether they said they show my SFU copy.
   */
  peers = new Map();
  /** How the room carries media: "mesh" (a connection per person) or "sfu". */
  mode = "mesh";
  /** The connection to the SFU while the room is on it (null in a mesh, or chat-only). */
  sfu = null;
  /** SFU calls sent and not answered, by request number: { call, sfu, resolve, reject, timer }. */
  #sfuCalls = new Map();
  /** How large each other person's camera tile is shown, by id (see showCamera). */
  #cameraSizes = new Map();
  #nextReq = 1;
  /** Whether peer-to-peer connections may close without the other side's word (see SWITCH_PATIENCE_MS). */
  #patienceOver = false;
  #patienceTimer = 0;
  /** From the room: { iceServers, expiresAt } (unix seconds, or null when nothing expires). */
  #ice = NO_ICE;
  /** The timer that asks the room for fresh TURN credentials, and when it last asked. */
  #iceTimer = 0;
  #iceAskedAt = -Infinity;
  #welcomed = false;
  #over = false;
  #sentState = null;

  /**
   * @param {object} options
   * @param {string} options.room
   * @param {string} options.nick
   * @param {boolean} options.isPrivate
   * @param {import("./media.js").LocalMedia} options.media
   * @param {boolean} [options.hideAddress] see `hideAddress`
   */
  constructor({ room, nick, isPrivate, media, hideAddress = false }) {
    super();
    this.nick = nick;
    this.isPrivate = isPrivate;
    this.media = media;
    /**
     * Hide my network address from the others: connections made from now on use only the
     * TURN relay's candidates (iceTransportPolicy "relay"), so the others see the relay's
     * address instead of mine. Without a relay (see `hasRelay`) they use every candidate.
     */
    this.hideAddress = hideAddress;
    const browser = browserKey();
    this.socket = new RoomSocket(room, () => ({ type: "join", nick: this.nick, private: this.isPrivate, webrtc: this.webrtc, browser }));
    this.socket.addEventListener("frame", (e) => this.#onFrame(e.detail));
    this.socket.addEventListener("status", (e) => this.#onStatus(e.detail));

    this.onTrack = ({ detail: { kind, track } }) => {
      for (const peer of this.peers.values()) peer.link?.setTrack(kind, track);
      this.sfu?.setTrack(kind, track);
    };
    this.onScreen = () => {
      for (const peer of this.peers.values()) peer.link?.setScreen(this.media.screen);
      this.sfu?.screenChanged();
      this.sendState();
    };
    this.onMediaChange = () => this.sendState();
    media.addEventListener("track", this.onTrack);
    media.addEventListener("screen", this.onScreen);
    media.addEventListener("change", this.onMediaChange);
  }

  start() {
    this.socket.start();
  }

  /** Whether the room gave us a TURN relay (a server with credentials) to call through. */
  get hasRelay() {
    return this.#ice.iceServers.some((server) => server.username);
  }

  sendChat(text) {
    return this.socket.send({ type: "chat", text });
  }

  /** Me or another person in the room, by id; null for nobody (or nobody still here). */
  person(id) {
    return id === this.me?.id ? this.me : (this.peers.get(id) ?? null);
  }

  raiseHand(raised) {
    return this.socket.send({ type: "hand", raised });
  }

  /** One of the reactions (reactions.js). */
  react(emoji) {
    return this.socket.send({ type: "react", emoji });
  }

  rename(nick) {
    return this.socket.send({ type: "nick", nick });
  }

  /**
   * A host's action on one person: "admit" or "deny" (a knocker), "remove", "mute",
   * "stop_screen", "ask_unmute". The room refuses it from anyone but a host.
   */
  act(type, id) {
    return this.socket.send({ type, id });
  }

  lowerHand(id) {
    return this.socket.send({ type: "hand", raised: false, id });
  }

  /** Makes someone a host, or (my own id, false) gives the role up. */
  setHost(id, host) {
    return this.socket.send({ type: "host", id, host });
  }

  muteAll() {
    return this.socket.send({ type: "mute_all" });
  }

  lock(locked) {
    return this.socket.send({ type: "lock", locked });
  }

  /**
   * Whether a connection is made with `peer`: not when either of us is chat-only (a peer
   * without `webrtc` can call, the protocol's default).
   */
  calls(peer) {
    return this.webrtc && peer.webrtc !== false;
  }

  /**
   * The connection that brings `peer`'s media to their tile: the peer-to-peer one, or the SFU's
   * (null if neither).
   */
  carrier(peer) {
    return peer.link && peer.via !== "sfu" ? peer.link : this.sfu;
  }

  /**
   * Person `id`'s camera tile is shown at `size` ({ width, height } in device pixels): on the
   * SFU, the layer of their camera I receive follows it (sfu.js, `cameraLayer`).
   */
  showCamera(id, size) {
    this.#cameraSizes.set(id, size);
    this.sfu?.showCamera(id, size);
  }

  /** How loud `peer`'s microphone was lately (0 to 1), from whichever connection brings it. */
  audioLevel(peer) {
    const carrier = this.carrier(peer);
    if (!carrier) return Promise.resolve(0);
    return carrier === this.sfu ? carrier.audioLevel(peer.id) : carrier.audioLevel();
  }

  /**
   * Tells the others whether my mic, camera and screen are on (when that changed). Not when
   * chat-only: the room already tells them I send neither.
   */
  sendState() {
    if (!this.webrtc) return;
    const state = {
      type: "state",
      muted: !this.media.live("audio"),
      camera: this.media.live("video"),
      screen: Boolean(this.media.screen),
    };
    const text = JSON.stringify(state);
    if (text !== this.#sentState && this.socket.send(state)) this.#sentState = text;
  }

  leave() {
    this.socket.leave();
    this.#finish(null);
  }

  #finish(message, refusal = null) {
    if (this.#over) return;
    this.#over = true;
    this.waiting = false;
    clearTimeout(this.#iceTimer);
    clearTimeout(this.#patienceTimer);
    this.#failSfuCalls("the call ended");
    this.sfu?.close();
    this.sfu = null;
    this.media.removeEventListener("track", this.onTrack);
    this.media.removeEventListener("screen", this.onScreen);
    this.media.removeEventListener("change", this.onMediaChange);
    this.media.stopScreen();
    for (const peer of this.peers.values()) peer.link?.close();
    this.peers.clear();
    this.#emit("ended", { message, refusal });
  }

  #onStatus(status) {
    // Answers to what the lost socket sent will not come.
    if (status.state === "reconnecting") this.#failSfuCalls("the connection to the room was lost");
    this.#emit("status", status);
    if (status.state === "ended") this.#finish({ key: status.message });
    else if (status.state === "reconnecting" && !this.#welcomed && status.failedOpens >= JOIN_ATTEMPTS) this.#giveUpJoining();
  }

  /**
   * The room's socket keeps failing to open before we were ever in. Either the server refuses
   * the upgrade (HTTP 429 for too many sockets from one network, or to one room, or too many
   * new rooms from one network: the browser cannot tell which) or it cannot be reached; the
   * socket cannot tell which of the two, a plain request to the server can.
   */
  async #giveUpJoining() {
    this.socket.stop();
    const reachable = await fetch("/api/health", { cache: "no-store", signal: AbortSignal.timeout(5000) }).then(
      () => true,
      () => false,
    );
    this.#finish({ key: reachable ? "join.tooManyConnections" : "join.unreachable" });
  }

  #onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        return this.#onWelcome(frame);
      case "peer_joined": {
        const peer = newPeer(frame.peer);
        this.peers.get(peer.id)?.link?.close();
        this.peers.set(peer.id, peer);
        this.#emit("count", { count: frame.count });
        this.#emit("peer", { peer, change: "join" });
        return this.#receiveFromSfu(peer);
      }
      case "peer_left": {
        const peer = this.peers.get(frame.id);
        this.#emit("count", { count: frame.count });
        if (!peer) return;
        peer.link?.close();
        this.sfu?.want(peer.id, []);
        this.peers.delete(frame.id);
        this.#cameraSizes.delete(frame.id);
        return this.#emit("peer", { peer, change: "leave" });
      }
      case "media":
        if (frame.mode === "sfu" && this.mode !== "sfu") this.#moveToSfu();
        return;
      case "tracks": {
        const peer = this.peers.get(frame.id);
        if (!peer) return;
        peer.tracks = frame.tracks;
        return this.#receiveFromSfu(peer);
      }
      case "sfu":
        return this.#onSfuAnswer(frame);
      case "signal":
        return this.#onSignal(frame.from, frame.data);
      case "state":
      case "nick":
      case "hand":
      case "host":
        return this.#onRecord(frame);
      case "ask_unmute":
        return this.#emit("ask-unmute", { by: this.person(frame.by) });
      case "reaction": {
        const person = this.person(frame.from);
        return person && this.#emit("reaction", { person, emoji: frame.emoji });
      }
      case "room":
        // Only for members: a knocker learns whether the room is locked from its welcome.
        if (!this.me) return;
        this.locked = frame.locked;
        return this.#emit("room", { locked: frame.locked, by: this.person(frame.by) });
      case "knocking":
        this.waiting = true;
        return this.#emit("waiting", {});
      case "knock":
        this.knocks.set(frame.id, { id: frame.id, nick: frame.nick });
        return this.#emit("knocks", {});
      case "knock_ended":
        this.knocks.delete(frame.id);
        return this.#emit("knocks", {});
      case "chat":
        return this.#emit("chat", frame);
      case "ice":
        this.#setIce(frame);
        // Open connections keep their servers until told: the next ICE restart needs these.
        for (const peer of this.peers.values()) peer.link?.setIceServers(this.#ice.iceServers);
        this.sfu?.setIceServers(this.#ice.iceServers);
        return;
      case "error":
        // Refused before we were in (a full room, a bad name, a knock turned away), or removed
        // by a host (the message names them): there is no call to go on with.
        if (!this.#welcomed || frame.code === "removed") {
          this.socket.stop();
          return this.#finish(refusal(frame), frame.code);
        }
        return this.#emit("error", frame);
    }
  }

  #onWelcome(frame) {
    const rejoined = this.#welcomed;
    this.#welcomed = true;
    this.waiting = false;
    this.me = frame.you;
    this.locked = Boolean(frame.locked);
    this.knocks = new Map((frame.knocking ?? []).map(({ id, nick }) => [id, { id, nick }]));
    this.#setIce(frame.ice);
    // Whatever happened while we were away (the others may have seen us leave and come back,
    // or seen nothing at all), start every connection over from this side: the others replace
    // their link when our new connection's offer arrives. Signals lost in the gap cannot
    // leave a connection stuck half-negotiated.
    // On the SFU, likewise: a new session (the room dropped my old one), published and
    // subscribed anew.
    const old = this.peers;
    this.peers = new Map();
    const changes = [];
    for (const info of frame.peers) {
      const previous = old.get(info.id);
      old.delete(info.id);
      previous?.link?.close();
      const peer = newPeer(info);
      this.peers.set(peer.id, peer);
      // Quiet: people already here when I arrive are not news.
      changes.push({ peer, change: previous ? "update" : "join", quiet: !rejoined });
    }
    this.mode = frame.media === "sfu" ? "sfu" : "mesh";
    this.sfu?.close();
    this.sfu = null;
    // The offers first: the browser makes them while the page shows everyone (their tiles,
    // the chat's history), which takes a while and is not on the way to the first picture.
    if (this.mode === "sfu") this.#startSfu();
    else for (const peer of this.peers.values()) if (this.calls(peer)) this.#connect(peer).offer();
    for (const change of changes) this.#emit("peer", change);
    this.#showSfuState();
    for (const gone of old.values()) {
      gone.link?.close();
      this.#emit("peer", { peer: gone, change: "leave" });
    }
    this.#emit("count", { count: frame.count });
    this.#emit("knocks", {});
    this.#emit("welcome", { me: this.me, history: frame.history ?? [], limits: frame.limits ?? null, rejoined });
    this.#sentState = null; // the server's record of me may be new: tell it again
    this.sendState();
  }

  /**
   * A change to someone's record, mine included: media state, name, hand or host role. A host
   * turning my microphone or screen share off is carried out here, as if I had pressed the
   * button: the room has already told everyone, and the others no longer play my sound.
   */
  #onRecord(frame) {
    const person = this.person(frame.id);
    if (!person) return;
    const was = { ...person };
    if (frame.type === "hand") person.hand = frame.hand;
    else for (const key of ["muted", "camera", "screen", "nick", "host"]) if (key in frame) person[key] = frame[key];
    const by = this.person(frame.by);
    const mine = person === this.me;
    if (mine) {
      this.nick = person.nick; // a new join (no resume) keeps the new name
      this.#emit("me", { me: person });
      // Only hosts hear of knocks: those I knew of will not be told to end.
      if (was.host && !person.host) {
        this.knocks.clear();
        this.#emit("knocks", {});
      }
    } else {
      this.#emit("peer", { peer: person, change: "update" });
    }
    if (person.nick !== was.nick) this.#emit("renamed", { person, was: was.nick });
    if (person.hand !== was.hand) this.#emit("hand", { person, by });
    if (person.host !== was.host) this.#emit("host", { person, by });
    if (mine && frame.type === "state" && frame.by) {
      if (frame.muted && this.media.live("audio")) {
        this.media.setEnabled("audio", false);
        this.#emit("moderated", { by, what: "mute" });
      }
      if (!frame.screen && this.media.screen) {
        this.media.stopScreen();
        this.#emit("moderated", { by, what: "screen" });
      }
    }
  }

  #setIce(ice) {
    this.#ice = ice && Array.isArray(ice.iceServers) ? { iceServers: usableIceServers(ice.iceServers), expiresAt: ice.expiresAt ?? null } : NO_ICE;
    this.#scheduleIceRefresh();
  }

  /** Asks the room for fresh ICE servers a minute before these expire (the answer is an `ice` frame). */
  #scheduleIceRefresh() {
    clearTimeout(this.#iceTimer);
    const { expiresAt } = this.#ice;
    if (expiresAt === null || this.#over) return;
    const due = Math.max(expiresAt * 1000 - ICE_REFRESH_LEAD_MS, this.#iceAskedAt + ICE_REFRESH_GAP_MS);
    this.#iceTimer = setTimeout(() => {
      // Asked even if the socket is down: a reconnect's welcome brings fresh servers anyway.
      this.socket.send({ type: "ice" });
      this.#iceAskedAt = Date.now();
      // Asks again if no answer comes; the answer reschedules this.
      this.#scheduleIceRefresh();
    }, due - Date.now());
  }

  #onSignal(from, data) {
    const peer = this.peers.get(from);
    if (!peer || !this.calls(peer) || !data || typeof data !== "object") return;
    if (data.sfu === "playing") {
      peer.playsMine = true;
      // Until the connection closes, what it sends them is shown nowhere: spare every page the
      // encoding (during the move each one encodes and decodes both copies).
      peer.link?.stopSending();
      return this.#retireLink(peer);
    }
    let link = peer.link;
    if (data.description && (!link || (link.remotePcId !== null && link.remotePcId !== data.pc))) {
      // On the SFU, no new peer-to-peer connection: this one is going, or never was.
      if (this.mode === "sfu") return;
      // Their first offer, or a new connection from their side: answer it with a fresh link.
      link?.close();
      link = this.#connect(peer);
    }
    link?.receive(data);
  }

  /**
   * The room moved to the SFU while I was in it: the SFU's copies come in beside the
   * peer-to-peer connections, which close one by one as both sides show the SFU's copy.
   */
  #moveToSfu() {
    this.mode = "sfu";
    this.#startSfu();
    this.#emit("media", { mode: this.mode });
    this.#patienceTimer = setTimeout(() => {
      this.#patienceOver = true;
      for (const peer of this.peers.values()) this.#retireLink(peer);
    }, SWITCH_PATIENCE_MS);
  }

  /** A new connection to the SFU (a new session), receiving what everyone publishes. */
  #startSfu() {
    this.sfu?.close();
    this.sfu = null;
    if (!this.webrtc || this.#over) return;
    const sfu = new SfuLink({
      config: { iceServers: this.#ice.iceServers },
      media: this.media,
      request: (fields) => this.#sfuCall(fields, sfu),
    });
    this.sfu = sfu;
    for (const peer of this.peers.values()) peer.sfuStreams = {};
    const on = (type, handler) => sfu.addEventListener(type, ({ detail }) => this.sfu === sfu && handler(detail));
    on("track", ({ id, stream, screen }) => {
      const peer = this.peers.get(id);
      if (!peer) return;
      peer.sfuStreams[screen ? "screen" : "camera"] = stream;
      // Shown at once, unless the peer-to-peer picture stays until this one plays.
      if (this.carrier(peer) !== sfu) return;
      this.#emit("track", { peer, stream, screen, ...(!screen && { shown: () => this.#sfuCopyShown(peer) }) });
      this.#showSfuState();
    });
    on("playing", ({ id, screen }) => {
      const peer = this.peers.get(id);
      if (peer && !screen && this.carrier(peer) !== sfu) this.#showSfuCopy(peer);
    });
    on("state", ({ state }) => {
      this.#showSfuState();
      // Lost for good (the network changed, say): start over with a new session.
      if (state === "failed") setTimeout(() => this.sfu === sfu && this.#startSfu(), SFU_RETRY_MS);
    });
    for (const [id, size] of this.#cameraSizes) sfu.showCamera(id, size);
    sfu.start();
    for (const peer of this.peers.values()) this.#receiveFromSfu(peer);
  }

  /** Receives from the SFU what `peer` publishes there (if we are on it and call them). */
  #receiveFromSfu(peer) {
    if (this.sfu && this.calls(peer)) this.sfu.want(peer.id, peer.tracks ?? []);
    this.#showSfuState();
  }

  /** The SFU's copy of `peer` plays here: their tile is given it from now on. */
  #showSfuCopy(peer) {
    peer.via = "sfu";
    const { camera, screen } = peer.sfuStreams;
    if (screen) this.#emit("track", { peer, stream: screen, screen: true });
    this.#showSfuState();
    if (camera) this.#emit("track", { peer, stream: camera, screen: false, shown: () => this.#sfuCopyShown(peer) });
    else this.#sfuCopyShown(peer);
  }

  /**
   * A frame of the SFU's copy of `peer` is on their tile: they are told, and the peer-to-peer
   * connection closes if they show mine.
   */
  #sfuCopyShown(peer) {
    if (peer.showsSfu || peer.via !== "sfu" || this.peers.get(peer.id) !== peer) return;
    peer.showsSfu = true;
    this.socket.send({ type: "signal", to: peer.id, data: { sfu: "playing" } });
    this.#retireLink(peer);
  }

  /**
   * Closes the peer-to-peer connection with `peer` once neither side shows what it carries (or
   * once the patience for a side that never says so is over).
   */
  #retireLink(peer) {
    const link = peer.link;
    if (!link || peer.via !== "sfu" || !((peer.showsSfu && peer.playsMine) || this.#patienceOver)) return;
    peer.link = null; // before closing: its last events are no news for the tile
    link.close();
  }

  /**
   * Tells the tiles whose media comes from the SFU the state of the connection to it: still
   * "connecting" for someone whose microphone or camera has not come yet.
   */
  #showSfuState() {
    const { sfu } = this;
    if (!sfu) return;
    for (const peer of this.peers.values()) {
      if (!this.calls(peer) || this.carrier(peer) !== sfu) continue;
      const coming = !peer.sfuStreams.camera && (peer.tracks ?? []).some((kind) => kind !== "screen");
      this.#emit("link", { peer, state: coming && sfu.state === "connected" ? "connecting" : sfu.state });
    }
  }

  /** Sends one SFU call of `sfu` to the room; resolves with its answer, or rejects with its error. */
  #sfuCall(fields, sfu) {
    return new Promise((resolve, reject) => {
      const req = this.#nextReq++;
      if (!this.socket.send({ type: "sfu", req, ...fields })) return reject(new Error(`${fields.call}: not connected to the room`));
      const timer = setTimeout(() => {
        this.#sfuCalls.delete(req);
        reject(new Error(`${fields.call}: no answer in ${SFU_ANSWER_MS} ms`));
      }, SFU_ANSWER_MS);
      this.#sfuCalls.set(req, { call: fields.call, sfu, resolve, reject, timer });
    });
  }

  #onSfuAnswer(frame) {
    const pending = this.#sfuCalls.get(frame.req);
    if (!pending) return;
    this.#sfuCalls.delete(frame.req);
    clearTimeout(pending.timer);
    if (!frame.error) return pending.resolve(frame);
    const { code, message } = frame.error;
    pending.reject(Object.assign(new Error(`${pending.call}: ${code}: ${message}`), { code }));
    // The SFU forgot my session (after its inactivity timeout): start over with a new one.
    if (code === "session_gone" && pending.sfu === this.sfu) return this.#startSfu();
    // Without a session, or with my media refused, nobody sees or hears me: say so. A refused
    // subscription (someone left meanwhile) is only for the console.
    if (pending.call === "session" || pending.call === "publish") this.#emit("error", { type: "error", code, message });
  }

  #failSfuCalls(why) {
    for (const { call, reject, timer } of this.#sfuCalls.values()) {
      clearTimeout(timer);
      reject(new Error(`${call}: ${why}`));
    }
    this.#sfuCalls.clear();
  }

  /** A new link to `peer`, wired to the socket and to the UI events. */
  #connect(peer) {
    const link = new PeerLink({
      polite: this.me.id < peer.id,
      config: { iceServers: this.#ice.iceServers, iceTransportPolicy: this.hideAddress && this.hasRelay ? "relay" : "all" },
      media: this.media,
      send: (data) => this.socket.send({ type: "signal", to: peer.id, data }),
    });
    // Once the tile shows the SFU's copy, what this connection carries is no news for it.
    const feedsTile = () => peer.link === link && peer.via !== "sfu";
    link.addEventListener("track", ({ detail }) => {
      if (feedsTile()) this.#emit("track", { peer, ...detail });
    });
    link.addEventListener("state", ({ detail }) => {
      if (feedsTile()) this.#emit("link", { peer, state: detail.state });
    });
    peer.link = link;
    this.#emit("link", { peer, state: link.state });
    return link;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** A person's record from the room, with what the call keeps beside it. */
function newPeer(info) {
  return { ...info, link: null, via: null, sfuStreams: {}, showsSfu: false, playsMine: false };
}

/**
 * What an error frame means for the person, as a message (`{ key, params }`, i18n.js): the
 * server's own `message` is English, so the page says it from the code. A nickname refused
 * for a character names its code point (the server puts it in the message: "U+200B"); a host
 * who removed me or turned me away is named.
 */
export function refusal({ code, message, hostNick }) {
  const codePoint = code === "bad_nick" ? /U\+[0-9A-F]{4,6}/.exec(message ?? "")?.[0] : null;
  if (codePoint) return { key: "error.bad_nick_char", params: { char: codePoint } };
  if (hostNick && code === "removed") return { key: "error.removed_by", params: { name: hostNick } };
  if (hostNick && code === "denied") return { key: "error.denied_by", params: { name: hostNick } };
  // A code this page does not know yet (a newer server): its English words are better than none.
  if (!hasMessage(`error.${code}`)) return { key: "error.unknown", params: { message } };
  return { key: `error.${code}` };
}

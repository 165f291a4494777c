// The video grid: one tile per camera (mine first) and one per shared screen. The layout
// picks the column count that gives the largest 16:9 tiles for 1 to 8 people; while a screen
// is shared it takes the stage and the cameras line up in a strip below it.
//
// Tiles are found by peer id: grid.camera(id) and grid.screen(id); my own are under ME.
// The size each other person's camera tile is shown at is reported as it changes (in device
// pixels), for the SFU's choice of the layer of their camera to receive.
import { el, icon } from "./dom.js";
import { idTag, isolate } from "./format.js";
import { parts, t } from "./i18n.js";

/** The id my own tiles go under (peer ids come from the server: 16 hex digits, never this). */
export const ME = "me";

const GAP = 10;
const RATIO = 16 / 9;

/** How long a reaction floats over its sender's tile. */
const REACTION_MS = 3000;
/**
 * How long a tile keeps showing the picture it has while a new stream's first frame is on its
 * way: longer, and what it keeps may be a picture that has stopped.
 */
const SWAP_WAIT_MS = 3000;

const CONNECTION_TEXT = {
  new: "common.connecting",
  connecting: "common.connecting",
  connected: "conn.connected",
  disconnected: "conn.unstable",
  failed: "conn.failed",
  closed: "conn.closed",
};

class Tile {
  /** The key of what is said of this person on the tile and in its accessible name, such as "Chat only". */
  note = "";
  /** The state of the connection to this person (CONNECTION_TEXT), if any. */
  connection = null;
  /** The stream last given to the tile (setStream), shown or about to be. */
  #stream = null;
  /** The <video> that plays that stream beneath the shown one until it has a frame on screen. */
  #incoming = null;
  /** Whether a frame of that stream is on screen: a promise of true, or of false if another came first. */
  #presented = Promise.resolve(false);
  /** Settles #presented with false when another stream comes first. */
  #superseded = () => {};
  #muted = false;
  #sinkId = null;

  /** @param {{ peer: string, nick: string, screen: boolean }} options */
  constructor({ peer, nick, screen }) {
    const local = peer === ME;
    this.local = local;
    this.screen = screen;
    this.video = this.#newVideo();
    this.initial = el("span");
    this.name = el("span", { class: "name" });
    // The tag is outside the name so that a long name's ellipsis never hides it.
    this.tag = el("span", { class: "tag" });
    this.conn = el("span", { class: "conn", role: "img" });
    this.mutedIcon = icon("mic-off", t("tile.muted"));
    this.mutedIcon.classList.add("muted-indicator");
    this.status = el("div", { class: "tile-status" });
    this.hand = el("span", { class: "hand", role: "img", "aria-label": t("tile.handRaised"), hidden: true }, "✋");
    this.el = el(
      "figure",
      { class: "tile", "data-kind": screen ? "screen" : "camera", "data-local": local },
      this.video,
      el("div", { class: "avatar", "aria-hidden": "true" }, this.initial),
      this.status,
      this.hand,
      el("figcaption", { class: "label" }, local || screen ? "" : this.conn, this.name, this.tag, screen ? "" : this.mutedIcon),
    );
    if (!local) this.el.dataset.peer = peer;
    this.setNick(nick, local ? null : peer);
    this.setMuted(false);
    if (!local && !screen) this.setConnection("new");
  }

  /**
   * Shows whose tile this is: the name (in a <bdi>, so right-to-left characters in it cannot
   * reorder the label) and the tag of the id. My own id is null until the room welcomed me.
   */
  setNick(nick, id = this.id) {
    this.nick = nick;
    this.id = id;
    this.initial.textContent = [...nick.trim()][0]?.toUpperCase() ?? "?";
    if (this.local && this.screen) {
      this.name.textContent = t("tile.yourScreen");
      this.el.setAttribute("aria-label", t("tile.yourScreen"));
      return;
    }
    const key = this.screen ? "tile.screenOf" : this.local ? "tile.you" : null;
    const tag = id ? idTag(id) : "";
    this.name.replaceChildren(...(key ? parts(key, { name: el("bdi", {}, nick) }) : [el("bdi", {}, nick)]));
    this.tag.textContent = tag;
    const note = this.note ? `, ${t(this.note)}` : "";
    const name = key ? t(key, { name: isolate(nick) }) : isolate(nick);
    this.el.setAttribute("aria-label", `${name} ${tag}`.trimEnd() + note);
  }

  /** Writes the tile's words again, in the page's language. */
  rewrite() {
    this.mutedIcon.setAttribute("aria-label", t("tile.muted"));
    this.hand.setAttribute("aria-label", t("tile.handRaised"));
    if (this.connection) this.setConnection(this.connection);
    if (this.note) this.status.textContent = t(this.note);
    this.setNick(this.nick);
  }

  /**
   * Shows `stream` on the tile. A picture already on the tile stays until the new stream has a
   * frame on screen: the new stream plays in a second <video> beneath it, which takes its place
   * once it presented a frame (or after SWAP_WAIT_MS). So a change of source, such as the move
   * to the SFU, shows no avatar and no black box in between. Without a picture to keep, the
   * avatar shows until the first frame.
   *
   * Resolves true once a frame of `stream` is on the tile (at once for a stream without
   * video), or false if another stream was given first.
   */
  setStream(stream) {
    if (stream === this.#stream) return this.#presented;
    this.#stream = stream;
    this.#superseded();
    this.#incoming?.remove();
    const video = (this.#incoming = this.#newVideo());
    video.dataset.incoming = "";
    video.srcObject = stream;
    video.onresize = video.onloadeddata = () => {
      if (video === this.video && video.videoWidth > 0) this.el.dataset.frames = "shown";
    };
    this.video.after(video);
    video.play().catch(() => {
      // Autoplay refused (no click on the page yet): the next click anywhere starts it.
      document.addEventListener("click", () => video.play().catch(() => {}), { once: true });
    });
    const hasVideo = stream.getVideoTracks().length > 0;
    const keep = hasVideo && this.video.srcObject !== null && this.el.dataset.frames === "shown";
    if (!keep) this.#takeIncoming(video);
    this.#presented = new Promise((resolve) => {
      this.#superseded = () => resolve(false);
      if (!hasVideo) return resolve(true);
      const timer = keep && setTimeout(() => this.#takeIncoming(video), SWAP_WAIT_MS);
      whenPresented(video, () => {
        clearTimeout(timer);
        if (this.#stream !== stream) return;
        this.#takeIncoming(video);
        this.el.dataset.frames = "shown";
        resolve(true);
      });
    });
    return this.#presented;
  }

  /** Stops showing any stream. */
  clear() {
    this.#superseded();
    this.#incoming?.remove();
    this.#incoming = null;
    this.#stream = null;
    this.video.srcObject = null;
  }

  /** `video`, if it still waits beneath the shown one, takes its place. */
  #takeIncoming(video) {
    if (this.#incoming !== video) return;
    this.#incoming = null;
    delete video.dataset.incoming;
    // Its sound, kept off while the other played the same person's, now plays (unless muted).
    video.muted = this.local || this.#muted;
    const old = this.video;
    this.video = video;
    old.srcObject = null;
    old.remove();
    // Until the first frame, show the avatar rather than a black box.
    if (video.videoWidth === 0) this.el.dataset.frames = "waiting";
  }

  /** A <video> for the tile, muted until it is the one shown. */
  #newVideo() {
    const { local } = this;
    // My own tiles (camera and screen) offer no picture-in-picture: Firefox would put a
    // "Pop out this video" button on my face.
    const video = el("video", { autoplay: true, playsinline: true, muted: true, disablepictureinpicture: local });
    video.muted = true; // the attribute alone does not mute a video added by script
    if (this.#sinkId && video.setSinkId) video.setSinkId(this.#sinkId).catch(() => {});
    return video;
  }

  /**
   * Shows whether the person is muted, and plays their sound only if not: so a host's mute
   * holds even against a client that goes on sending sound (the room's record says muted).
   */
  setMuted(muted) {
    this.mutedIcon.toggleAttribute("hidden", !muted); // an <svg> has no .hidden property
    this.el.toggleAttribute("data-muted", muted);
    this.#muted = muted;
    if (!this.local) this.video.muted = muted;
  }

  setHand(raised) {
    this.hand.hidden = !raised;
  }

  /** Floats a reaction over the tile for a few seconds. */
  react(emoji) {
    const float = el("span", { class: "reaction" }, emoji);
    this.el.append(float);
    setTimeout(() => float.remove(), REACTION_MS);
  }

  setCamera(on) {
    this.el.dataset.camera = on ? "on" : "off";
  }

  setSpeaking(speaking) {
    this.el.toggleAttribute("data-speaking", speaking);
  }

  setConnection(state) {
    this.connection = state;
    this.el.dataset.conn = state;
    const text = t(CONNECTION_TEXT[state]);
    this.conn.setAttribute("aria-label", text);
    this.conn.title = text;
    this.status.textContent = state === "connected" ? "" : text;
  }

  /**
   * No call is made with this person: they take part chat-only (`why`, the key of a message,
   * says so on the tile), or I do (no `why`: the call says so above the grid). Shows their
   * avatar and never "Connecting…".
   */
  setChatOnly(why = "") {
    this.connection = null;
    this.el.dataset.conn = "chat-only";
    this.conn.removeAttribute("aria-label");
    this.conn.removeAttribute("title");
    this.status.textContent = why && t(why);
    this.note = why;
    this.setNick(this.nick);
  }

  setSink(deviceId) {
    if (this.local) return;
    this.#sinkId = deviceId;
    for (const video of [this.video, this.#incoming]) video?.setSinkId?.(deviceId).catch(() => {});
  }
}

/**
 * Calls `then` once `video` has a frame on screen, or, in a browser that cannot tell
 * (no requestVideoFrameCallback), once it has loaded one.
 */
function whenPresented(video, then) {
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => then());
  else video.addEventListener("loadeddata", () => then(), { once: true });
}

export class Grid {
  /** Tiles by key: the peer id for a camera, `<id>:screen` for a screen. */
  #tiles = new Map();
  /** The animation frame that lays the tiles out, once asked for. */
  #layoutFrame = 0;
  /** Watches other people's camera tiles, each known by its peer id. */
  #cameraSizes;
  #cameraOf = new WeakMap();

  /**
   * @param {HTMLElement} container
   * @param {HTMLElement} stage
   * @param {(id: string, size: { width: number, height: number }) => void} onCameraSize called
   *   with the size (device pixels) another person's camera tile is shown at, when it changes
   */
  constructor(container, stage, onCameraSize) {
    this.container = container;
    this.stage = stage;
    new ResizeObserver(() => this.#layout()).observe(stage);
    this.#cameraSizes = new ResizeObserver((entries) => {
      for (const { target, contentRect } of entries) {
        const size = { width: Math.round(contentRect.width * devicePixelRatio), height: Math.round(contentRect.height * devicePixelRatio) };
        onCameraSize(this.#cameraOf.get(target), size);
      }
    });
  }

  /** The camera tile of a peer (ME: mine), if shown. */
  camera(id) {
    return this.#tiles.get(id);
  }

  /** The tile of a peer's shared screen (ME: mine), if shown. */
  screen(id) {
    return this.#tiles.get(screenKey(id));
  }

  /** Shows a new camera tile for a peer (ME: mine), in place of any it had. */
  addCamera(id, nick) {
    return this.#add(id, new Tile({ peer: id, nick, screen: false }));
  }

  /** Shows a new tile for a peer's shared screen (ME: mine), in place of any it had. */
  addScreen(id, nick) {
    return this.#add(screenKey(id), new Tile({ peer: id, nick, screen: true }));
  }

  removeScreen(id) {
    this.#remove(screenKey(id));
  }

  /** Removes a peer's camera and screen tiles. */
  removePeer(id) {
    this.#remove(id);
    this.#remove(screenKey(id));
  }

  clear() {
    for (const key of [...this.#tiles.keys()]) this.#remove(key);
  }

  /** Writes every tile's words again, in the page's language. */
  rewrite() {
    for (const tile of this.#tiles.values()) tile.rewrite();
  }

  /** Plays every tile's sound on this output device. */
  setSink(deviceId) {
    for (const tile of this.#tiles.values()) tile.setSink(deviceId);
  }

  #add(key, tile) {
    this.#forget(this.#tiles.get(key));
    this.#tiles.set(key, tile);
    if (!tile.local && !tile.screen) {
      this.#cameraOf.set(tile.el, tile.id);
      this.#cameraSizes.observe(tile.el);
    }
    // Screens first (they lead the spotlight), then cameras in arrival order, mine first.
    if (tile.screen) this.container.prepend(tile.el);
    else this.container.append(tile.el);
    this.#layoutSoon();
    return tile;
  }

  #remove(key) {
    const tile = this.#tiles.get(key);
    if (!tile) return;
    tile.clear();
    this.#forget(tile);
    this.#tiles.delete(key);
    this.#layoutSoon();
  }

  /** Takes a tile off the page (if any), and stops watching its size. */
  #forget(tile) {
    tile?.el.remove();
    if (tile) this.#cameraSizes.unobserve(tile.el);
  }

  /**
   * Lays the tiles out before the next paint, once however many came and went meanwhile:
   * measuring the stage right after adding a tile would make the browser lay out the whole
   * page there and then, once per tile (a welcome adds everyone's at once, on the way to the
   * first picture).
   */
  #layoutSoon() {
    this.#layoutFrame ||= requestAnimationFrame(() => {
      this.#layoutFrame = 0;
      this.#layout();
    });
  }

  #layout() {
    const tiles = [...this.#tiles.values()];
    if (!tiles.length) return;
    const width = this.stage.clientWidth;
    const height = this.stage.clientHeight;
    if (!width || !height) return;
    const featured = tiles.find((t) => t.screen);
    this.container.classList.toggle("spotlight", Boolean(featured) && tiles.length > 1);
    if (featured && tiles.length > 1) {
      const others = tiles.filter((t) => t !== featured);
      const stripHeight = Math.max(72, Math.min(150, height * 0.22));
      const w = Math.min(stripHeight * RATIO, (width - GAP * (others.length - 1)) / others.length);
      size(featured, width, height - w / RATIO - GAP);
      for (const tile of others) size(tile, w, w / RATIO);
      return;
    }
    const { w, h } = bestFit(tiles.length, width, height);
    for (const tile of tiles) size(tile, w, h);
  }
}

function screenKey(id) {
  return `${id}:screen`;
}

/**
 * The tile size that fills the stage best with n tiles: 16:9 on a landscape stage; on a
 * portrait one (a phone) squarer tiles may use the height better (videos are cropped to fit).
 */
function bestFit(n, width, height) {
  const ratios = height > width ? [RATIO, 4 / 3, 1, 3 / 4] : [RATIO];
  let best = { w: 0, h: 0 };
  for (const ratio of ratios) {
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = Math.min((width - GAP * (cols - 1)) / cols, ((height - GAP * (rows - 1)) / rows) * ratio);
      if (w * (w / ratio) > best.w * best.h) best = { w, h: w / ratio };
    }
  }
  return best;
}

function size(tile, w, h) {
  tile.el.style.setProperty("--w", `${Math.floor(w)}px`);
  tile.el.style.setProperty("--h", `${Math.floor(h)}px`);
}

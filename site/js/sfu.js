// The call's connection to the SFU (Cloudflare Realtime, or the tests' stand-in), used once the
// room has moved to it (docs/protocol.md, "Rooms that grow: mesh and SFU"): one
// RTCPeerConnection that publishes my microphone, camera and screen and receives everyone
// else's.
//
// The page never talks to the SFU's API itself: each call goes to the room as an `sfu` frame
// (`request`), and the room, which holds the secret and knows who is who, makes it. Calls of one
// session are made one at a time, in order (a queue): the SFU's offer/answer state machine allows
// one change at a time, and an answer the SFU asks for (`renegotiate: true`) is given before the
// next call. Each track's own result in an answer is checked; a track the SFU refused is left
// out and said in the console.
//
// What is published and what is received are kept in step with what is wanted: publishing
// follows the local media (a track that appears is published, the screen is published and
// closed as sharing starts and stops, a new device goes onto the sender with replaceTrack);
// receiving follows each other member's published kinds (`want`), as the room tells them.
//
// The SFU's offers may carry no msid, so the tracks are not grouped into streams by the browser:
// the answers say which mid carries which member's kind, and the link builds one MediaStream per
// member (microphone and camera) and one per shared screen.
//
// Cameras are published with simulcast, in two layers (CAMERA_LAYERS), and each camera received
// comes in the layer its tile's size calls for (`showCamera`, `cameraLayer`): a small tile gets
// the low layer, a large one the high layer. A screen is published as one picture: it is shown
// large, and its text must stay readable. A change of tile size is acted on once sizes have
// settled (LAYER_SETTLE_MS), and only where the layer changes, so a window being resized makes
// one `layer` call, not one per frame.
//
// Events (CustomEvent detail in parentheses):
//   "track" ({ id, stream, screen }: a member's stream, new or with other tracks than before)
//   "playing" ({ id, screen }: that stream's video decoded its first frame; at once for a
//     stream without video)
//   "state" ({ state }: the connection's state)
import { AudioMeter } from "./peer.js";

/** The kinds a member may publish, and what each is as media. */
const MEDIA_KIND = { mic: "audio", camera: "video", screen: "video" };
/** The SFU takes at most this many tracks in one call. */
export const TRACKS_PER_CALL = 64;
/**
 * The layers a camera is published in (docs/protocol.md, "Simulcast"): as captured ("h"), and
 * at half its width and height ("l"). Highest first: Chromium sends only the first layer of a
 * small camera (320×180), which then goes out at its own size rather than at half of it; the
 * SFU gives that one to whoever asked for the other. Firefox sends both in either order.
 */
const CAMERA_LAYERS = [
  { rid: "h", scaleResolutionDownBy: 1 },
  { rid: "l", scaleResolutionDownBy: 2 },
];
/**
 * A camera tile that needs a picture this wide or wider (device pixels) gets the high layer; one
 * that needs one this narrow or narrower (the low layer of a 640-pixel camera) the low one. In
 * between, it keeps the layer it has, so a size near either bound does not flip between them.
 */
const HIGH_FROM_PX = 400;
const LOW_UP_TO_PX = 320;
/** A tile's size must hold this long before its camera is asked for in another layer. */
const LAYER_SETTLE_MS = 500;
/** How often a new stream's receiver is asked whether it decoded a frame yet. */
const FRAME_POLL_MS = 100;
/**
 * Readers of the connection's stats within this long share one getStats(): Chromium builds the
 * whole connection's report even for one receiver, and on the SFU one connection carries
 * everyone (who is talking asks for each person every 300 ms).
 */
const STATS_SHARED_MS = 100;

/**
 * What to change so that what is received matches what is wanted: the {id, kind} to subscribe
 * to, and the held entries ({ id, kind, mid }) to close.
 *
 * @param {Map<string, Set<string>>} wanted member id → kinds wanted
 * @param {Map<string, Map<string, string>>} held member id → kind → mid received
 */
export function subscriptionChanges(wanted, held) {
  const subscribe = [];
  const close = [];
  for (const [id, kinds] of wanted) {
    for (const kind of kinds) if (!held.get(id)?.has(kind)) subscribe.push({ id, kind });
  }
  for (const [id, kinds] of held) {
    for (const [kind, mid] of kinds) if (!wanted.get(id)?.has(kind)) close.push({ id, kind, mid });
  }
  return { subscribe, close };
}

/**
 * The layer ("high" or "low") a camera tile shown at `size` ({ width, height } in device pixels,
 * null when not shown) calls for, given the layer it gets now (`current`, if any). A camera's
 * picture covers its tile (cropped to fill it), so a tile taller than 16:9 needs a picture wider
 * than itself.
 */
export function cameraLayer(size, current) {
  const needed = size ? Math.max(size.width, (size.height * 16) / 9) : 0;
  if (needed >= HIGH_FROM_PX) return "high";
  if (needed <= LOW_UP_TO_PX) return "low";
  return current ?? "high";
}

/**
 * The `layer` call's tracks that bring each camera received (the ids in `received`) to the
 * layer its tile's size calls for: [{ id, kind: "camera", layer }], for those whose layer
 * (`layers`: id → the layer it comes in) is not that one.
 *
 * @param {Iterable<string>} received the members whose camera is received
 * @param {Map<string, {width: number, height: number} | null>} sizes id → tile size
 * @param {Map<string, string>} layers id → "high" | "low"
 */
export function layerChanges(received, sizes, layers) {
  const changes = [];
  for (const id of received) {
    const layer = cameraLayer(sizes.get(id), layers.get(id));
    if (layer !== layers.get(id)) changes.push({ id, kind: "camera", layer });
  }
  return changes;
}

/** `items` in runs of at most `size`. */
export function batches(items, size) {
  const runs = [];
  for (let i = 0; i < items.length; i += size) runs.push(items.slice(i, i + size));
  return runs;
}

/** The key of a member's stream: its id, or `<id>:screen` for its screen. */
function streamKey(id, screen) {
  return screen ? `${id}:screen` : id;
}

export class SfuLink extends EventTarget {
  /** Published transceivers by kind (mic, camera, screen). */
  #published = new Map();
  /** What to receive: member id → kinds. */
  #wanted = new Map();
  /** What is received: member id → kind → transceiver. */
  #held = new Map();
  /** How large each member's camera is shown: member id → { width, height } (see showCamera). */
  #cameraSizes = new Map();
  /** The layer each camera received comes in (as last asked): member id → "high" | "low". */
  #layers = new Map();
  /** The timer that waits for tile sizes to settle (LAYER_SETTLE_MS). */
  #layerTimer = 0;
  /** The streams built for the page, by streamKey. */
  #streams = new Map();
  /** Audio meters by receiver, for who is talking. */
  #meters = new WeakMap();
  /** The last getStats() of the connection: { at, inbound } (a promise of its inbound-rtp entries). */
  #stats = null;
  #queue = Promise.resolve();
  /** Steps queued and not yet started, by name: a second request for one is the same step. */
  #pending = new Set();
  #closed = false;

  /**
   * @param {object} options
   * @param {RTCConfiguration} options.config
   * @param {import("./media.js").LocalMedia} options.media
   * @param {(frame: object) => Promise<object>} options.request makes one `sfu` call through the
   *   room (the frame without `type` and `req`) and resolves with the room's answer, or rejects
   *   with its error
   */
  constructor({ config, media, request }) {
    super();
    this.media = media;
    this.request = request;
    // One transport for everything, as the SFU expects.
    const pc = (this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", ...config }));
    pc.onconnectionstatechange = () => this.#emit("state", { state: pc.connectionState });
  }

  get state() {
    return this.pc.connectionState;
  }

  /** Makes my session (replacing any I had), publishes what I have and receives what is wanted. */
  start() {
    this.#enqueue("session", async () => {
      // The offer needs no session: the browser makes it while the room makes the session.
      const [, added] = await Promise.all([this.request({ call: "session" }), this.#offerNewTracks()]);
      // The subscribe goes right behind the publish, without waiting for its answer: the room
      // makes a member's calls in order, and a joiner sees the others one round trip sooner.
      // Its answer (the SFU's offer) is applied after the publish's answer, as the SFU made it.
      const published = this.#publish(added);
      await Promise.all([published, this.#syncSubscriptions(published.catch(() => {}))]);
    });
  }

  /** Receive these kinds of member `id` from now on (none: stop receiving that member). */
  want(id, kinds) {
    if (kinds.length) this.#wanted.set(id, new Set(kinds));
    else this.#wanted.delete(id);
    this.#enqueue("subscriptions", () => this.#syncSubscriptions());
  }

  /**
   * Member `id`'s camera is shown at `size` ({ width, height } in device pixels; null: not
   * shown). Once sizes have settled, each camera received is asked for in the layer its size
   * calls for.
   */
  showCamera(id, size) {
    this.#cameraSizes.set(id, size);
    clearTimeout(this.#layerTimer);
    this.#layerTimer = setTimeout(() => this.#enqueue("layers", () => this.#syncLayers()), LAYER_SETTLE_MS);
  }

  /** A new microphone or camera track (or none): onto the sender at once, or published. */
  setTrack(kind, track) {
    const transceiver = this.#published.get(kind === "audio" ? "mic" : "camera");
    if (transceiver) transceiver.sender.replaceTrack(track).catch((error) => console.warn(error));
    else if (track) this.#enqueue("publish", () => this.#publishChanges());
  }

  /** Sharing a screen started or stopped: publishes or closes the screen. */
  screenChanged() {
    this.#enqueue("publish", () => this.#publishChanges());
  }

  /** How loud member `id`'s microphone was since the last call of this (see AudioMeter). */
  async audioLevel(id) {
    const transceiver = this.#held.get(id)?.get("mic");
    if (!transceiver || this.#closed) return 0;
    const { receiver } = transceiver;
    if (!this.#meters.has(receiver)) this.#meters.set(receiver, new AudioMeter());
    return this.#meters.get(receiver).measure(await this.#inbound(transceiver));
  }

  /** New ICE servers, for an ICE restart. */
  setIceServers(iceServers) {
    if (!this.#closed) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
  }

  /** For the test hook: what is being sent, by kind (the track's label). */
  sending() {
    const label = (kind) => this.#published.get(kind)?.sender.track?.label ?? null;
    return { audio: label("mic"), video: label("camera"), screen: label("screen") };
  }

  /** For the test hook: the kinds received of each member. */
  receiving() {
    return Object.fromEntries([...this.#held].map(([id, kinds]) => [id, [...kinds.keys()].sort()]));
  }

  /** For the test hook: the layer each camera received comes in, by member id. */
  layers() {
    return Object.fromEntries(this.#layers);
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#layerTimer);
    this.pc.close();
    this.#emit("state", { state: "closed" });
  }

  /**
   * Queues `step` (named: a step already waiting under that name is not queued twice, as it
   * will see everything that changed meanwhile when it runs). A step that fails is said in the
   * console, an offer of mine left unanswered is taken back, and the queue goes on: the next
   * change (a member's tracks, a device) makes the next attempt.
   */
  #enqueue(name, step) {
    if (this.#pending.has(name)) return;
    this.#pending.add(name);
    this.#queue = this.#queue
      .then(() => {
        this.#pending.delete(name);
        return this.#closed ? undefined : step();
      })
      .catch(async (error) => {
        if (this.#closed) return;
        console.warn(`SFU ${name} failed: ${error.message ?? error}`);
        if (this.pc.signalingState === "have-local-offer") await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      });
  }

  /** What the local media has and the SFU does not, published; what it no longer has, closed. */
  async #publishChanges() {
    const screenTx = this.#published.get("screen");
    if (screenTx && screenTx.sender.track !== this.#present().screen) {
      // Sharing stopped (or a new share replaced it): close the old one.
      await this.#close([screenTx.mid], [screenTx]);
      this.#published.delete("screen");
    }
    await this.#publish(await this.#offerNewTracks());
  }

  /** The local media's tracks by published kind (null for none). */
  #present() {
    const { media } = this;
    return { mic: media.track("audio"), camera: media.track("video"), screen: media.screen?.getVideoTracks()[0] ?? null };
  }

  /**
   * Adds a `sendonly` transceiver for each track the local media has and the SFU does not, and
   * makes the offer (the local description) with them: [{ kind, transceiver }], empty (and no
   * offer) when there is nothing new.
   */
  async #offerNewTracks() {
    const added = [];
    for (const [kind, track] of Object.entries(this.#present())) {
      if (!track || this.#published.has(kind)) continue;
      const init = { direction: "sendonly", ...(kind === "camera" && { sendEncodings: CAMERA_LAYERS }) };
      added.push({ kind, transceiver: this.pc.addTransceiver(track, init) });
    }
    if (added.length) await this.pc.setLocalDescription();
    return added;
  }

  /** Publishes the tracks just offered (#offerNewTracks) and applies the SFU's answer. */
  async #publish(added) {
    if (!added.length) return;
    const tracks = added.map(({ kind, transceiver }) => ({ mid: transceiver.mid, kind }));
    let answer;
    try {
      answer = await this.request({ call: "publish", offer: this.pc.localDescription.sdp, tracks });
    } catch (error) {
      // Not published: the next attempt adds its own transceivers.
      for (const { transceiver } of added) transceiver.stop();
      throw error;
    }
    await this.#apply(answer);
    for (const { kind, transceiver } of added) {
      // Kept even if refused: the next device goes onto this sender rather than a new one.
      this.#published.set(kind, transceiver);
      const result = answer.tracks?.find((t) => t.mid === transceiver.mid);
      if (!result || result.error) console.warn(`the SFU refused to publish my ${kind}: ${result?.error ?? "no answer for it"}`);
    }
  }

  /**
   * Subscribes to what is wanted and not received, and closes what is received and not wanted.
   * The first subscribe's answer is applied once `before` (a call sent ahead of it) settled.
   */
  async #syncSubscriptions(before = undefined) {
    const held = new Map([...this.#held].map(([id, kinds]) => [id, new Map([...kinds].map(([kind, t]) => [kind, t.mid]))]));
    const { subscribe, close } = subscriptionChanges(this.#wanted, held);
    if (close.length) {
      const transceivers = close.map(({ id, kind }) => this.#held.get(id).get(kind));
      for (const { id, kind } of close) this.#forget(id, kind);
      await this.#close(
        close.map(({ mid }) => mid),
        transceivers,
      );
    }
    for (const batch of batches(subscribe, TRACKS_PER_CALL)) {
      await this.#subscribe(batch, before);
      before = undefined;
    }
  }

  async #subscribe(tracks, before) {
    const layer = (id) => cameraLayer(this.#cameraSizes.get(id));
    const asked = tracks.map((t) => (t.kind === "camera" ? { ...t, layer: layer(t.id) } : t));
    const answering = this.request({ call: "subscribe", tracks: asked });
    answering.catch(() => {}); // its failure is thrown below, once awaited
    await before;
    const answer = await answering;
    await this.#apply(answer);
    const changed = new Set();
    for (const result of answer.tracks ?? []) {
      if (result.error) {
        console.warn(`the SFU cannot send ${result.kind} of ${result.id}: ${result.error}`);
        continue;
      }
      const transceiver = this.pc.getTransceivers().find((t) => t.mid === result.mid);
      if (!transceiver) {
        console.warn(`the SFU's offer has no mid ${result.mid} for ${result.kind} of ${result.id}`);
        continue;
      }
      if (!this.#held.has(result.id)) this.#held.set(result.id, new Map());
      this.#held.get(result.id).set(result.kind, transceiver);
      if (result.kind === "camera") this.#layers.set(result.id, asked.find((t) => t.id === result.id && t.kind === "camera").layer);
      changed.add(streamKey(result.id, result.kind === "screen"));
    }
    for (const key of changed) this.#showStream(key);
  }

  /**
   * Asks for each camera received in the layer its tile's size calls for, where that is not
   * the layer it comes in.
   */
  async #syncLayers() {
    const cameras = [...this.#held].filter(([, kinds]) => kinds.has("camera")).map(([id]) => id);
    const changes = layerChanges(cameras, this.#cameraSizes, this.#layers);
    for (const batch of batches(changes, TRACKS_PER_CALL)) {
      const answer = await this.request({ call: "layer", tracks: batch });
      for (const result of answer.tracks ?? []) {
        const { layer } = batch.find((t) => t.id === result.id);
        if (result.error) console.warn(`the SFU cannot send the ${layer} layer of ${result.id}'s camera: ${result.error}`);
        else this.#layers.set(result.id, layer);
      }
    }
  }

  /** Stops receiving a member's kind: its track ends, and its stream is built again without it. */
  #forget(id, kind) {
    const kinds = this.#held.get(id);
    kinds.delete(kind);
    if (kind === "camera") this.#layers.delete(id);
    if (!kinds.size) this.#held.delete(id);
    this.#showStream(streamKey(id, kind === "screen"));
  }

  /**
   * Builds the stream of `key` again from the tracks received for it, if they changed, and
   * tells the page; then waits for its first decoded video frame.
   */
  #showStream(key) {
    const [id, screen] = key.endsWith(":screen") ? [key.slice(0, -7), true] : [key, false];
    const received = (screen ? ["screen"] : ["mic", "camera"])
      .map((kind) => ({ kind, transceiver: this.#held.get(id)?.get(kind) }))
      .filter(({ transceiver }) => transceiver);
    const tracks = received.map(({ transceiver }) => transceiver.receiver.track);
    const old = this.#streams.get(key);
    if (old && sameTracks(old.getTracks(), tracks)) return;
    if (!tracks.length) {
      this.#streams.delete(key);
      return;
    }
    const stream = new MediaStream(tracks);
    this.#streams.set(key, stream);
    this.#emit("track", { id, stream, screen });
    const video = received.find(({ kind }) => MEDIA_KIND[kind] === "video");
    this.#whenDecoding(video?.transceiver, () => {
      if (this.#streams.get(key) === stream) this.#emit("playing", { id, screen });
    });
  }

  /** Calls `then` once `transceiver` has decoded a video frame (at once without one). */
  #whenDecoding(transceiver, then) {
    if (!transceiver) return then();
    const poll = async () => {
      if (this.#closed || transceiver.receiver.track.readyState === "ended") return;
      if ((await this.#inbound(transceiver))?.framesDecoded > 0) then();
      else setTimeout(poll, FRAME_POLL_MS);
    };
    poll();
  }

  /** The `inbound-rtp` stats of what `transceiver` receives, from a getStats() shared (STATS_SHARED_MS). */
  async #inbound(transceiver) {
    const now = performance.now();
    if (!this.#stats || now - this.#stats.at > STATS_SHARED_MS) {
      const inbound = this.pc.getStats().then(
        (stats) => [...stats.values()].filter((s) => s.type === "inbound-rtp"),
        () => [],
      );
      this.#stats = { at: now, inbound };
    }
    const entries = await this.#stats.inbound;
    return entries.find((s) => s.mid === transceiver.mid);
  }

  /**
   * Closes these mids on the SFU with a new offer, where each one's transceiver is stopped, and
   * applies the answer.
   */
  async #close(mids, transceivers) {
    for (const transceiver of transceivers) transceiver.stop();
    await this.pc.setLocalDescription();
    await this.#apply(await this.request({ call: "close", mids, offer: this.pc.localDescription.sdp }));
  }

  /** Applies the SFU's answer to my offer, or answers its offer (`renegotiate`). */
  async #apply({ answer, offer, renegotiate }) {
    if (answer) await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
    if (renegotiate && !offer) throw new Error("the SFU asked to renegotiate without an offer");
    if (!offer) return;
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
    await this.pc.setLocalDescription();
    await this.request({ call: "renegotiate", answer: this.pc.localDescription.sdp });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function sameTracks(a, b) {
  return a.length === b.length && a.every((track) => b.includes(track));
}

// The local camera, microphone, speaker and screen. One MediaStream (`stream`) holds at most
// one audio and one video track for the whole visit: the preview shows it, every peer
// connection sends it, and switching a device swaps the track inside it (the call then moves
// it onto each RTCRtpSender with replaceTrack).
//
// Events: "change" (tracks, on/off or errors changed), "track" ({kind, track}: a new track
// replaced the old one), "devices" (the device lists changed), "screen" (sharing started or
// stopped), "speaker" (the output device changed).
import { store } from "./storage.js";

// A mesh sends one copy per peer: 360p keeps eight people within a home uplink.
const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

const KINDS = ["video", "audio"];
const NOUN = { audio: { key: "media.microphone" }, video: { key: "media.camera" } };

export class LocalMedia extends EventTarget {
  stream = new MediaStream();
  /** The screen being shared (a MediaStream), or null. */
  screen = null;
  /** Why a kind has no track: a message for the user (`{ key, params }`, i18n.js), or null. */
  errors = { audio: null, video: null };
  /** What the user wants: mic and camera on or off (remembered across visits). */
  enabled = { audio: store.get("micOn", true), video: store.get("cameraOn", true) };
  devices = { audioinput: [], videoinput: [], audiooutput: [] };
  speakerId = store.get("speaker", "");
  canPickSpeaker = "setSinkId" in HTMLMediaElement.prototype;
  /**
   * Whether the page may ask for a camera and microphone (not on a page without https, nor in
   * every browser), and for the screen.
   */
  canCapture = Boolean(navigator.mediaDevices?.getUserMedia);
  canShareScreen = Boolean(navigator.mediaDevices?.getDisplayMedia);

  constructor() {
    super();
    navigator.mediaDevices?.addEventListener("devicechange", () => this.refreshDevices());
  }

  track(kind) {
    return this.stream.getTracks().find((t) => t.kind === kind) ?? null;
  }

  /** The device id of the track in use, or "". */
  deviceId(kind) {
    return this.track(kind)?.getSettings().deviceId ?? "";
  }

  /** Is this kind actually being sent (a live track that is enabled)? */
  live(kind) {
    const track = this.track(kind);
    return Boolean(track && track.enabled && track.readyState === "live");
  }

  /** Asks for camera and microphone (one prompt), falling back to whichever is allowed. */
  async start() {
    if (!this.canCapture) {
      const why = { key: isSecureContext ? "media.unsupported" : "media.insecure" };
      this.errors = { audio: why, video: why };
      this.#emit("change");
      return;
    }
    const wanted = KINDS.filter((kind) => !this.track(kind));
    try {
      const stream = await navigator.mediaDevices.getUserMedia(this.#constraints(wanted));
      for (const track of stream.getTracks()) this.#adopt(track);
    } catch (error) {
      if (error.name === "NotAllowedError" || wanted.length === 1) {
        const why = explain(error, wanted);
        for (const kind of wanted) this.errors[kind] = why;
      } else {
        // One of the two may be missing or busy: ask for each alone to learn which.
        await Promise.all(wanted.map((kind) => this.#acquire(kind)));
      }
    }
    await this.refreshDevices();
    this.#emit("change");
  }

  /** Switches to another camera or microphone; the old track stops once the new one runs. */
  async use(kind, deviceId) {
    const stream = await navigator.mediaDevices.getUserMedia(this.#constraints([kind], deviceId));
    this.#adopt(stream.getTracks()[0]);
    store.set(`${kind}Device`, deviceId);
    await this.refreshDevices();
    this.#emit("change");
  }

  /** Turns the mic or camera on or off (track.enabled); asks for it again if it had failed. */
  async setEnabled(kind, on) {
    this.enabled[kind] = on;
    store.set(kind === "audio" ? "micOn" : "cameraOn", on);
    const track = this.track(kind);
    if (track) track.enabled = on;
    else if (on) await this.#acquire(kind);
    this.#emit("change");
  }

  setSpeaker(deviceId) {
    this.speakerId = deviceId;
    store.set("speaker", deviceId);
    this.#emit("speaker");
  }

  async startScreen() {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15, max: 30 } },
      audio: false,
    });
    const [track] = stream.getVideoTracks();
    track.contentHint = "detail";
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener("ended", () => this.stopScreen());
    this.screen = stream;
    this.#emit("screen");
  }

  stopScreen() {
    if (!this.screen) return;
    for (const track of this.screen.getTracks()) track.stop();
    this.screen = null;
    this.#emit("screen");
  }

  async refreshDevices() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const all = await navigator.mediaDevices.enumerateDevices();
    const devices = { audioinput: [], videoinput: [], audiooutput: [] };
    // Before permission, ids and labels are blank: such entries cannot be chosen.
    for (const device of all) if (device.deviceId && devices[device.kind]) devices[device.kind].push(device);
    this.devices = devices;
    this.#emit("devices");
  }

  #constraints(kinds, deviceId) {
    const constraints = {};
    for (const kind of kinds) {
      const id = deviceId ?? store.get(`${kind}Device`, "");
      const base = kind === "audio" ? AUDIO : VIDEO;
      constraints[kind] = id ? { ...base, deviceId: deviceId ? { exact: id } : { ideal: id } } : base;
    }
    return constraints;
  }

  async #acquire(kind) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(this.#constraints([kind]));
      this.#adopt(stream.getTracks()[0]);
    } catch (error) {
      this.errors[kind] = explain(error, [kind]);
    }
  }

  /** Puts a new track in the stream in place of the old one of its kind. */
  #adopt(track) {
    const { kind } = track;
    const old = this.track(kind);
    track.enabled = this.enabled[kind];
    this.errors[kind] = null;
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    // Unplugged or taken away by the system: fall back to whatever device is left.
    track.addEventListener("ended", () => {
      if (this.track(kind) !== track) return;
      this.stream.removeTrack(track);
      this.errors[kind] = { key: "media.stopped", params: { device: NOUN[kind] } };
      this.#emit("track", { kind, track: null });
      this.#emit("change");
      store.set(`${kind}Device`, "");
      this.#acquire(kind).then(() => this.refreshDevices()).then(() => this.#emit("change"));
    });
    this.#emit("track", { kind, track });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** A message a person can act on, for a getUserMedia failure of these kinds. */
function explain(error, kinds) {
  const devices = kinds.map((kind) => NOUN[kind]);
  switch (error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return { key: "media.blocked", params: { devices } };
    case "NotFoundError":
    case "OverconstrainedError":
      return { key: "media.notFound", params: { devices } };
    case "NotReadableError":
    case "AbortError":
      return { key: "media.busy", params: { devices } };
    default:
      return { key: "media.failed", params: { devices, reason: error.name } };
  }
}

// One RTCPeerConnection to one other person, negotiated with the "perfect negotiation"
// pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example): either side may
// offer at any time (joining, screen share, ICE restart); on a collision the polite side
// rolls back and the impolite side ignores the other's offer. Politeness is decided by
// comparing the two peer ids, so both sides always agree.
//
// Every signal carries `pc`, a random id of the RTCPeerConnection that sent it. A description
// from an id the link has not seen before means the other side started over with a new
// connection (after a reconnect, say): the call then replaces this link by a fresh one.
//
// The first audio and the first video transceiver carry the microphone and camera ("main");
// their tracks change with replaceTrack, never with renegotiation. A screen share is one more
// video transceiver, added and removed by renegotiation; the description says which stream
// is the screen (`screen`: its id) so the other side can tell it from the camera.

const KINDS = ["audio", "video"];

/**
 * Whether this browser can make calls at all. Some have no WebRTC (WebKitGTK on Linux, or a
 * browser where a policy turned it off): there, a person takes part chat-only.
 */
export const canCall = typeof globalThis.RTCPeerConnection === "function";

/**
 * The ICE servers, less the URLs this browser refuses. A browser may refuse a whole
 * configuration for one URL (Firefox refuses a STUN or TURN URL on a port it blocks, such as
 * 9), and `new RTCPeerConnection` would then throw for every person in the call: one bad entry
 * in the server's settings must cost that entry, not the call.
 */
export function usableIceServers(iceServers) {
  // One connection tries them all; only when the browser refuses that is each URL tried alone
  // (every try makes an RTCPeerConnection, which costs the page a few milliseconds).
  if (!canCall || !refusal(iceServers)) return iceServers;
  const accepted = (server, url) => {
    const error = refusal([{ ...server, urls: url }]);
    if (error) console.warn(`this browser refuses the ICE server ${url}:`, error.message);
    return !error;
  };
  return iceServers
    .map((server) => ({ ...server, urls: [server.urls].flat().filter((url) => accepted(server, url)) }))
    .filter((server) => server.urls.length > 0);
}

/** Why this browser refuses these ICE servers (the error it throws), or null if it takes them. */
function refusal(iceServers) {
  try {
    new RTCPeerConnection({ iceServers }).close();
    return null;
  } catch (error) {
    return error;
  }
}

/**
 * How loud (0 to 1, RMS) the sound an RTCRtpReceiver received was since the last reading: from
 * the receiver's total audio energy, so a short sound between two readings still counts. One
 * meter per receiver (a new receiver, a new meter).
 */
export class AudioMeter {
  #last = null;

  /** @param {RTCRtpReceiver} receiver */
  async read(receiver) {
    return this.measure([...(await receiver.getStats()).values()].find((s) => s.type === "inbound-rtp"));
  }

  /** The same from the receiver's `inbound-rtp` stats, read by the caller. */
  measure(stats) {
    if (!stats?.totalSamplesDuration) return 0;
    const last = this.#last;
    this.#last = { energy: stats.totalAudioEnergy, duration: stats.totalSamplesDuration };
    const duration = stats.totalSamplesDuration - (last?.duration ?? 0);
    return last && duration > 0 ? Math.sqrt(Math.max(0, stats.totalAudioEnergy - last.energy) / duration) : 0;
  }
}

export class PeerLink extends EventTarget {
  /** This connection's id, sent with every signal. */
  pcId = crypto.randomUUID();
  /** The other side's connection id, learnt from its first description. */
  remotePcId = null;
  main = { audio: null, video: null };
  screenTx = null;
  remoteScreenId = null;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingAnswer = false;
  #queue = Promise.resolve();
  #closed = false;
  /** Whether sending stopped for good (stopSending). */
  #silent = false;
  #meter = new AudioMeter();

  /**
   * @param {object} options
   * @param {boolean} options.polite
   * @param {RTCConfiguration} options.config
   * @param {import("./media.js").LocalMedia} options.media
   * @param {(data: object) => void} options.send sends signal data to the other side
   */
  constructor({ polite, config, media, send }) {
    super();
    this.polite = polite;
    this.media = media;
    this.sendSignal = send;
    // One transport for everything from the start ("max-bundle"): the default gathers one per
    // kind until the answer says bundle, which doubles the candidates to gather, signal through
    // the room and check before the first picture. Every browser that can call bundles.
    const pc = (this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", ...config }));

    pc.onnegotiationneeded = () => this.#makeOffer();
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.#send({ candidate: candidate.toJSON() });
    };
    pc.oniceconnectionstatechange = () => this.#restartIfFailed();
    pc.onconnectionstatechange = () => {
      this.#restartIfFailed();
      this.#emit("state", { state: pc.connectionState });
    };
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? new MediaStream([track]);
      this.#emit("track", { track, stream, screen: stream.id === this.remoteScreenId });
    };
  }

  /**
   * A failed connection (the network was down too long, or changed, for ICE to find its way
   * back by itself) gets fresh candidates through an ICE restart, which renegotiates like any
   * other offer, each time it fails. Only the impolite side restarts: both sides see the
   * failure within seconds of each other, and two restarts at once collide, which perfect
   * negotiation settles by a rollback on the polite side, after which Chromium went on
   * decoding the other side's video but never showed it again (measured with a 20 s cut,
   * tests/browser/networks.test.mjs). Chromium reports the failure in connectionState while
   * iceConnectionState stays "disconnected", so both are watched. A "disconnected"
   * connection is left alone: after a short outage ICE finds the same path again by itself.
   */
  #restartIfFailed() {
    const { connectionState, iceConnectionState } = this.pc;
    const failed = connectionState === "failed" || iceConnectionState === "failed";
    if (failed && !this.polite && !this.#closed) this.pc.restartIce();
  }

  get state() {
    return this.pc.connectionState;
  }

  /**
   * Starts the call from this side: adds the mic and camera and makes the offer at once, rather
   * than in the negotiationneeded event, which waits for whatever else the page does in this
   * task (a welcome also builds everyone's tiles): the browser makes the offer meanwhile. It
   * fires no negotiationneeded for what this offer covers (the event waits for a stable
   * signaling state, and checks again then).
   */
  offer() {
    for (const kind of KINDS) {
      this.main[kind] = this.pc.addTransceiver(this.media.track(kind) ?? kind, {
        direction: "sendrecv",
        streams: [this.media.stream],
      });
    }
    this.setScreen(this.media.screen);
    this.#makeOffer();
  }

  async #makeOffer() {
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      this.#sendDescription();
    } catch (error) {
      console.warn("offer failed", error);
    } finally {
      this.#makingOffer = false;
    }
  }

  /** Handles signal data from the other side, one message at a time, in order. */
  receive(data) {
    this.#queue = this.#queue.then(() => this.#receive(data)).catch((error) => console.warn("signal failed", error));
    return this.#queue;
  }

  async #receive({ description, candidate, pc: remotePcId, screen }) {
    if (this.#closed) return;
    const pc = this.pc;
    if (description) {
      this.remotePcId = remotePcId;
      const readyForOffer = !this.#makingOffer && (pc.signalingState === "stable" || this.#settingAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      this.#ignoreOffer = !this.polite && collision;
      if (this.#ignoreOffer) return;
      this.remoteScreenId = screen ?? null;
      this.#settingAnswer = description.type === "answer";
      await pc.setRemoteDescription(description);
      this.#settingAnswer = false;
      if (description.type === "offer") {
        this.#adoptOffered();
        await pc.setLocalDescription();
        this.#sendDescription();
      }
    } else if (candidate) {
      if (remotePcId !== this.remotePcId) return; // from a connection we no longer talk to
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.#ignoreOffer) throw error;
      }
    }
  }

  /**
   * After the other side's offer: sends the mic and camera on the first audio and video
   * transceivers it offered, if this side has none negotiated yet (it is answering the first
   * offer, or its own first offer lost a collision and was rolled back).
   */
  #adoptOffered() {
    for (const kind of KINDS) {
      const current = this.main[kind];
      if (current && current.mid !== null && !current.stopped) continue;
      const offered = this.pc
        .getTransceivers()
        .find((t) => t.mid !== null && !t.stopped && t.receiver.track.kind === kind && t !== this.screenTx);
      if (!offered) continue;
      current?.stop();
      offered.direction = "sendrecv";
      offered.sender.setStreams(this.media.stream);
      offered.sender.replaceTrack(this.media.track(kind));
      this.main[kind] = offered;
    }
    if (this.media.screen && !this.screenTx) this.setScreen(this.media.screen);
  }

  /** A new microphone or camera track (or none): no renegotiation. */
  setTrack(kind, track) {
    if (this.#silent) return;
    const transceiver = this.main[kind];
    if (transceiver && !transceiver.stopped) transceiver.sender.replaceTrack(track).catch((e) => console.warn(e));
  }

  /**
   * Sends nothing more, for good, without renegotiating: the other side no longer shows what
   * this connection carries (it shows the SFU's copy), and encoding it would cost for nothing.
   */
  stopSending() {
    this.#silent = true;
    for (const transceiver of [this.main.audio, this.main.video, this.screenTx]) {
      if (transceiver && !transceiver.stopped) transceiver.sender.replaceTrack(null).catch((e) => console.warn(e));
    }
  }

  /** Starts (a stream) or stops (null) sending the screen; renegotiates. */
  setScreen(stream) {
    if (this.#silent) return;
    const track = stream?.getVideoTracks()[0] ?? null;
    const tx = this.screenTx;
    if (track) {
      if (tx && !tx.stopped) {
        tx.direction = "sendonly";
        tx.sender.setStreams(stream);
        tx.sender.replaceTrack(track);
      } else {
        this.screenTx = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      }
    } else if (tx && !tx.stopped) {
      tx.sender.replaceTrack(null);
      tx.direction = "inactive";
    }
  }

  /** How loud the other side's microphone was since the last call of this (see AudioMeter). */
  audioLevel() {
    const receiver = this.main.audio?.receiver;
    return receiver && !this.#closed ? this.#meter.read(receiver) : Promise.resolve(0);
  }

  /** New ICE servers (fresh TURN credentials) for the next gathering, such as an ICE restart. */
  setIceServers(iceServers) {
    if (!this.#closed) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
  }

  /** For the test hook: what this connection is sending, by kind. */
  sending() {
    const label = (t) => (t && !t.stopped ? (t.sender.track?.label ?? null) : null);
    return { audio: label(this.main.audio), video: label(this.main.video), screen: label(this.screenTx) };
  }

  close() {
    this.#closed = true;
    this.pc.close();
    this.#emit("state", { state: "closed" });
  }

  #sendDescription() {
    const screen = this.media.screen && this.screenTx?.direction === "sendonly" ? this.media.screen.id : null;
    this.#send({ description: this.pc.localDescription.toJSON(), screen });
  }

  #send(data) {
    if (!this.#closed) this.sendSignal({ ...data, pc: this.pcId });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

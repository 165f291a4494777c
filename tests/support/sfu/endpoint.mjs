// A WebRTC endpoint without a browser, on werift, for tests that need real offers, answers and
// media but no picture: it publishes tracks that carry synthetic RTP (a VP8-shaped payload,
// an Opus-shaped one) and counts what arrives on the tracks it receives.
import { MediaStreamTrack, RtpHeader, RtpPacket } from "werift";
import { newPeerConnection } from "./forward.mjs";

const PAYLOAD_TYPES = { video: 96, audio: 111 };
const CLOCK_STEP = { video: 3000, audio: 960 };
const PACKET_INTERVAL_MS = 20;

export class FakeEndpoint {
  constructor() {
    this.pc = newPeerConnection();
    this.sending = [];
    /** Packets received, per mid. */
    this.received = new Map();
  }

  /**
   * Adds a sending track per kind ("audio" | "video") and makes an offer with them.
   * @param {string[]} kinds
   * @param {{ media?: boolean }} [options] media: false sends no packets on them
   * @returns {Promise<{ sdp: string, mids: string[] }>} the offer and the new tracks' mids
   */
  async publish(kinds, { media = true } = {}) {
    const added = kinds.map((kind) => {
      const track = new MediaStreamTrack({ kind });
      if (media) this.sending.push({ kind, track, sequenceNumber: 0 });
      return this.pc.addTransceiver(track, { direction: "sendonly" });
    });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.timer ??= setInterval(() => this.sendPackets(), PACKET_INTERVAL_MS);
    return { sdp: this.pc.localDescription.sdp, mids: added.map((t) => t.mid) };
  }

  sendPackets() {
    for (const source of this.sending) {
      const n = source.sequenceNumber++;
      const header = new RtpHeader({
        payloadType: PAYLOAD_TYPES[source.kind],
        sequenceNumber: n & 0xffff,
        timestamp: (n * CLOCK_STEP[source.kind]) >>> 0,
        marker: true,
      });
      source.track.writeRtp(new RtpPacket(header, Buffer.from([0x10, 0, 0, 0, 0, 0])));
    }
  }

  /** Makes an offer for the current transceivers (after stopping some, to close them). */
  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription.sdp;
  }

  /** Applies the SFU's answer to our offer. */
  async accept(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  /** Answers the SFU's offer; returns our answer. */
  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    // werift makes the receiving tracks during setRemoteDescription: count their packets now.
    for (const { mid, receiver } of this.pc.getTransceivers()) {
      if (mid === undefined || this.received.has(mid)) continue;
      this.received.set(mid, 0);
      receiver.track.onReceiveRtp.subscribe(() => this.received.set(mid, this.received.get(mid) + 1));
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.pc.localDescription.sdp;
  }

  /** Stops the transceiver of `mid` (to close its track with an offer). */
  stop(mid) {
    this.pc.getTransceivers().find((t) => t.mid === mid).stop();
  }

  async close() {
    clearInterval(this.timer);
    await this.pc.close();
  }
}

// The media side of the stand-in SFU, on npm `werift`: one RTCPeerConnection per session,
// a Publication per track a session sends us, and a Subscription per track we send a session,
// which copies the publication's RTP packets to one sender and turns the subscriber's
// keyframe requests (PLI, FIR) into a PLI to the publisher.
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  RtcpPayloadSpecificFeedback,
  useFIR,
  useNACK,
  useOPUS,
  usePLI,
  useREMB,
  useSdesMid,
  useSdesRTPStreamId,
  useVP8,
} from "werift";

/** How often a subscription waiting for a keyframe asks again (a request or its answer can be lost). */
const KEYFRAME_RETRY_MS = 500;
/**
 * A simulcast layer whose last packet is this much older than the newest of another layer is
 * not being sent (Chromium sends one layer of a small camera).
 */
const LAYER_GONE_MS = 1000;
/** How often a subscription checks that the layer it forwards is still the one to send. */
const LAYER_CHECK_MS = 250;

/** Feedback message types of payload-specific RTCP: PLI (RFC 4585) and FIR (RFC 5104). */
const PLI_FORMAT = 1;
const FIR_FORMAT = 4;

/**
 * A peer connection with the codecs the stand-in forwards (VP8 and Opus, no RTX) and full
 * ICE. werift looks up a public STUN server unless given one, and waits up to 5 s for it in
 * setLocalDescription(): a STUN address nothing listens on and no wait keep it offline and fast.
 */
export function newPeerConnection() {
  const pc = new RTCPeerConnection({
    iceServers: [{ urls: "stun:127.0.0.1:9" }],
    iceStunGatherTimeout: 0,
    iceUseIpv6: false,
    // One transport for every m-line, as browsers do; werift's default gathers one per m-line.
    bundlePolicy: "max-bundle",
    codecs: {
      audio: [useOPUS()],
      video: [useVP8({ rtcpFeedback: [useNACK(), usePLI(), useFIR(), useREMB()] })],
    },
    headerExtensions: {
      audio: [useSdesMid()],
      video: [useSdesMid(), useSdesRTPStreamId()],
    },
  });
  withoutConsentExpiry(pc);
  return pc;
}

/**
 * Turns werift's consent freshness checks (RFC 7675) off once `pc` is connected. The service is
 * an ICE-lite agent and sends no such checks. werift's wait 500 ms for each response, never
 * retry, and take the connection for failed after 30 s without one: with six browsers on a
 * loaded two-core machine the stand-in's event loop ran 0.5 to 3 s late, every check "timed
 * out", and sessions failed 30 s after connecting while their browsers went on sending (their
 * published tracks closed, the SFU's copies froze). werift 0.25.2 internals: its connection's
 * `queryConsent` runs the checks and `consentFresh` gates sending.
 */
function withoutConsentExpiry(pc) {
  pc.iceConnectionStateChange.subscribe((state) => {
    if (state !== "connected" && state !== "completed") return;
    for (const { iceTransport } of pc.dtlsTransports) {
      const connection = iceTransport.connection;
      connection.stopConsentLifecycle();
      connection.queryConsent = () => (connection.consentFresh = true);
      connection.consentFresh = true;
    }
  });
}

/**
 * Firefox's max-bundle offers give every m-line but the first port 0 with `a=bundle-only`;
 * werift takes port 0 for a rejected m-line. Such a line is bundled, not rejected: give it
 * the placeholder port 9. A stopped transceiver (port 0 without bundle-only) stays rejected.
 */
export function acceptBundleOnly(sdp) {
  const [head, ...sections] = sdp.split(/\r\n(?=m=)/);
  const fixed = sections.map((section) =>
    /\r\na=bundle-only\b/.test(section) ? section.replace(/^(m=\w+) 0 /, "$1 9 ") : section,
  );
  return [head, ...fixed].join("\r\n");
}

/**
 * werift's offers leave out the simulcast lines (`a=rid`, `a=simulcast`) of an m-line on which
 * it receives a publisher's layers, and a browser answering such an offer stops sending
 * simulcast (Firefox sends one stream, Chromium its first layer only). Puts them back into
 * `offer` as sent to the endpoint, as the endpoint's own description (`remote`) has them,
 * `send` made `recv`. (werift keeps its own offer: it refuses a changed local description, and
 * takes the layers from the endpoint's answer.)
 */
export function keepSimulcast(offer, remote) {
  const sections = (sdp) => sdp.split(/\r\n(?=m=)/);
  const mid = (section) => section.match(/\r\na=mid:(\S+)/)?.[1];
  const published = new Map(sections(remote).slice(1).map((section) => [mid(section), section]));
  const [head, ...media] = sections(offer);
  const kept = media.map((section) => {
    const lines = (published.get(mid(section)) ?? "")
      .split("\r\n")
      .filter((line) => /^a=(rid:\S+ |simulcast:)send\b/.test(line))
      .map((line) => line.replace(/\bsend\b/, "recv"));
    if (!lines.length || /\r\na=simulcast:/.test(section)) return section;
    const last = section.endsWith("\r\n");
    return [last ? section.slice(0, -2) : section, ...lines].join("\r\n") + (last ? "\r\n" : "");
  });
  return [head, ...kept].join("\r\n");
}

/**
 * Numbers a transceiver we are about to offer as the session already does: werift numbers
 * payload types and header extensions afresh, and a browser mis-reads or refuses a number that
 * changes meaning within a bundle (Chromium's 96 is VP8 and 97 its RTX, werift's next VP8
 * would be 97; Firefox's extension 3 is mid, werift's would be rid).
 */
export function alignWithSession(pc, transceiver) {
  const sdp = [pc.remoteDescription, pc.localDescription].map((d) => d?.sdp ?? "").join("\n");
  const others = pc.getTransceivers().filter((t) => t !== transceiver);
  const codecName = (codec) => `${codec.mimeType.split("/")[1]}/${codec.clockRate}`;
  const payloadType = numbering([
    ...[...sdp.matchAll(/^a=rtpmap:(\d+) ([^\s/]+\/\d+)/gm)].map(([, number, name]) => [name, Number(number)]),
    ...others.flatMap((t) => t.codecs.map((codec) => [codecName(codec), codec.payloadType])),
  ]);
  const extensionId = numbering([
    ...[...sdp.matchAll(/^a=extmap:(\d+)(?:\/\w+)? (\S+)/gm)].map(([, number, uri]) => [uri, Number(number)]),
    ...others.flatMap((t) => t.headerExtensions.map(({ uri, id }) => [uri, id])),
  ]);
  transceiver.codecs = pc.config.codecs[transceiver.kind].map(
    (codec) => new RTCRtpCodecParameters({ ...codec, payloadType: payloadType(codecName(codec), 96) }),
  );
  transceiver.headerExtensions = pc.config.headerExtensions[transceiver.kind].map(
    ({ uri }) => new RTCRtpHeaderExtensionParameters({ uri, id: extensionId(uri, 1) }),
  );
}

/**
 * Given the [name, number] pairs a session uses (names compared without case, the first
 * number of a name kept), a function giving the number for a name: the session's, or the
 * first free one from `from` on, kept for later calls.
 */
function numbering(pairs) {
  const numbers = new Map();
  for (const [name, number] of pairs) if (!numbers.has(name.toUpperCase())) numbers.set(name.toUpperCase(), number);
  const used = new Set(numbers.values());
  return (name, from) => {
    const key = name.toUpperCase();
    if (!numbers.has(key)) {
      let number = from;
      while (used.has(number)) number++;
      numbers.set(key, number);
      used.add(number);
    }
    return numbers.get(key);
  };
}

/**
 * Calls `request(ssrc)` for each keyframe request (PLI or FIR) an endpoint sends on
 * `dtlsTransport`, with the SSRC of our sender it asks about. Read off the transport because
 * werift routes a PLI by its sender SSRC first: from an endpoint that also publishes, that is
 * the SSRC of its own camera, so werift hands the request to the wrong track.
 */
export function onKeyframeRequest(dtlsTransport, request) {
  dtlsTransport.onRtcp.subscribe((packet) => {
    if (packet.type !== RtcpPayloadSpecificFeedback.type) return;
    const { feedback } = packet;
    if (feedback.count === PLI_FORMAT) request(feedback.mediaSsrc);
    if (feedback.count === FIR_FORMAT) for (const { ssrc } of feedback.fir) request(ssrc);
  });
}

/** A track a session sends us: its layers (one, or one per simulcast rid) and who requests keyframes. */
export class Publication {
  /** @param {import("werift").RTCRtpTransceiver} transceiver read right after setRemoteDescription */
  constructor(transceiver) {
    const receiver = transceiver.receiver;
    this.kind = transceiver.kind;
    this.receiver = receiver;
    const rids = Object.keys(receiver.trackByRID);
    // One entry per layer: the rid (or "" without simulcast) and its track.
    this.layers = new Map(rids.length ? rids.map((rid) => [rid, receiver.trackByRID[rid]]) : [["", receiver.track]]);
    this.packets = 0;
    this.keyframeRequests = 0;
    this.lastSsrc = new Map();
    /** When each layer's last packet came (Date.now()), and how many came, by rid. */
    this.lastPacketAt = new Map();
    this.packetsByRid = new Map();
    this.firstPacket = new Promise((resolve) => (this.gotFirstPacket = resolve));
    this.stops = [...this.layers].map(
      ([rid, track]) =>
        track.onReceiveRtp.subscribe((rtp) => {
          // Firefox names a layer's rid only in its first packets, and werift sends the rest,
          // by SSRC, to a track of its own made from the offer's a=ssrc lines: to this one now.
          if (rid) receiver.trackBySSRC[rtp.header.ssrc] = track;
          this.packets++;
          this.lastSsrc.set(rid, rtp.header.ssrc);
          this.lastPacketAt.set(rid, Date.now());
          this.packetsByRid.set(rid, (this.packetsByRid.get(rid) ?? 0) + 1);
          this.gotFirstPacket();
        }).unSubscribe,
    );
    this.subscriptions = new Set();
    this.active = true;
  }

  get rids() {
    return [...this.layers.keys()].filter(Boolean);
  }

  /**
   * The layer to send for a subscription's `simulcast` object: the preferred rid if it exists,
   * else the first layer offered; and with `ridNotAvailable: "asciibetical"`, when that one is
   * not being sent, the first in a-z order that is. A layer is being sent if its last packet
   * came within LAYER_GONE_MS of the newest of any layer: a stall of the stand-in's own event
   * loop, which holds up every layer alike, does not make one look gone.
   */
  layer({ preferredRid, ridNotAvailable } = {}) {
    const offered = [...this.layers.keys()];
    const preferred = this.layers.has(preferredRid) ? preferredRid : offered[0];
    if (ridNotAvailable !== "asciibetical") return preferred;
    const newest = Math.max(...this.lastPacketAt.values());
    const sending = (rid) => newest - (this.lastPacketAt.get(rid) ?? -Infinity) < LAYER_GONE_MS;
    if (sending(preferred)) return preferred;
    return offered.filter(sending).sort()[0] ?? preferred;
  }

  requestKeyframe(rid) {
    if (this.kind !== "video") return;
    const track = this.layers.get(rid);
    const ssrc = track?.ssrc ?? this.lastSsrc.get(rid);
    if (ssrc === undefined) return;
    this.keyframeRequests++;
    this.receiver.sendRtcpPLI(ssrc).catch(() => {});
  }

  /** Stops forwarding to every subscriber (the track was closed or its session is gone). */
  close() {
    this.active = false;
    for (const stop of this.stops) stop();
    for (const subscription of this.subscriptions) subscription.close();
  }
}

/**
 * Whether `rtp` is the first packet of a VP8 keyframe (RFC 7741 4.2, 4.3): the payload
 * descriptor says start of partition 0 (S=1, PID=0), and the payload header after it P=0.
 * werift's own parser throws on a truncated payload; padding packets are empty.
 */
export function startsKeyframe({ payload }) {
  const first = payload[0];
  if (!(first & 0x10) || (first & 0x0f) !== 0) return false;
  let i = 1;
  if (first & 0x80) {
    const extension = payload[i++];
    if (extension & 0x80) i += payload[i] & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (extension & 0x40) i += 1; // TL0PICIDX
    if (extension & 0x30) i += 1; // TID, Y, KEYIDX
  }
  return i < payload.length && (payload[i] & 0x01) === 0;
}

/**
 * One publication's packets, one layer of it, sent on one of a subscriber's transceivers.
 * The subscriber's keyframe requests come through its session (onKeyframeRequest).
 */
export class Subscription {
  /** @param {object} [simulcast] the track's `simulcast` object ({ preferredRid, ridNotAvailable, … }) */
  constructor(publication, transceiver, simulcast) {
    this.transceiver = transceiver;
    this.packets = 0;
    this.attach(publication, simulcast);
  }

  /**
   * Forwards `publication`'s layer for `simulcast` (Publication.layer) from its next keyframe
   * on (the frames before it could not be decoded), asking for one until it comes; and another
   * layer as soon as that one is the layer to send.
   */
  attach(publication, simulcast) {
    this.detach();
    const sender = this.transceiver.sender;
    this.publication = publication;
    this.rid = publication.layer(simulcast);
    this.layerCheck = setInterval(() => publication.layer(simulcast) !== this.rid && this.attach(publication, simulcast), LAYER_CHECK_MS);
    publication.subscriptions.add(this);
    // The sequence numbers and timestamps of a new source continue the old ones.
    sender.replaceRTP({ sequenceNumber: 0, timestamp: 0 });
    let waiting = publication.kind === "video";
    let askedAt = 0;
    this.stopRtp = publication.layers.get(this.rid).onReceiveRtp.subscribe((rtp) => {
      if (waiting && !startsKeyframe(rtp)) {
        if (Date.now() - askedAt > KEYFRAME_RETRY_MS) {
          askedAt = Date.now();
          this.requestKeyframe();
        }
        return;
      }
      waiting = false;
      // Header extension ids were negotiated with the publisher; the sender writes its own.
      const packet = rtp.clone();
      packet.header.extensions = [];
      this.packets++;
      sender.sendRtp(packet).catch(() => {});
    }).unSubscribe;
  }

  /** Attached to a publication still published (closing either ends the subscription). */
  get active() {
    return this.publication !== undefined;
  }

  requestKeyframe() {
    this.publication?.requestKeyframe(this.rid);
  }

  detach() {
    clearInterval(this.layerCheck);
    this.stopRtp?.();
    this.stopRtp = undefined;
    this.publication?.subscriptions.delete(this);
    this.publication = undefined;
  }

  close() {
    this.detach();
  }
}

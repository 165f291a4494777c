// `window.room`: a small read-only window on the call for the browser tests (tests/browser)
// and for debugging in the console.

/** @param {() => import("./call.js").Call | null} currentCall the call in progress, if any */
export function exposeTestHook(currentCall) {
  window.room = {
    /** "lobby", "joining", "knocking" (waiting at a locked room's door) or "in-call". */
    get state() {
      const call = currentCall();
      return call ? (call.me ? "in-call" : call.waiting ? "knocking" : "joining") : "lobby";
    },
    get me() {
      return currentCall()?.me ?? null;
    },
    /** How the room carries media: "mesh" or "sfu" (null outside a call). */
    get media() {
      return currentCall()?.mode ?? null;
    },
    /**
     * Each other person: id, nick, whether they can be called (`webrtc`: false when chat-only),
     * what brings their media (`via`: "p2p", "sfu" or "none") and whether a peer-to-peer
     * connection to them is still open (`p2p`), that connection's states ("none" without one:
     * on the SFU, the SFU connection's), sent tracks, ICE transport policy and TURN username
     * (the credentials it would use for an ICE restart).
     */
    peers() {
      const call = currentCall();
      return [...(call?.peers.values() ?? [])].map((p) => {
        const carrier = call.carrier(p);
        return {
          id: p.id,
          nick: p.nick,
          webrtc: p.webrtc,
          via: carrier ? (carrier === call.sfu ? "sfu" : "p2p") : "none",
          p2p: Boolean(p.link),
          connectionState: carrier?.pc.connectionState ?? "none",
          iceConnectionState: carrier?.pc.iceConnectionState ?? "none",
          signalingState: carrier?.pc.signalingState ?? "none",
          sending: carrier?.sending() ?? null,
          iceTransportPolicy: carrier?.pc.getConfiguration().iceTransportPolicy ?? null,
          turnUsername: carrier?.pc.getConfiguration().iceServers.find((s) => s.username)?.username ?? null,
        };
      });
    },
    /**
     * What can carry `id`'s camera to their tile, as this page's own objects (for a watch run
     * in the page, not serialisable): the peer-to-peer connection (null without one) and the
     * SFU's stream of their camera (null before it came, or in a mesh).
     */
    carriers(id) {
      const peer = currentCall()?.peers.get(id);
      return { p2p: peer?.link?.pc ?? null, sfuCamera: peer?.sfuStreams?.camera ?? null };
    },
    /** On the SFU, the kinds received of each member, by id (null in a mesh). */
    sfuReceiving() {
      return currentCall()?.sfu?.receiving() ?? null;
    },
    /** On the SFU, the layer ("high" or "low") of each member's camera received, by id (null in a mesh). */
    sfuLayers() {
      return currentCall()?.sfu?.layers() ?? null;
    },
    /**
     * On the SFU, each video encoding this page is sending: "<rid> <width>x<height>" (rid
     * "-" for none), sorted (null in a mesh). One that sends nothing (yet) is left out.
     */
    async sfuVideoSent() {
      const pc = currentCall()?.sfu?.pc;
      if (!pc) return null;
      const sent = [...(await pc.getStats()).values()].filter((s) => s.type === "outbound-rtp" && s.kind === "video" && s.frameWidth);
      return sent.map((s) => `${s.rid ?? "-"} ${s.frameWidth}x${s.frameHeight}`).sort();
    },
    /**
     * Every RTP stream this page sends, over every connection of the call (each copy in a
     * mesh, each simulcast layer on the SFU), from its outbound-rtp stats: { id, kind, rid,
     * bytesSent (payload bytes so far), frameWidth, frameHeight, framesPerSecond,
     * qualityLimitationReason } (the video fields absent for audio or before a frame).
     */
    async sending() {
      const streams = [];
      for (const pc of connections(currentCall())) {
        for (const s of (await pc.getStats()).values()) {
          if (s.type !== "outbound-rtp") continue;
          const { id, kind, rid, bytesSent, frameWidth, frameHeight, framesPerSecond, qualityLimitationReason } = s;
          streams.push({ id, kind, rid, bytesSent, frameWidth, frameHeight, framesPerSecond, qualityLimitationReason });
        }
      }
      return streams;
    },
    /**
     * Each other person: the candidate types (host, srflx, relay) of the pair in use, and every
     * candidate this side gathered (`gathered`: { type, port }).
     */
    async routes() {
      const routes = [];
      const call = currentCall();
      for (const p of call?.peers.values() ?? []) {
        const stats = [...((await call.carrier(p)?.pc.getStats()) ?? new Map()).values()];
        const byId = new Map(stats.map((s) => [s.id, s]));
        const transport = stats.find((s) => s.type === "transport");
        const pair = byId.get(transport?.selectedCandidatePairId);
        routes.push({
          id: p.id,
          local: byId.get(pair?.localCandidateId)?.candidateType ?? null,
          remote: byId.get(pair?.remoteCandidateId)?.candidateType ?? null,
          gathered: stats.filter((s) => s.type === "local-candidate").map((s) => ({ type: s.candidateType, port: s.port })),
        });
      }
      return routes;
    },
    /** The codecs of what this page receives, over every connection (e.g. "video/VP8"). */
    async codecs() {
      const seen = new Set();
      for (const pc of connections(currentCall())) {
        const stats = await pc.getStats();
        for (const s of stats.values()) {
          if (s.type === "inbound-rtp" && stats.has(s.codecId)) seen.add(stats.get(s.codecId).mimeType);
        }
      }
      return [...seen].sort();
    },
    /** Drops the room socket as a network failure would: the client must reconnect by itself. */
    dropSocket() {
      currentCall()?.socket.drop();
    },
    /** Restarts ICE on every connection, as a change of network would: it gathers anew. */
    restartIce() {
      for (const p of currentCall()?.peers.values() ?? []) p.link?.pc.restartIce();
    },
  };
}

/** Every RTCPeerConnection of the call: the peer-to-peer ones and the SFU's. */
function connections(call) {
  if (!call) return [];
  const links = [...call.peers.values()].map((p) => p.link?.pc);
  return [...links, call.sfu?.pc].filter(Boolean);
}

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
    /**
     * Each other person: id, nick, whether they can be called (`webrtc`: false when chat-only),
     * their RTCPeerConnection's states ("none" without one), sent tracks, ICE transport policy
     * and TURN username (the credentials it would use for an ICE restart).
     */
    peers() {
      return [...(currentCall()?.peers.values() ?? [])].map((p) => ({
        id: p.id,
        nick: p.nick,
        webrtc: p.webrtc,
        connectionState: p.link?.pc.connectionState ?? "none",
        iceConnectionState: p.link?.pc.iceConnectionState ?? "none",
        signalingState: p.link?.pc.signalingState ?? "none",
        sending: p.link?.sending() ?? null,
        iceTransportPolicy: p.link?.pc.getConfiguration().iceTransportPolicy ?? null,
        turnUsername: p.link?.pc.getConfiguration().iceServers.find((s) => s.username)?.username ?? null,
      }));
    },
    /**
     * Each other person: the candidate types (host, srflx, relay) of the pair in use, and every
     * candidate this side gathered (`gathered`: { type, port }).
     */
    async routes() {
      const routes = [];
      for (const p of currentCall()?.peers.values() ?? []) {
        const stats = [...((await p.link?.pc.getStats()) ?? new Map()).values()];
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
      for (const p of currentCall()?.peers.values() ?? []) {
        const stats = new Map([...((await p.link?.pc.getStats()) ?? new Map()).entries()]);
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

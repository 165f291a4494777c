// A local stand-in for Cloudflare Realtime's SFU: the part of its Connection API that Room
// uses (docs/realtime.md has the table), with the request and response shapes of the
// published OpenAPI schema (realtime-api-2024-05-21.yaml), forwarding real media between
// sessions (forward.mjs). Test support, not a product: one process, state in memory.
//
//   node tests/support/sfu/server.mjs [--port N] [--host H] [--app-id ID] [--secret S]
//
// prints `REALTIME_API_URL=… REALTIME_APP_ID=… REALTIME_APP_SECRET=…` once it listens.
// Besides the API, `GET /_standin/state` (same bearer secret) gives every session, its tracks
// and packet counts, and the API calls made so far (each with when it came, `at`, and the
// milliseconds it took here, `ms`), for tests to assert on, and how late its event loop ran
// since the last such request.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import {
  Publication,
  Subscription,
  acceptBundleOnly,
  alignWithSession,
  keepSimulcast,
  newPeerConnection,
  onKeyframeRequest,
} from "./forward.mjs";

/** The service's documented limits that the stand-in enforces. */
const MAX_TRACKS_PER_CALL = 64;
const MAX_BODY_BYTES = 1 << 20;
/** How long a subscription waits for the publication's first packet (`empty_track_error`). */
const FIRST_PACKET_WAIT_MS = 5000;

/** A refusal of the whole request, answered as `{errorCode, errorDescription}` with `status`. */
class ApiError extends Error {
  constructor(status, errorCode, errorDescription) {
    super(errorDescription);
    this.status = status;
    this.errorCode = errorCode;
  }
}
const invalidParams = (what) => new ApiError(406, "invalid_params", what);
const decodingError = (what) => new ApiError(400, "decoding_error", what);
const badDescription = (what) => new ApiError(406, "invalid_session_description", what);
const trackError = (track, errorCode, errorDescription) => ({ ...track, errorCode, errorDescription });

/** One session: one peer connection, its tracks as GET shows them, its calls one at a time. */
class Session {
  constructor(id) {
    this.id = id;
    this.pc = undefined;
    /** {location, mid, trackName, sessionId?, simulcast?, media: a Publication or a Subscription} */
    this.tracks = [];
    this.queue = Promise.resolve();
    this.watchedTransports = new Set();
  }

  /** Runs the calls on one session in order, as the service expects clients to. */
  serially(call) {
    const result = this.queue.then(call).finally(() => this.watchKeyframeRequests());
    this.queue = result.catch(() => {});
    return result;
  }

  /** Sends the endpoint's keyframe requests to the publications it receives (once per transport). */
  watchKeyframeRequests() {
    for (const transport of this.pc?.dtlsTransports ?? []) {
      if (this.watchedTransports.has(transport)) continue;
      this.watchedTransports.add(transport);
      onKeyframeRequest(transport, (ssrc) => {
        const track = this.tracks.findLast((t) => t.location === "remote" && t.media.transceiver.sender.ssrc === ssrc);
        track?.media.requestKeyframe();
      });
    }
  }

  peerConnection() {
    if (!this.pc) {
      this.pc = newPeerConnection();
      // A connection that failed or closed takes its publications with it.
      this.pc.connectionStateChange.subscribe((state) => {
        if (state === "failed" || state === "closed") {
          for (const track of this.tracks) if (track.location === "local") track.media.close();
        }
      });
    }
    return this.pc;
  }

  /** The session's active publication named `trackName`, if any. */
  published(trackName) {
    return this.tracks.find((t) => t.location === "local" && t.trackName === trackName && t.media.active)?.media;
  }
}

/** The API's view of a track record: closed tracks stay listed as inactive. */
function apiTrack({ location, mid, trackName, sessionId, simulcast, media }) {
  const status = media.active ? "active" : "inactive";
  return { location, mid, trackName, ...(sessionId && { sessionId }), ...(simulcast && { simulcast }), status };
}

function requireStable(pc, call) {
  if (pc.signalingState !== "stable") {
    throw badDescription(`${call} while the session waits for the answer to its offer: renegotiate first`);
  }
}

async function applyRemote(pc, type, sdp) {
  try {
    await pc.setRemoteDescription({ type, sdp: acceptBundleOnly(sdp) });
  } catch (error) {
    throw badDescription(`the ${type} could not be applied: ${error.message}`);
  }
}

/** Answers the offer just applied; returns the sessionDescription to send back. */
async function answer(pc) {
  await pc.setLocalDescription(await pc.createAnswer());
  return { type: "answer", sdp: pc.localDescription.sdp };
}

function sessionDescription(body, type) {
  const description = body.sessionDescription;
  if (description === undefined) return undefined;
  if (typeof description !== "object" || typeof description?.sdp !== "string" || typeof description.type !== "string") {
    throw decodingError("sessionDescription must be {type, sdp}");
  }
  if (description.type !== type) throw invalidParams(`sessionDescription must be an ${type} here`);
  return description.sdp;
}

function trackList(body, { max = MAX_TRACKS_PER_CALL } = {}) {
  if (!Array.isArray(body.tracks)) throw decodingError("tracks must be an array");
  if (body.tracks.length === 0) throw invalidParams("tracks is empty");
  if (body.tracks.length > max) throw invalidParams(`Expecting at most ${max} tracks in the request`);
  for (const track of body.tracks) {
    if (typeof track !== "object" || track === null) throw decodingError("every track must be an object");
    for (const field of ["location", "mid", "sessionId", "trackName"]) {
      if (track[field] !== undefined && typeof track[field] !== "string") {
        throw decodingError(`${field} must be a string`);
      }
    }
  }
  return body.tracks;
}

export function createSfu({ appId, secret }) {
  const sessions = new Map();
  const calls = [];
  // How late the event loop ran since the last state() (it forwards every packet too): when
  // calls are slow, this tells a busy stand-in from a slow caller.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  function session(id) {
    const found = sessions.get(id);
    if (!found) throw new ApiError(410, "session_error", `session ${id} does not exist or has expired`);
    return found;
  }

  async function newTracks(self, body) {
    const tracks = trackList(body);
    if (body.autoDiscover) throw invalidParams("autoDiscover is not supported by the stand-in");
    const locations = new Set(tracks.map((t) => t.location));
    if (locations.size !== 1 || !["local", "remote"].includes([...locations][0])) {
      throw invalidParams("every track must have location local, or every track location remote");
    }
    return locations.has("local") ? publish(self, tracks, body) : subscribe(self, tracks, body);
  }

  async function publish(self, tracks, body) {
    const offer = sessionDescription(body, "offer");
    if (offer === undefined) throw invalidParams("the stand-in publishes local tracks from the endpoint's offer only");
    const pc = self.peerConnection();
    requireStable(pc, "tracks/new");
    await applyRemote(pc, "offer", offer);
    const results = tracks.map((track) => {
      const { mid, trackName } = track;
      const asked = { trackName, mid };
      if (!mid || !trackName) return trackError(asked, "invalid_params", "a local track needs mid and trackName");
      if (self.published(trackName)) {
        return trackError(asked, "repeated_local_track_error", `track ${trackName} is already published`);
      }
      const transceiver = pc.getTransceivers().find((t) => t.mid === mid);
      if (!transceiver || !["recvonly", "sendrecv"].includes(transceiver.direction)) {
        return trackError(asked, "invalid_params", `the offer sends nothing with mid ${mid}`);
      }
      // Read the receiving track now: werift has made it during setRemoteDescription.
      self.tracks.push({ location: "local", mid, trackName, media: new Publication(transceiver) });
      return asked;
    });
    return { requiresImmediateRenegotiation: false, tracks: results, sessionDescription: await answer(pc) };
  }

  async function subscribe(self, tracks, body) {
    if (body.sessionDescription !== undefined) {
      throw invalidParams("the stand-in makes the offer for remote tracks; send none");
    }
    const pc = self.peerConnection();
    requireStable(pc, "tracks/new");
    const found = await Promise.all(tracks.map((track) => findPublication(track)));
    const added = [];
    const results = tracks.map((track, i) => {
      const { sessionId, trackName, simulcast } = track;
      const asked = { sessionId, trackName, ...(simulcast && { simulcast }) };
      const { publication, errorCode, errorDescription } = found[i];
      if (!publication) return trackError(asked, errorCode, errorDescription);
      const transceiver = pc.addTransceiver(publication.kind, { direction: "sendonly" });
      alignWithSession(pc, transceiver);
      const record = {
        location: "remote",
        sessionId,
        trackName,
        simulcast,
        media: new Subscription(publication, transceiver, simulcast),
      };
      self.tracks.push(record);
      added.push([record, transceiver, asked]);
      return asked;
    });
    if (added.length === 0) return { requiresImmediateRenegotiation: false, tracks: results };
    await pc.setLocalDescription(await pc.createOffer());
    for (const [record, transceiver, asked] of added) record.mid = asked.mid = transceiver.mid;
    return {
      requiresImmediateRenegotiation: true,
      tracks: results,
      sessionDescription: { type: "offer", sdp: keepSimulcast(pc.localDescription.sdp, pc.remoteDescription?.sdp ?? "") },
    };
  }

  /** `{publication}` for the track a remote track names once it has media, or `{errorCode, errorDescription}`. */
  async function findPublication({ sessionId, trackName }) {
    const publication = sessions.get(sessionId)?.published(trackName);
    if (!publication) {
      const errorDescription = `no track ${trackName} published by session ${sessionId}`;
      return { errorCode: "not_found_track_error", errorDescription };
    }
    const arrived = await Promise.race([
      publication.firstPacket.then(() => true),
      new Promise((resolve) => setTimeout(resolve, FIRST_PACKET_WAIT_MS, false)),
    ]);
    if (!arrived) {
      return { errorCode: "empty_track_error", errorDescription: `track ${trackName} has received no media` };
    }
    return { publication };
  }

  async function renegotiate(self, body) {
    const sdp = sessionDescription(body, "answer");
    if (sdp === undefined) throw invalidParams("renegotiate needs the endpoint's answer");
    if (self.pc?.signalingState !== "have-local-offer") {
      throw badDescription("there is no offer of this session to answer");
    }
    await applyRemote(self.pc, "answer", sdp);
    // Media sent before the subscriber was connected is lost: ask for fresh keyframes.
    for (const track of self.tracks) if (track.location === "remote") track.media.requestKeyframe();
    return {};
  }

  /**
   * Points existing receiving transceivers at another track or another simulcast layer, with
   * no renegotiation: the stand-in forwards the chosen layer from the next packet on.
   */
  async function updateTracks(self, body) {
    const tracks = trackList(body);
    const found = await Promise.all(tracks.map((track) => findPublication(track)));
    const results = tracks.map((track, i) => {
      const { mid, sessionId, trackName, simulcast } = track;
      const asked = { mid, sessionId, trackName, ...(simulcast && { simulcast }) };
      // A transceiver whose track was closed through the API is gone; one whose publication
      // ended can take another.
      const record = self.tracks.findLast((t) => t.location === "remote" && t.mid === mid && !t.closed);
      if (track.location !== "remote" || !record) {
        return trackError(asked, "update_track_error", `no receiving track with mid ${mid} to update`);
      }
      const { publication, errorCode, errorDescription } = found[i];
      if (!publication) return trackError(asked, errorCode, errorDescription);
      if (publication.kind !== record.media.transceiver.kind) {
        const wrongKind = `mid ${mid} carries ${record.media.transceiver.kind}, not ${publication.kind}`;
        return trackError(asked, "update_track_error", wrongKind);
      }
      record.media.attach(publication, simulcast);
      Object.assign(record, { sessionId, trackName, simulcast });
      return asked;
    });
    return { requiresImmediateRenegotiation: false, tracks: results };
  }

  async function closeTracks(self, body) {
    const tracks = trackList(body);
    if (typeof body.force !== "boolean") throw invalidParams("force (true or false) is required");
    if (tracks.some((t) => !t.mid)) throw invalidParams("every track needs its mid");
    const offer = sessionDescription(body, "offer");
    if (!body.force && offer === undefined) throw invalidParams("without force, send the endpoint's offer");
    if (offer !== undefined) requireStable(self.peerConnection(), "tracks/close");
    const results = tracks.map(({ mid }) => {
      // A receiving track whose publication ended is still the endpoint's to close.
      const track = self.tracks.findLast((t) => t.mid === mid && !t.closed);
      if (!track) return trackError({ mid }, "close_track_error", "Track doesn't exist or was already closed");
      track.media.close();
      track.closed = true;
      return { mid };
    });
    const response = { requiresImmediateRenegotiation: false, tracks: results };
    if (offer !== undefined) {
      await applyRemote(self.pc, "offer", offer);
      response.sessionDescription = await answer(self.pc);
    }
    return response;
  }

  function state() {
    const late = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
    loopDelay.reset();
    return {
      sessions: [...sessions.values()].map((s) => ({
        sessionId: s.id,
        connectionState: s.pc?.connectionState ?? "new",
        tracks: s.tracks.map((t) => ({
          ...apiTrack(t),
          ...(t.location === "local"
            ? {
                packetsReceived: t.media.packets,
                keyframeRequests: t.media.keyframeRequests,
                rids: t.media.rids,
                packetsByRid: Object.fromEntries(t.media.packetsByRid),
              }
            : { packetsSent: t.media.packets, rid: t.media.rid }),
        })),
      })),
      calls,
      loopDelayMs: late,
    };
  }

  /** Routes one request; returns [status, body]. */
  async function route(method, path, body) {
    let match = path.match(/^\/v1\/apps\/([^/]+)\/sessions\/new$/);
    if (match && method === "POST") {
      if (body.sessionDescription !== undefined) {
        throw invalidParams("the stand-in makes sessions without an offer only");
      }
      const id = randomBytes(16).toString("hex");
      sessions.set(id, new Session(id));
      return [201, { sessionId: id }];
    }
    match = path.match(/^\/v1\/apps\/([^/]+)\/sessions\/([^/]+)(\/.*)?$/);
    if (!match) throw new ApiError(404, "not_found", `no such operation: ${method} ${path}`);
    const self = session(match[2]);
    const operation = `${method} ${match[3] ?? ""}`;
    switch (operation) {
      case "GET ":
        return [200, { tracks: self.tracks.map(apiTrack), dataChannels: [] }];
      case "POST /tracks/new":
        return [200, await self.serially(() => newTracks(self, body))];
      case "PUT /renegotiate":
        return [200, await self.serially(() => renegotiate(self, body))];
      case "PUT /tracks/close":
        return [200, await self.serially(() => closeTracks(self, body))];
      case "PUT /tracks/update":
        return [200, await self.serially(() => updateTracks(self, body))];
      default:
        throw new ApiError(404, "not_found", `the stand-in does not implement ${method} ${path}`);
    }
  }

  function authorize(request, path) {
    const app = path.match(/^\/v1\/apps\/([^/]+)\//)?.[1];
    if (path.startsWith("/v1/") && app !== appId) throw new ApiError(404, "not_found", "The SFU app was not found");
    if (request.headers.authorization !== `Bearer ${secret}`) {
      throw new ApiError(401, "unauthorized", "The SFU App Secret was not accepted");
    }
  }

  async function handle(request, response) {
    const path = new URL(request.url, "http://stand-in").pathname;
    const at = Date.now();
    const ms = () => Date.now() - at;
    let status;
    let body;
    try {
      authorize(request, path);
      if (request.method === "GET" && path === "/_standin/state") {
        [status, body] = [200, state()];
      } else {
        [status, body] = await route(request.method, path, await readJson(request));
        calls.push({ method: request.method, path, status, at, ms: ms() });
      }
    } catch (error) {
      if (!(error instanceof ApiError)) error = new ApiError(500, "internal_error", error.message);
      [status, body] = [error.status, { errorCode: error.errorCode, errorDescription: error.message }];
      if (path.startsWith("/v1/")) calls.push({ method: request.method, path, status, errorCode: error.errorCode, at, ms: ms() });
    }
    response.writeHead(status, { "content-type": "application/json", vary: "Origin" });
    response.end(JSON.stringify(body));
  }

  async function close() {
    loopDelay.disable();
    for (const s of sessions.values()) await s.pc?.close();
    sessions.clear();
  }

  return { handle, state, close };
}

async function readJson(request) {
  let size = 0;
  const chunks = [];
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, "payload_too_large", "the request body is too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text.trim()) return {};
  try {
    const body = JSON.parse(text);
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("not an object");
    return body;
  } catch {
    throw decodingError("The request could not be decoded.");
  }
}

/** Starts the stand-in on `host`:`port` (0: any free port); resolves once it listens. */
export async function serve({ host = "127.0.0.1", port = 0, appId, secret }) {
  const sfu = createSfu({ appId, secret });
  const server = createServer((request, response) => void sfu.handle(request, response));
  // Node closes a keep-alive connection after 5 s idle, and a client that sends its next
  // request on it at that moment loses it (workerd: "Network connection lost"): leave closing
  // idle connections to the client.
  server.keepAliveTimeout = 0;
  await new Promise((resolve) => server.listen(port, host, resolve));
  const url = `http://${host}:${server.address().port}/v1`;
  return {
    url,
    state: sfu.state,
    async close() {
      await sfu.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      "app-id": { type: "string", default: randomBytes(16).toString("hex") },
      secret: { type: "string", default: randomBytes(32).toString("hex") },
      // Set by startSfu: the stand-in ends with the test process that started it.
      "exit-with-stdin": { type: "boolean", default: false },
    },
  });
  const appId = values["app-id"];
  const { url, close } = await serve({ host: values.host, port: Number(values.port), appId, secret: values.secret });
  console.log(`REALTIME_API_URL=${url} REALTIME_APP_ID=${appId} REALTIME_APP_SECRET=${values.secret}`);
  const stop = () => close().finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  if (values["exit-with-stdin"]) process.stdin.on("end", stop).resume();
}

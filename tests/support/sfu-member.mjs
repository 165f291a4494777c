// A member of a room on the SFU, driven over its room socket as a page would (docs/protocol.md,
// "Rooms that grow"): `sfu` calls answered by request number, real SDP from a werift endpoint
// (tests/support/sfu/endpoint.mjs) that sends synthetic media, and every frame it ever got kept
// for checks that span a whole test (no secret, no session id).
import assert from "node:assert/strict";
import { FakeEndpoint } from "./sfu/endpoint.mjs";

/** The worker vars that point a room at `sfu` (a started stand-in: `startSfu()`). */
export const realtimeVars = (sfu, extra = {}) => ({
  REALTIME_APP_ID: sfu.appId,
  REALTIME_APP_SECRET: sfu.secret,
  REALTIME_API_URL: sfu.url,
  ...extra,
});

/** What a track of each kind is in WebRTC. */
const MEDIA = { mic: "audio", camera: "video", screen: "video" };

export class SfuMember {
  /** @param {{ client, welcome, id }} joined what `worker.join` resolves with */
  constructor({ client, welcome, id }) {
    this.client = client;
    this.welcome = welcome;
    this.id = id;
    this.req = 0;
    /** Frames that came while an answer was awaited, in order (read them with `take`). */
    this.aside = [];
    /** Every frame this member got, for checks over a whole test. */
    this.seen = [welcome];
    this.endpoint = undefined;
  }

  /** Sends an `sfu` call; resolves with its answer (frames before it are put aside). */
  async call(call, fields = {}, { timeoutMs = 15_000 } = {}) {
    const req = ++this.req;
    this.client.send({ type: "sfu", req, call, ...fields });
    return this.answer(req, timeoutMs);
  }

  async answer(req, timeoutMs = 15_000) {
    for (;;) {
      const frame = await this.client.next(undefined, timeoutMs);
      this.seen.push(frame);
      if (frame.type === "sfu" && frame.req === req) return frame;
      this.aside.push(frame);
    }
  }

  /**
   * The next frame of `type` (and, with `where`, for which `where(frame)` holds), from those put
   * aside first, then from the socket; the frames it passes over are put aside.
   */
  async take(type, where = () => true, timeoutMs = 5000) {
    const wanted = (frame) => frame.type === type && where(frame);
    const index = this.aside.findIndex(wanted);
    if (index >= 0) return this.aside.splice(index, 1)[0];
    for (;;) {
      const frame = await this.client.next(undefined, timeoutMs);
      this.seen.push(frame);
      if (wanted(frame)) return frame;
      this.aside.push(frame);
    }
  }

  /** A session on the SFU, and a fresh endpoint for it. */
  async session() {
    const answer = await this.call("session");
    assert.deepEqual(answer, { type: "sfu", req: this.req, renegotiate: false, tracks: [] });
    await this.endpoint?.close();
    this.endpoint = new FakeEndpoint();
    return answer;
  }

  /** Publishes one track of each of `kinds`, media flowing; resolves with the answer. */
  async publish(kinds) {
    const { sdp, mids } = await this.endpoint.publish(kinds.map((kind) => MEDIA[kind]));
    const tracks = kinds.map((kind, i) => ({ mid: mids[i], kind }));
    const answer = await this.call("publish", { offer: sdp, tracks });
    assert.equal(typeof answer.answer, "string", JSON.stringify(answer));
    await this.endpoint.accept(answer.answer);
    return answer;
  }

  /** Subscribes to `tracks` (`[{id, kind}]`), answering the SFU's offer; resolves with the answer. */
  async subscribe(tracks) {
    const answer = await this.call("subscribe", { tracks });
    if (answer.renegotiate) {
      const sdp = await this.endpoint.answer(answer.offer);
      const done = await this.call("renegotiate", { answer: sdp });
      assert.deepEqual(done, { type: "sfu", req: this.req, renegotiate: false, tracks: [] });
    }
    return answer;
  }

  async close() {
    await this.endpoint?.close();
    if (!this.client.closeInfo) await this.client.close();
  }
}

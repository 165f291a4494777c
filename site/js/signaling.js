// The room's websocket: joins, and after a drop (socket.js reconnects) joins again with the
// `resume` token of the last welcome, so the server gives back the same id.
//
// Events: those of ReconnectingSocket ("frame", "status"), and two more status states: "open",
// the room welcomed us, and "knocking", the room is locked and we wait at its door for a host
// (either resets the backoff: the room answered).
import { ReconnectingSocket } from "./socket.js";

/**
 * Close codes after which reconnecting would not help (see docs/protocol.md), with the message
 * (i18n.js) that says why. Any other code means try again: 4005 (the room took the connection
 * for dead) and 4006 (it did not join in time, as after a tab frozen in the background) are
 * followed by a new connection that joins.
 */
const FINAL = new Map([
  [4001, "error.room_full"],
  [4002, "close.rateLimited"],
  [4003, "error.removed"],
  [4004, "close.replaced"],
  // A knock that ended: an error frame naming the host usually says it first.
  [4007, "error.denied"],
  [4008, "error.knock_limit"],
  [4009, "close.knockTimeout"],
]);

export class RoomSocket extends ReconnectingSocket {
  /** The token from the last welcome: sent with the next join to keep the same id. */
  resume = null;

  /** @param {string} room  @param {() => object} joinFrame the join frame, built at each (re)connect */
  constructor(room, joinFrame) {
    super(`/ws/rooms/${encodeURIComponent(room)}`, { keepAlive: true, finalCodes: FINAL });
    this.addEventListener("open", () => {
      const join = joinFrame();
      if (this.resume) join.resume = this.resume;
      this.send(join);
    });
    // Added before anyone else's listener: "open" is announced before the welcome is handed on.
    this.addEventListener("frame", ({ detail: frame }) => {
      if (frame.type !== "welcome" && frame.type !== "knocking") return;
      if (frame.type === "welcome") this.resume = frame.resume;
      this.settled();
      this.dispatchEvent(new CustomEvent("status", { detail: { state: frame.type === "welcome" ? "open" : "knocking" } }));
    });
  }

  /** Leaves the room for good. */
  leave() {
    this.send({ type: "leave" });
    this.stop();
  }
}

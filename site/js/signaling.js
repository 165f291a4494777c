// The room's websocket: joins, keeps the connection alive with a heartbeat, and when it drops
// reconnects with backoff and joins again with the `resume` token of the last welcome, so
// the server gives back the same id.
//
// Events: "frame" (every JSON frame from the room), "status" ({state, retryAt, code, message}),
// state being "connecting", "open" (welcomed), "reconnecting" or "ended" (will not retry).
import { backoffMs, wsUrl } from "./dom.js";

const HEARTBEAT_MS = 15_000;
/** No frame and no pong for this long: the connection is dead even if the browser has not noticed. */
const SILENCE_MS = 40_000;

/** Close codes after which reconnecting would not help (see docs/protocol.md). */
const FINAL = new Map([
  [4001, "This room is full."],
  [4002, "The room disconnected you for sending too much."],
  [4003, "You were removed from the room."],
  [4004, "You joined this room from another tab or window."],
]);

export class RoomSocket extends EventTarget {
  /** The token from the last welcome: sent with the next join to keep the same id. */
  resume = null;
  #ws = null;
  #attempt = 0;
  #retryTimer = 0;
  #heartbeat = 0;
  #lastHeard = 0;
  #ended = false;

  /** @param {string} room  @param {() => object} joinFrame the join frame, built at each (re)connect */
  constructor(room, joinFrame) {
    super();
    this.url = wsUrl(`/ws/rooms/${encodeURIComponent(room)}`);
    this.joinFrame = joinFrame;
    this.onOnline = () => this.#retryNow();
    window.addEventListener("online", this.onOnline);
  }

  open() {
    this.#connect();
  }

  /** Sends a frame if the socket is open; false if it is not (the caller may retry later). */
  send(frame) {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /** Leaves the room for good. */
  leave() {
    this.send({ type: "leave" });
    this.close();
  }

  /** Closes for good without a word (the room refused us). */
  close() {
    this.#end();
    this.#ws?.close(1000);
  }

  /** Drops the connection as a network failure would (the test hook for reconnecting). */
  drop() {
    this.#abandon();
  }

  #connect() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
    const ws = new WebSocket(this.url);
    this.#ws = ws;
    this.#status("connecting");
    ws.onopen = () => {
      const join = this.joinFrame();
      if (this.resume) join.resume = this.resume;
      ws.send(JSON.stringify(join));
      this.#lastHeard = Date.now();
      this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS);
    };
    ws.onmessage = ({ data }) => {
      this.#lastHeard = Date.now();
      if (data === "pong" || typeof data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(data);
      } catch {
        return;
      }
      if (frame.type === "welcome") {
        this.resume = frame.resume;
        this.#attempt = 0;
        this.#status("open");
      }
      this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
    };
    ws.onclose = ({ code }) => this.#closed(ws, code);
  }

  #beat() {
    if (Date.now() - this.#lastHeard > SILENCE_MS) this.#abandon();
    else this.#ws?.send("ping");
  }

  /** Gives up on the current socket at once (a dead TCP connection can take minutes to close). */
  #abandon() {
    const ws = this.#ws;
    if (!ws) return;
    ws.onclose = ws.onmessage = ws.onopen = null;
    ws.close();
    this.#closed(ws, 1006);
  }

  #closed(ws, code) {
    if (ws !== this.#ws) return;
    clearInterval(this.#heartbeat);
    this.#ws = null;
    if (this.#ended) return;
    if (FINAL.has(code)) {
      this.#end();
      this.#status("ended", { code, message: FINAL.get(code) });
      return;
    }
    const delay = backoffMs(this.#attempt++);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
    this.#status("reconnecting", { code, retryAt: Date.now() + delay });
  }

  #retryNow() {
    if (this.#retryTimer) this.#connect();
  }

  #end() {
    this.#ended = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeat);
    window.removeEventListener("online", this.onOnline);
  }

  #status(state, extra = {}) {
    this.dispatchEvent(new CustomEvent("status", { detail: { state, ...extra } }));
  }
}

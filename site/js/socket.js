// A websocket to this site that reconnects by itself: the room list and the room socket both
// use it. When a connection drops it tries again after a growing, random delay (so that many
// pages that lost the server together do not all come back in the same instant), until
// stop() or a close code that says retrying would not help.
//
// Events: "open" (a connection opened: send the first frame here), "frame" (each JSON frame
// from the server, parsed), "status" ({ state, retryAt, code, failedOpens, message }), state
// being "connecting" (every attempt), "reconnecting" (dropped, or never opened; the next
// attempt is at retryAt; failedOpens counts the attempts in a row that never opened) or
// "ended" (closed with one of `finalCodes`: no more attempts; message is the key of why).
//
// A browser tells a page nothing about an upgrade the server refused with an HTTP status (such
// as 429, too many connections from this network): the socket just closes with 1006 without
// ever opening, exactly as when the network is down. failedOpens lets the caller notice.

const HEARTBEAT_MS = 15_000;
/** No frame and no pong for this long: the connection is dead even if the browser has not noticed. */
const SILENCE_MS = 40_000;

/** Exponential backoff with jitter: about 0.5 s, 1 s, 2 s … capped at 10 s. */
function backoffMs(attempt) {
  const ceiling = Math.min(10_000, 500 * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export class ReconnectingSocket extends EventTarget {
  #url;
  #keepAlive;
  #finalCodes;
  #ws = null;
  #attempt = 0;
  /** Whether the current socket opened, and how many in a row did not. */
  #opened = false;
  #failedOpens = 0;
  #retryTimer = 0;
  #heartbeat = 0;
  #lastHeard = 0;
  #stopped = false;
  #onOnline = () => this.#retryNow();

  /**
   * @param {string} path  the websocket's path on this site, e.g. "/ws/lobby"
   * @param {object} [options]
   * @param {boolean} [options.keepAlive] send "ping" every 15 s, give the connection up after
   *   40 s without a word from the server, and retry at once when the browser is back online
   * @param {Map<number, string>} [options.finalCodes] close codes after which retrying would
   *   not help, each with the key of its message for the user (i18n.js)
   */
  constructor(path, { keepAlive = false, finalCodes = new Map() } = {}) {
    super();
    this.#url = location.origin.replace(/^http/, "ws") + path;
    this.#keepAlive = keepAlive;
    this.#finalCodes = finalCodes;
    if (keepAlive) window.addEventListener("online", this.#onOnline);
  }

  start() {
    this.#connect();
  }

  /** True after a drop, until settled(). */
  get retrying() {
    return this.#attempt > 0;
  }

  /** The server accepted this connection: the next drop starts the backoff again from its shortest delay. */
  settled() {
    this.#attempt = 0;
  }

  /** Sends a frame if the socket is open; false if it is not (the caller may retry later). */
  send(frame) {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /** Closes for good. */
  stop() {
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
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    this.#opened = false;
    this.#status("connecting");
    ws.onopen = () => {
      this.#opened = true;
      this.#failedOpens = 0;
      this.dispatchEvent(new Event("open"));
      if (!this.#keepAlive) return;
      this.#lastHeard = Date.now();
      this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS);
    };
    ws.onmessage = ({ data }) => {
      this.#lastHeard = Date.now();
      if (typeof data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(data);
      } catch {
        return; // not JSON: "pong", or nothing this page understands
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
    if (this.#stopped) return;
    if (this.#finalCodes.has(code)) {
      this.#end();
      this.#status("ended", { code, message: this.#finalCodes.get(code) });
      return;
    }
    if (!this.#opened) this.#failedOpens++;
    const delay = backoffMs(this.#attempt++);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
    this.#status("reconnecting", { code, retryAt: Date.now() + delay, failedOpens: this.#failedOpens });
  }

  #retryNow() {
    if (this.#retryTimer) this.#connect();
  }

  #end() {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeat);
    window.removeEventListener("online", this.#onOnline);
  }

  #status(state, extra = {}) {
    this.dispatchEvent(new CustomEvent("status", { detail: { state, ...extra } }));
  }
}

// A websocket test client: frames are queued as they arrive and read in order with `next`,
// so a test states exactly which frames a client sees, and `expectNothingBefore` (with a barrier
// frame sent after the ones under test) proves it saw no more.
import WebSocket from "ws";

const DEFAULT_TIMEOUT_MS = 5000;

export class Client {
  /**
   * Each client is a different person on a different network, as in real use: the upgrade
   * carries its own `CF-Connecting-IP` (Miniflare keeps a client's; Cloudflare sets the real
   * one), so the per-network limits count each client apart. Tests of those limits pass the
   * same address for several clients.
   * @param {string} url  @param {object} [options] headers for the upgrade (e.g. Origin)
   */
  static async connect(url, { headers = {} } = {}) {
    headers = { "CF-Connecting-IP": randomAddress(), ...headers };
    const client = new Client(new WebSocket(url, { headers }));
    await new Promise((resolve, reject) => {
      client.ws.once("open", resolve);
      client.ws.once("error", reject);
      // A refused upgrade: reject with the HTTP status and the JSON body the Worker sent.
      client.ws.once("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => {
          const error = new Error(`upgrade refused: ${res.statusCode} ${text}`);
          reject(Object.assign(error, { status: res.statusCode, body: JSON.parse(text || "null") }));
        });
      });
    });
    return client;
  }

  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = [];
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.#wake();
        resolve(this.closeInfo);
      }),
    );
    ws.on("message", (data, isBinary) => {
      const text = data.toString();
      if (text === "pong" && this.swallowPongs) return;
      this.frames.push(isBinary ? { binary: text } : text === "pong" ? "pong" : JSON.parse(text));
      this.#wake();
    });
  }

  #wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Pings every `everyMs` like the web client does; the pongs are not queued. */
  startHeartbeat(everyMs) {
    this.swallowPongs = true;
    const timer = setInterval(() => this.closeInfo || this.ws.send("ping"), everyMs);
    this.ws.on("close", () => clearInterval(timer));
    return () => clearInterval(timer);
  }

  send(frame) {
    this.ws.send(typeof frame === "string" || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The next frame (optionally: the next one of `type`, skipping none silently). */
  async next(type, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code}) while waiting for ${type ?? "a frame"}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type ?? "a frame"}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    const frame = this.frames.shift();
    if (type && frame?.type !== type && frame !== type) {
      throw new Error(`expected ${type}, got ${JSON.stringify(frame)}`);
    }
    return frame;
  }

  /**
   * Proves that nothing arrived before a barrier: a frame of `type` sent after the frames under
   * test, which this socket must get. Frames on one socket arrive in order, so anything the
   * server sent this socket before the barrier would be queued ahead of it: the next frame must
   * be the barrier itself. Resolves with it; fails with whatever came first instead. Unlike a
   * pause, this cannot pass by looking too early.
   */
  async expectNothingBefore(type, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const frame = await this.next(undefined, timeoutMs);
    if (frame?.type !== type && frame !== type) {
      throw new Error(`expected nothing before the ${type} barrier, got ${JSON.stringify(frame)}`);
    }
    return frame;
  }

  close(code = 1000) {
    this.ws.close(code);
    return this.closed;
  }

  /** Drops the TCP connection without a close frame, like a phone losing signal. */
  kill() {
    this.ws.terminate();
    return this.closed;
  }
}

/** An address in 198.18.0.0/15, the range set aside for testing networks (RFC 2544). */
export function randomAddress() {
  const byte = () => Math.floor(Math.random() * 256);
  return `198.${18 + (byte() & 1)}.${byte()}.${byte()}`;
}

let barriers = 0;

/**
 * A barrier in a room: `sender` (a joined client) chats a fresh text, which the room sends to
 * everyone in it, sender included, after everything that sender's earlier frames caused. Each
 * of `clients` must get that chat as its very next frame: proof that nothing else reached them
 * first. Send it after the frames under test have been handled (the sender's own earlier
 * frames always are; someone else's only once a reply to them has arrived).
 */
export async function chatBarrier(sender, clients) {
  const text = `barrier ${++barriers}`;
  sender.send({ type: "chat", text });
  for (const client of clients) {
    const chat = await client.expectNothingBefore("chat");
    if (chat.text !== text) throw new Error(`expected the barrier ${JSON.stringify(text)}, got ${JSON.stringify(chat)}`);
  }
}

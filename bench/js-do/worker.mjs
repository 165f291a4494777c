// Baseline: the room relay written the way a JavaScript Durable Object usually is, in the
// same runtime as Room (workerd). Same wire protocol (docs/protocol.md): join -> welcome +
// peer_joined, chat to everyone (sender included) and kept for late joiners, signal to one
// peer, peer_left on close; hibernatable sockets (ctx.acceptWebSocket) with each peer kept in
// its socket's attachment and the chat history in SQLite, so the room survives eviction;
// `ping` answered by the runtime without waking the room. (No rate limits, resume or sweeps:
// what Room does beyond this is its own cost.)
import { DurableObject } from "cloudflare:workers";

const MAX_NICK_CHARS = 32;
const MAX_CHAT_CHARS = 2000;
const MAX_FRAME_BYTES = 65536;
const HISTORY = 50;

export default {
  async fetch(request, env) {
    const match = /^\/ws\/rooms\/([^/]{1,64})$/.exec(new URL(request.url).pathname);
    if (!match) return Response.json({ error: "not_found" }, { status: 404 });
    if (request.headers.get("Upgrade") !== "websocket") {
      return Response.json({ error: "upgrade_required" }, { status: 426 });
    }
    return env.ROOMS.getByName(decodeURIComponent(match[1])).fetch(request);
  },
};

export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.maxPeers = Number(env.MAX_PEERS ?? 8);
    // Live peers by socket, rebuilt from the attachments after a wake-up.
    this.peers = new Map();
    for (const ws of ctx.getWebSockets()) {
      const peer = ws.deserializeAttachment();
      if (peer) this.peers.set(ws, peer);
    }
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS chat (seq INTEGER PRIMARY KEY AUTOINCREMENT, frame TEXT NOT NULL)");
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    if (typeof message !== "string") return refuse(ws, "bad_message", "text frames only");
    if (message.length > MAX_FRAME_BYTES) {
      refuse(ws, "too_large", "frame too large");
      return ws.close(1009, "too large");
    }
    let frame;
    try {
      frame = JSON.parse(message);
    } catch {
      return refuse(ws, "bad_message", "not JSON");
    }
    const peer = this.peers.get(ws);
    if (frame.type === "join") return peer ? refuse(ws, "bad_message", "already joined") : this.join(ws, frame);
    if (!peer) return refuse(ws, "not_joined", "join first");
    switch (frame.type) {
      case "chat": {
        if (typeof frame.text !== "string" || frame.text.length > MAX_CHAT_CHARS) {
          return refuse(ws, "bad_message", "bad chat text");
        }
        const chat = JSON.stringify({ type: "chat", from: peer.id, nick: peer.nick, text: frame.text, ts: Date.now() });
        this.sql.exec("INSERT INTO chat (frame) VALUES (?)", chat);
        this.sql.exec("DELETE FROM chat WHERE seq <= (SELECT MAX(seq) FROM chat) - ?", HISTORY);
        return this.broadcast(chat);
      }
      case "signal": {
        for (const [other, { id }] of this.peers) {
          if (id === frame.to) return other.send(JSON.stringify({ type: "signal", from: peer.id, data: frame.data }));
        }
        return refuse(ws, "unknown_peer", "no such peer");
      }
      case "leave":
        this.leave(ws);
        return ws.close(1000, "bye");
      default:
        return refuse(ws, "bad_message", "unknown type");
    }
  }

  join(ws, { nick }) {
    if (typeof nick !== "string" || !(nick = nick.trim()) || nick.length > MAX_NICK_CHARS) {
      return refuse(ws, "bad_nick", "bad nickname");
    }
    if (this.peers.size >= this.maxPeers) {
      refuse(ws, "room_full", "room full");
      return ws.close(4001, "room full");
    }
    const peer = { id: crypto.randomUUID().slice(0, 8), nick, muted: false, camera: true, screen: false, joinedAt: Date.now() };
    ws.serializeAttachment(peer);
    const count = this.peers.size + 1;
    ws.send(
      JSON.stringify({
        type: "welcome",
        you: peer,
        peers: [...this.peers.values()],
        count,
        history: this.sql.exec("SELECT frame FROM chat ORDER BY seq").toArray().map(({ frame }) => JSON.parse(frame)),
      }),
    );
    this.broadcast(JSON.stringify({ type: "peer_joined", peer, count }));
    this.peers.set(ws, peer);
  }

  leave(ws) {
    const peer = this.peers.get(ws);
    if (!peer) return;
    this.peers.delete(ws);
    if (!this.peers.size) this.sql.exec("DELETE FROM chat");
    this.broadcast(JSON.stringify({ type: "peer_left", id: peer.id, nick: peer.nick, count: this.peers.size }));
  }

  broadcast(text) {
    for (const ws of this.peers.keys()) {
      try {
        ws.send(text);
      } catch {
        // A socket that is closing: its close event removes it.
      }
    }
  }

  webSocketClose(ws, code) {
    this.leave(ws);
    ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, "bye");
  }

  webSocketError(ws) {
    this.leave(ws);
  }
}

function refuse(ws, code, message) {
  ws.send(JSON.stringify({ type: "error", code, message }));
}

// The floor: the least a relay Durable Object can do in this runtime (workerd). It never parses
// a frame: a `join` (recognised by its first bytes) gets a minimal `welcome`, and every other
// frame goes verbatim to every socket of the room, the sender included, as Room's chat does.
// No history, no attachments, no limits: what Room does beyond this is what Room costs.
import { DurableObject } from "cloudflare:workers";

const JOIN = '{"type":"join"';

export default {
  fetch(request, env) {
    const match = /^\/ws\/rooms\/([^/]{1,64})$/.exec(new URL(request.url).pathname);
    if (!match) return new Response("not found", { status: 404 });
    return env.ROOMS.getByName(decodeURIComponent(match[1])).fetch(request);
  },
};

export class Room extends DurableObject {
  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    if (typeof message === "string" && message.startsWith(JOIN)) {
      ws.send(`{"type":"welcome","you":{"id":"${crypto.randomUUID()}"}}`);
      return;
    }
    for (const socket of this.ctx.getWebSockets()) socket.send(message);
  }

  webSocketClose(ws, code) {
    ws.close(code === 1005 ? 1000 : code, "");
  }
}

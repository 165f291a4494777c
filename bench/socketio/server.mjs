// Baseline: the classic "Zoom clone" signaling server on Node and socket.io. A client joins a
// socket.io room with a nickname; chat is relayed to the whole room (sender included, as
// `io.to(room).emit`); offer/answer/ice are relayed to the rest of the room; everyone is told
// when a peer joins or leaves. Prints the port it listens on (a free one) as its first line.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";

const http = createServer();
const io = new Server(http, { transports: ["websocket"], serveClient: false });

io.on("connection", (socket) => {
  let room = null;
  let me = null;

  socket.on("join", ({ room: name, nick }) => {
    if (room || typeof name !== "string" || typeof nick !== "string") return;
    room = name;
    me = { id: randomUUID().slice(0, 8), nick, joinedAt: Date.now() };
    socket.data.peer = me;
    const peers = [...(io.sockets.adapter.rooms.get(room) ?? [])].map((id) => io.sockets.sockets.get(id).data.peer);
    socket.join(room);
    socket.emit("welcome", { you: me, peers, count: peers.length + 1 });
    socket.to(room).emit("peer_joined", { peer: me, count: peers.length + 1 });
  });

  socket.on("chat", (text) => {
    if (!room || typeof text !== "string") return;
    io.to(room).emit("chat", { from: me.id, nick: me.nick, text, ts: Date.now() });
  });

  for (const kind of ["offer", "answer", "ice"]) {
    socket.on(kind, (data) => room && socket.to(room).emit(kind, { from: me.id, data }));
  }

  socket.on("disconnect", () => {
    if (!room) return;
    const count = io.sockets.adapter.rooms.get(room)?.size ?? 0;
    io.to(room).emit("peer_left", { id: me.id, nick: me.nick, count });
  });
});

http.listen(0, "127.0.0.1", () => console.log(http.address().port));

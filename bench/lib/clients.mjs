// Load-generator clients over real websockets: `ws` speaking the Room protocol (Room and the
// JavaScript Durable Object) and socket.io-client for the socket.io baseline, behind one shape:
//   await joinRoom(target, room, nick, peer, onChat)   // resolves on `welcome`
//   peer.chat(text); peer.close();
// where `peer` is the caller's object (set up before any frame can arrive), given methods here.
// Benchmark chat texts are "b:<sender>:<seq>:<sent at, ms>"; `onChat(peer, sender, seq, sentAt)`
// is called for each one received.
import WebSocket from "ws";
import { io } from "socket.io-client";
import { within } from "../../tests/support/wait.mjs";
import { randomAddress } from "../../tests/support/client.mjs";

const BENCH_TEXT = /^b:(\d+):(\d+):([\d.]+)$/;
const JOIN_TIMEOUT_MS = 20_000;

export function benchText(sender, seq) {
  return `b:${sender}:${seq}:${performance.now().toFixed(3)}`;
}

export function joinRoom(target, room, nick, peer, onChat) {
  const join = target.kind === "socket.io" ? joinSocketIo : joinWs;
  return within(JOIN_TIMEOUT_MS, `join ${room}`, join(target, room, nick, peer, onChat));
}

function joinWs(target, room, nick, peer, onChat) {
  const started = performance.now();
  // Each client on its own network, so Room's per-network limits count them apart.
  const headers = { "CF-Connecting-IP": randomAddress() };
  const ws = new WebSocket(target.roomUrl(room), { perMessageDeflate: false, headers });
  peer.chat = (text) => ws.send(JSON.stringify({ type: "chat", text }));
  peer.close = () => ws.terminate();
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("close", (code) => {
      peer.closedWith = code;
      reject(new Error(`closed (${code}) before welcome`));
    });
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("open", () => ws.send(JSON.stringify({ type: "join", nick })));
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === "chat") {
        const chat = BENCH_TEXT.exec(frame.text);
        if (chat) onChat(peer, Number(chat[1]), Number(chat[2]), Number(chat[3]));
      } else if (frame.type === "welcome") {
        peer.joinMs = performance.now() - started;
        peer.id = frame.you.id;
        resolve(peer);
      } else if (frame.type === "error") {
        reject(new Error(`error frame: ${JSON.stringify(frame)}`));
      }
    });
  });
}

function joinSocketIo(target, room, nick, peer, onChat) {
  const started = performance.now();
  const socket = io(target.url, { transports: ["websocket"], forceNew: true, reconnection: false });
  peer.chat = (text) => socket.emit("chat", text);
  peer.close = () => socket.disconnect();
  socket.on("chat", ({ text }) => {
    const chat = BENCH_TEXT.exec(text);
    if (chat) onChat(peer, Number(chat[1]), Number(chat[2]), Number(chat[3]));
  });
  return new Promise((resolve, reject) => {
    socket.once("connect_error", reject);
    socket.on("disconnect", (reason) => (peer.closedWith = reason));
    socket.once("connect", () => socket.emit("join", { room, nick }));
    socket.once("welcome", ({ you }) => {
      peer.joinMs = performance.now() - started;
      peer.id = you.id;
      resolve(peer);
    });
  });
}

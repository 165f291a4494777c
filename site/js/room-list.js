// The live list of public rooms from /ws/lobby: the server sends the whole list on connect
// and again after every change. If the socket drops, it reconnects (socket.js).
import { ReconnectingSocket } from "./socket.js";

/**
 * @param {(rooms: {name: string, count: number, locked: boolean}[]) => void} onRooms
 * @param {(state: "connecting" | "live" | "reconnecting") => void} onState
 * @returns {() => void} stops watching
 */
export function watchRooms(onRooms, onState) {
  const socket = new ReconnectingSocket("/ws/lobby");
  socket.addEventListener("status", ({ detail: { state } }) => {
    // Each attempt after a drop is still "reconnecting" until a list arrives.
    onState(state === "connecting" && socket.retrying ? "reconnecting" : state);
  });
  socket.addEventListener("frame", ({ detail: frame }) => {
    if (frame.type !== "rooms" || !Array.isArray(frame.rooms)) return;
    socket.settled();
    onState("live");
    onRooms(frame.rooms);
  });
  socket.start();
  return () => socket.stop();
}

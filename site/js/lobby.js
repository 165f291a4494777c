// The live list of public rooms from /ws/lobby: the server sends the whole list on connect
// and again after every change. If the socket drops, reconnect with backoff.
import { backoffMs, wsUrl } from "./dom.js";

/**
 * @param {(rooms: {name: string, count: number}[]) => void} onRooms
 * @param {(state: "connecting" | "live" | "reconnecting") => void} onState
 * @returns {() => void} stops watching
 */
export function watchRooms(onRooms, onState) {
  let ws = null;
  let attempt = 0;
  let timer = 0;
  let stopped = false;

  function connect() {
    onState(attempt ? "reconnecting" : "connecting");
    ws = new WebSocket(wsUrl("/ws/lobby"));
    ws.onmessage = ({ data }) => {
      let frame;
      try {
        frame = JSON.parse(data);
      } catch {
        return;
      }
      if (frame.type !== "rooms" || !Array.isArray(frame.rooms)) return;
      attempt = 0;
      onState("live");
      onRooms(frame.rooms);
    };
    ws.onclose = () => {
      if (stopped) return;
      onState("reconnecting");
      timer = setTimeout(connect, backoffMs(attempt++));
    };
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    ws?.close(1000);
  };
}

// Ports on this machine for the servers the tests start (a worker on a fixed port, coturn,
// WebKitWebDriver). One copy, for the tests and the benchmarks.
import { createServer } from "node:net";
import { createSocket } from "node:dgram";

/**
 * A port free on 127.0.0.1 for TCP (and for UDP too with `udp`, as TURN listens on both).
 * Free when asked: a server started right after takes it.
 */
export async function freePort({ udp = false } = {}) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer();
    await new Promise((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
    const { port } = server.address();
    const free = !udp || (await udpFree(port));
    await new Promise((resolve) => server.close(resolve));
    if (free) return port;
  }
  throw new Error("no port free for both TCP and UDP");
}

async function udpFree(port) {
  const socket = createSocket("udp4");
  const free = await new Promise((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => resolve(true));
  });
  socket.close();
  return free;
}

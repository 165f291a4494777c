// Ports on this machine for the servers the tests start (a worker, the dev server, coturn,
// WebKitWebDriver). One copy, for the tests and the benchmarks.
import { createServer } from "node:net";
import { createSocket } from "node:dgram";

/**
 * A port free on `host` for TCP (and for UDP too with `udp`, as TURN listens on both).
 * Free when asked: a server started right after takes it.
 */
export async function freePort({ udp = false, host = "127.0.0.1" } = {}) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer();
    await new Promise((resolve, reject) => server.once("error", reject).listen(0, host, resolve));
    const { port } = server.address();
    const free = !udp || (await udpFree(port, host));
    await new Promise((resolve) => server.close(resolve));
    if (free) return port;
  }
  throw new Error("no port free for both TCP and UDP");
}

async function udpFree(port, host) {
  const socket = createSocket("udp4");
  const free = await new Promise((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, host, () => resolve(true));
  });
  socket.close();
  return free;
}

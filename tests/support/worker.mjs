// Starts the real built worker (build/index.js + wasm) in Miniflare, configured from
// wrangler.toml exactly as `wrangler dev` would be, on a free port (of loopback, by default).
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { Client } from "./client.mjs";
import { freePort } from "./net.mjs";
import { lobbyObjects } from "./lobby.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The room's own budget of new sockets, lifted along with the rate-limiting bindings. */
export const LIFTED_ROOM_VARS = { ROOM_SOCKET_RATE_BURST: "100000", ROOM_SOCKET_RATE_PER_MIN: "1000000" };
const SCRIPT_NAME = "room";

/**
 * @param {object} [options]
 * @param {Record<string,string>} [options.vars] overrides of wrangler.toml [vars] and secrets
 * @param {string} [options.host] the address to listen on (a test network's "public" one)
 * @param {number} [options.port] a fixed port (0: any free one)
 * @param {string} [options.persistTo] keep Durable Object storage here, in `do/` (default:
 *   a temporary directory)
 * @param {number} [options.inspectorPort] open V8's inspector here (bench/profile.mjs)
 * @param {boolean} [options.liftLimits] lift the limits per network (wrangler.toml
 *   `[[ratelimits]]`) and the room's own budget of new sockets: for browsers, which all come
 *   from 127.0.0.1
 * @param {string} [options.site] serve the site from this directory instead of `site/` (another
 *   revision's web client, for bench/call-setup.mjs's comparisons)
 * @param {object[]} [options.extraWorkers] more workers beside Room's, in Miniflare 4's shape
 *   (bench/lib/lobby.mjs drives the lobby's objects from one inside workerd)
 */
export async function startWorker({ vars = {}, host = "127.0.0.1", port = 0, persistTo, inspectorPort, liftLimits = false, site, extraWorkers = [] } = {}) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
  if (site) workerOptions.assets.directory = site;
  // On any address but loopback Miniflare listens on `port` there and on a port of its own on
  // loopback, whose URL is the one it reports: the other port must be known beforehand.
  const loopback = host === "127.0.0.1";
  if (!loopback && port === 0) port = await freePort({ host });
  if (liftLimits) {
    for (const limit of Object.values(workerOptions.ratelimits ?? {})) limit.simple.limit = 1e9;
    vars = { ...LIFTED_ROOM_VARS, ...vars };
  }
  // Wrangler hands out worker options in Miniflare 4's shape; Miniflare 5 converts them itself.
  // Miniflare 5 takes the modules as a list, not as rules.
  const { modulesRules: _rules, ...options } = workerOptions;
  const room = {
    ...options,
    name: SCRIPT_NAME,
    rootPath: ROOT,
    modules: [
      { type: "ESModule", path: path.join(ROOT, "build/index.js") },
      { type: "CompiledWasm", path: path.join(ROOT, "build/index_bg.wasm") },
    ],
    bindings: { ...workerOptions.bindings, ...vars },
  };
  const shared = {
    host,
    port,
    // Durable Object storage lands in `<persistTo>/do/<script>-<class>/`.
    resourcePersistencePath: persistTo,
    inspectorPort,
  };
  // Room's worker comes first: it is the one that answers on `port`.
  const mf = new Miniflare(
    convertV4MiniflareOptions(extraWorkers.length ? { ...shared, workers: [room, ...extraWorkers] } : { ...room, ...shared }),
  );
  const url = await mf.ready;
  const layout = { shards: Number(room.bindings.LOBBY_SHARDS), fanouts: Number(room.bindings.LOBBY_FANOUT) };
  const base = loopback ? url.href.replace(/\/$/, "") : `http://${host}:${port}`;
  const wsUrl = base.replace(/^http/, "ws");
  return {
    mf,
    url: base,
    wsUrl,
    /** Forces a hibernation eviction of one room, sockets kept open (no 10 s wait). */
    evictRoom: (name) => evict("Room", name),
    /**
     * Forces a hibernation eviction of every lobby object (each shard, the hub, each fan-out
     * object: `LOBBY_SHARDS` and `LOBBY_FANOUT` as configured), sockets kept open.
     */
    evictLobby: () => Promise.all(lobbyObjects(layout).map(([className, name]) => evict(className, name))),
    /** Forces a hibernation eviction of one object of `className` (Room, Lobby, LobbyHub, LobbyFanout). */
    evict,
    /**
     * Connects to `room` and joins as `nick` (`extra`: more join fields; `headers`: for the
     * upgrade); resolves with the client, its welcome and its id.
     */
    async join(room, nick, extra = {}, headers) {
      const client = await Client.connect(`${wsUrl}/ws/rooms/${encodeURIComponent(room)}`, { headers });
      client.send({ type: "join", nick, ...extra });
      const welcome = await client.next("welcome");
      return { client, welcome, id: welcome.you.id };
    },
    stop: () => mf.dispose(),
  };

  function evict(className, name) {
    return mf.unsafeEvictDurableObject(SCRIPT_NAME, className, { name, webSockets: "hibernate" });
  }
}

let roomSeq = 0;
/** A room name no other test (or test file) uses. */
export const uniqueRoom = (label = "room") => `${label}-${process.pid}-${++roomSeq}`;

// The lobby bench's report driver, a worker beside Room's in the same workerd: it takes a batch
// of reports over HTTP and sends each to its lobby shard through a Durable Object binding, as a
// room would (src/lobby: POST https://lobby/report). So the load generator pays one HTTP
// request per batch and the lobby sees the same requests as from rooms.
import { shardOf, shardName } from "../../tests/support/lobby.mjs";

export default {
  /** `POST {shards, reports: [{name, count, private, locked}]}` → `{answered, failed}`. */
  async fetch(request, env) {
    const { shards, reports } = await request.json();
    const statuses = await Promise.all(
      reports.map(async (report) => {
        try {
          const stub = env.LOBBY.get(env.LOBBY.idFromName(shardName(shardOf(report.name, shards))));
          const res = await stub.fetch("https://lobby/report", { method: "POST", body: JSON.stringify(report) });
          await res.arrayBuffer();
          return res.status;
        } catch {
          return 0;
        }
      }),
    );
    const answered = statuses.filter((status) => status === 204).length;
    return Response.json({ answered, failed: statuses.length - answered });
  },
};

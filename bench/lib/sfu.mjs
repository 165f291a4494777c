// The SFU workload: one room of 32 members on the SFU, without media. Members join one after
// another (the fifth moves the room to the SFU); then each opens its session and publishes a
// microphone and a camera track, as a page does. The SFU is the tests' stand-in (tests/support/sfu), in its own process, so that
// what is measured in workerd is the Worker and the Room's work: joins, `sfu` calls relayed to
// the API with the secret, answers applied to the member's record and `tracks` frames to
// everyone else.
//
// Figures: join latency (upgrade to `welcome`) of the members that joined a room already on the
// SFU; the Room isolate's CPU per track published (the `publish` call through the room, the
// record, and the `tracks` frame to up to 31 others); the API calls the room made per member.
import { startWorker, uniqueRoom } from "../../tests/support/worker.mjs";
import { startSfu } from "../../tests/support/sfu/index.mjs";
import { SfuMember, realtimeVars } from "../../tests/support/sfu-member.mjs";
import { childrenNamed, cpuSeconds } from "./proc.mjs";
import { summary } from "./workloads.mjs";

const KINDS = ["mic", "camera"];

export async function sfuRoom({ members = 32 } = {}) {
  const sfu = await startSfu();
  const before = new Set(childrenNamed("workerd"));
  let worker;
  const people = [];
  try {
    worker = await startWorker({ vars: realtimeVars(sfu, { MAX_PEERS_SFU: String(members) }), liftLimits: true });
    const pids = childrenNamed("workerd").filter((pid) => !before.has(pid));
    const room = uniqueRoom("bench-sfu");
    const sfuJoins = [];
    for (let i = 0; i < members; i++) {
      const started = performance.now();
      const joined = await worker.join(room, `member ${i}`);
      if (joined.welcome.media === "sfu") sfuJoins.push(performance.now() - started);
      people.push(new SfuMember(joined));
    }
    // Then everyone publishes, one after another, as a block: /proc counts CPU in 10 ms ticks,
    // too coarse for one call at a time.
    for (const member of people) await member.session();
    const cpu0 = cpuSeconds(pids);
    // No packets: the figures are signaling's.
    for (const member of people) await member.publish(KINDS, { media: false });
    const publishCpuSeconds = cpuSeconds(pids) - cpu0;
    const calls = await sfu.calls();
    return {
      members,
      join: summary(sfuJoins),
      tracksPublished: members * KINDS.length,
      cpuMicrosPerTrack: (publishCpuSeconds * 1e6) / (members * KINDS.length),
      apiCallsPerMember: calls.length / members,
    };
  } finally {
    await Promise.allSettled(people.map((member) => member.close()));
    await worker?.stop();
    await sfu.stop();
  }
}

// Brings a phase up with the Docker runtime (offline images) and holds it until killed: the
// "crashed harness" of reap.int.test.ts. Prints `UP <runId>` once every service is ready. With
// `detach`, detaches instead (as `bench up`) and must then exit by itself, containers left running.
//   node --import tsx harness/runtime/docker/testing/hold-run.ts <runId> <runDir> <phase> [detach]
import { plan } from '../../../topology/plan.ts';
import { phases } from '../../../../targets/phases/index.ts';
import { createDockerRuntime } from '../docker.ts';

const [runId, runDir, phase = '2', mode = 'hold'] = process.argv.slice(2);
if (!runId || !runDir) throw new Error('usage: hold-run.ts <runId> <runDir> [phase]');
const def = phases.get(Number(phase))!;
// the slot only names native loopback addresses: containers do not use it
const p = plan(def.topology({ users: 100, shardStrategy: 'range', ...def.defaults }), { runId, slot: 250, proxies: true, prometheus: false });
const deployment = await createDockerRuntime({ images: 'local', graceMs: 1_000 }).up(p, { runDir, progress: (l) => console.log(l) });
console.log(`UP ${deployment.plan.runId}`);
if (mode === 'detach') {
  // nothing may hold the event loop after this: no log stream, no exit watcher
  await deployment.detach!();
} else {
  // held until SIGKILL: the containers outlive this process, as after a crash
  setInterval(() => {}, 60_000);
}

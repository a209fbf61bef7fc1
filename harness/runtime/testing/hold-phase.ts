// A harness that brings a phase up and then waits forever: the reaper test SIGKILLs it.
//   node --import tsx hold-phase.ts <phase> <slot> <stateRoot> <runDir>
// Prints one JSON line {runId} on stdout once every service is ready.
import { createNativeRuntime } from '../native.ts';
import { plan } from '../../topology/plan.ts';
import { phases } from '../../../targets/phases/index.ts';

const [phaseArg, slotArg, root, runDir] = process.argv.slice(2);
const phase = phases.get(Number(phaseArg))!;
const runId = `hold-${process.pid}`;
const p = plan(phase.topology({ users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' }), {
  runId,
  slot: Number(slotArg),
  proxies: true,
  prometheus: false,
});
await createNativeRuntime({ stateRoot: root }).up(p, { runDir: runDir!, progress: (l) => process.stderr.write(`${l}\n`) });
process.stdout.write(JSON.stringify({ runId }) + '\n');
setInterval(() => {}, 60_000);

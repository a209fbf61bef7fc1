// Prints how long each service takes to start under the native runtime (prepare, then ready),
// for phase 1, phase 2 and a primary + replica pair, with Toxiproxy and host cgroups.
//   node bin/run-ts.js harness/runtime/testing/measure-startup.ts
import { join } from 'node:path';
import { createNativeRuntime } from '../native.ts';
import { plan } from '../../topology/plan.ts';
import type { Topology } from '../../topology/types.ts';
import { phase1 } from '../../../targets/phases/phase-1.ts';
import { phase2 } from '../../../targets/phases/phase-2.ts';
import { testRoot } from './run-helpers.ts';

const options = { users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const };
const replicaPair: Topology = {
  phase: 0,
  title: 'primary + replica',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [
    { name: 'db-1', size: { cpus: 0.5, memoryMb: 1024 }, region: 'local' },
    { name: 'db-2', size: { cpus: 0.5, memoryMb: 1024 }, region: 'local' },
    { name: 'cache', size: { cpus: 0.25, memoryMb: 256 }, region: 'local' },
  ],
  services: [
    { name: 'pg-primary', kind: 'postgres', host: 'db-1', role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } },
    { name: 'pg-replica', kind: 'postgres', host: 'db-2', role: 'replica', dependsOn: ['pg-primary'], config: { kind: 'postgres', postgres: { role: 'replica', primary: 'pg-primary' } } },
    { name: 'redis', kind: 'redis', host: 'cache', role: 'cache', dependsOn: [], config: { kind: 'redis' } },
  ],
  entry: 'pg-primary',
};

for (const [name, topology] of [['phase 1', phase1.topology(options)], ['phase 2', phase2.topology(options)], ['replica pair', replicaPair]] as const) {
  const t = await testRoot('measure');
  const p = plan(topology, { runId: `measure-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
  const t0 = performance.now();
  const dep = await createNativeRuntime({ stateRoot: t.root }).up(p, {
    runDir: join(t.root, 'run'),
    progress: (l) => {
      if (/ready in|not enforced/.test(l)) console.log(`  ${l.replace(/ \(pid.*$/, '')}`);
    },
  });
  const up = performance.now() - t0;
  const t1 = performance.now();
  await dep.down();
  console.log(`${name}: up ${(up / 1000).toFixed(2)} s, down ${((performance.now() - t1) / 1000).toFixed(2)} s\n`);
  await t.dispose();
}

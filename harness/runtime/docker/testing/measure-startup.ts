// Prints how long the Docker runtime takes to bring phases 1, 2 and 3 up and down, offline images
// (first run of a machine: the base image import is included once), and each service's ready time.
//   scripts/dockerd.sh start && node --import tsx harness/runtime/docker/testing/measure-startup.ts
import { join } from 'node:path';
import { seedUsers } from '../../../run/seed.ts';
import { plan } from '../../../topology/plan.ts';
import { phases } from '../../../../targets/phases/index.ts';
import { testRoot } from '../../testing/run-helpers.ts';
import { createDockerRuntime } from '../docker.ts';

const cases = [
  { phase: 1, options: {}, prometheus: false },
  { phase: 2, options: {}, prometheus: false },
  { phase: 2, options: {}, prometheus: true },
  { phase: 3, options: { appServers: 2, replicas: 1 }, prometheus: true },
];

for (const c of cases) {
  const def = phases.get(c.phase)!;
  const t = await testRoot('dkmeasure');
  const p = plan(def.topology({ users: 1000, shardStrategy: 'range', ...def.defaults, ...c.options }), { runId: `dkmeasure-${process.pid}`, slot: t.slot, proxies: true, prometheus: c.prometheus });
  const lines: string[] = [];
  const t0 = performance.now();
  const d = await createDockerRuntime({ images: 'local', stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: (l) => lines.push(l) });
  const up = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await seedUsers(d, 1000, 7, () => {});
  const seed = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await d.down();
  const down = (performance.now() - t2) / 1000;
  await t.dispose();
  console.log(`phase ${c.phase}${c.prometheus ? ' + prometheus' : ''}: ${p.services.length} containers up in ${up.toFixed(1)} s, seed 1000 users ${seed.toFixed(2)} s, down in ${down.toFixed(1)} s`);
  for (const l of lines) if (/ready in|imported/.test(l)) console.log(`  ${l.replace(/ \(container.*$/, '')}`);
}

// --size HOST=CPU[,MEM] on every run, drill and capacity search: parsed with the run's flags,
// applied to the phase's topology before planning, so the plan's (and results') host sizes and
// the quotas the runtime sets are the overridden ones.
import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../run/config.ts';
import { topologyFor } from '../run/lifecycle.ts';
import { plan } from '../topology/plan.ts';
import { BenchError } from '../errors.ts';

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BenchError);
    expect((e as BenchError).message).not.toContain('\n');
    return (e as BenchError).message;
  }
  throw new Error('expected a usage error');
};

describe('--size', () => {
  it('overrides a host\'s CPU (and memory when given) and keeps every other host as the phase has it', () => {
    const config = resolveRunConfig({ phase: '2', size: ['db-host=1,2g', 'app-host=0.4'] });
    const topology = topologyFor(config);
    const size = (name: string) => topology.hosts.find((h) => h.name === name)!.size;
    expect(size('db-host')).toEqual({ cpus: 1, memoryMb: 2048 });
    expect(size('app-host')).toEqual({ cpus: 0.4, memoryMb: 512 }); // memory: the phase's
    const unchanged = topologyFor(resolveRunConfig({ phase: '2' }));
    expect(unchanged.hosts.find((h) => h.name === 'db-host')!.size).toEqual({ cpus: 0.5, memoryMb: 1024 });
    // the plan (what the runtime enforces and results.json records) carries the override
    const planned = plan(topology, { runId: 'p2-size', slot: 1, proxies: false, prometheus: false });
    expect(planned.hosts.find((h) => h.name === 'db-host')!.size).toEqual({ cpus: 1, memoryMb: 2048 });
  });

  it('a host the phase does not have is a usage error naming the hosts it has', () => {
    const message = usage(() => topologyFor(resolveRunConfig({ phase: '2', size: ['db-host-primary=1'] })));
    expect(message).toMatch(/phase 2 has no host db-host-primary/);
  });

  it('bad sizes are usage errors before anything starts', () => {
    expect(usage(() => resolveRunConfig({ phase: '2', size: ['db-host=1', 'db-host=2'] }))).toMatch(/twice/);
    expect(usage(() => resolveRunConfig({ phase: '2', size: ['db-host=9999'] }))).toMatch(/more than this machine has/);
    expect(usage(() => resolveRunConfig({ phase: '2', size: ['db-host'] }))).toMatch(/HOST=CPU/);
  });
});

// Where a store lives. A topology names its stores (Topology.stores: 'users' now; 'payments',
// 'jobs' later) with their owners and shards; seeding, the write checker, the drills and `bench
// up`'s description ask here instead of reading the first app's config each on their own.
import { join } from 'node:path';
import { BenchError } from '../errors.ts';
import type { DeployPlan } from './plan.ts';
import type { AppStore, StoreSpec, Topology } from './types.ts';
import type { StoreRuntimeConfig } from '../../targets/app/config.ts';
import { SQLITE_FILE } from '../../targets/services/app.ts';

/** The store config an owning app carries, derived from the topology's store. */
export function appStoreOf(s: StoreSpec): AppStore {
  return s.kind === 'sqlite' ? { kind: 'sqlite' } : { kind: 'postgres', strategy: s.strategy, shards: s.shards };
}

/** The store named `name` of a plan (or topology), or null when the phase keeps no such store. */
export function storeOf(p: DeployPlan | Topology, name: string): StoreSpec | null {
  const topology = 'topology' in p ? p.topology : p;
  return topology.stores?.find((s) => s.name === name) ?? null;
}

/**
 * Where store `spec` of a deployed plan is, for the harness to read or write it directly: the
 * database servers by their own address (never through a proxy a drill may cut), a SQLite file
 * in its owner's directory. `dirOf` gives a service's directory (where a
 * SQLite owner keeps its file); `primaries` names a shard's primary after a failover.
 */
export function storeLocation(
  plan: DeployPlan,
  spec: StoreSpec,
  dirOf: (service: string) => string | undefined,
  primaries: ReadonlyMap<string, string> = new Map(),
): StoreRuntimeConfig {
  if (spec.kind === 'sqlite') {
    const owner = spec.owners[0];
    const dir = owner === undefined ? undefined : dirOf(owner);
    if (!dir) throw new BenchError('internal', `cannot find the SQLite file of store ${spec.name}: no directory for its owner ${owner ?? '(none)'}`);
    return { kind: 'sqlite', path: join(dir, SQLITE_FILE) };
  }
  const at = (name: string) => {
    const s = plan.services.find((x) => x.name === name);
    if (!s) throw new BenchError('internal', `store ${spec.name}: no service ${name} in the plan`);
    return { name, host: s.address.host, port: s.address.port };
  };
  return {
    kind: 'postgres',
    strategy: spec.strategy,
    shards: spec.shards.map((sh) => ({ name: sh.name, range: sh.range, primary: at(primaries.get(sh.name) ?? sh.primary), replicas: sh.replicas.map(at) })),
  };
}

// The acknowledged-writes checker, in the manner of Jepsen's set checker: every write the system
// acknowledged must be there afterwards. The core is pure (checkWrites); readWriteState() reads
// what the system holds from the primaries.
//
// The unit is a user id. For an id written several times, the last acknowledged value must be
// present, with two allowances: writes acknowledged within `concurrencyS` of each other may have
// committed in either order (any of them counts), and a value no acknowledged write carried means
// a write that timed out may have committed after the last acknowledged one: "indeterminate", not
// lost. An id absent, holding an older acknowledged value, or holding its initial (seeded) value
// is lost.
import { join } from 'node:path';
import type { AcknowledgedWrite } from '../harness/load/types.ts';
import { BenchError } from '../harness/errors.ts';
import type { Deployment } from '../harness/runtime/types.ts';
import type { DeployPlan } from '../harness/topology/plan.ts';
import type { StoreRuntimeConfig } from '../targets/app/config.ts';
import { readBackUsers, seededUser } from '../targets/app/seed.ts';
import { SQLITE_FILE } from '../targets/services/app.ts';

/** The checker's report; the first five fields are results.json's WriteCheck. */
export interface WriteCheck {
  /** ids with at least one acknowledged write */
  acknowledged: number;
  /** ids whose final acknowledged value (or a concurrent one) is present */
  present: number;
  /** ids whose acknowledged write is gone */
  lost: number;
  /** ids read back that hold a written value no acknowledgement covers (a create that timed out and committed) */
  unacknowledgedPresent: number;
  /** the lost ids, ascending, at most MAX_IDS */
  lostIds: number[];
  /** ids holding a never-acknowledged value after acknowledged ones: a later write may have won */
  indeterminate: number;
  indeterminateIds: number[];
  /** acknowledged writes in all (several per id for updates) */
  writes: number;
}

export interface WriteCheckInput {
  acknowledged: readonly AcknowledgedWrite[];
  /** what the system holds, by id, for every id read back (absent = no such row) */
  present: ReadonlyMap<number, string>;
  /** the value an id had before the run (its seeded name); undefined for ids created by the run */
  initialValue?: (id: number) => string | undefined;
  /** acknowledgements this close (s) may belong to overlapping writes; default 5 (a request timeout) */
  concurrencyS?: number;
}

/** At most this many ids are listed (the counts stay exact). */
export const MAX_IDS = 1000;

/** Checks acknowledged writes against what the system holds. Pure. */
export function checkWrites(input: WriteCheckInput): WriteCheck {
  const concurrencyS = input.concurrencyS ?? 5;
  const byId = new Map<number, AcknowledgedWrite[]>();
  for (const w of input.acknowledged) {
    const list = byId.get(w.id);
    if (list) list.push(w);
    else byId.set(w.id, [w]);
  }
  const lostIds: number[] = [];
  const indeterminateIds: number[] = [];
  let present = 0;
  for (const [id, writes] of byId) {
    writes.sort((a, b) => a.atS - b.atS);
    const last = writes[writes.length - 1]!;
    const value = input.present.get(id);
    if (value === undefined) {
      lostIds.push(id);
      continue;
    }
    const acceptable = writes.filter((w) => w.atS >= last.atS - concurrencyS).map((w) => w.value);
    if (acceptable.includes(value)) {
      present += 1;
    } else if (writes.some((w) => w.value === value) || value === input.initialValue?.(id)) {
      lostIds.push(id); // an older state survived: the later acknowledged write was lost
    } else {
      indeterminateIds.push(id);
    }
  }
  let unacknowledgedPresent = 0;
  for (const [id, value] of input.present) {
    if (byId.has(id)) continue;
    const initial = input.initialValue?.(id);
    if (initial === undefined || initial !== value) unacknowledgedPresent += 1;
  }
  lostIds.sort((a, b) => a - b);
  indeterminateIds.sort((a, b) => a - b);
  return {
    acknowledged: byId.size,
    present,
    lost: lostIds.length,
    unacknowledgedPresent,
    lostIds: lostIds.slice(0, MAX_IDS),
    indeterminate: indeterminateIds.length,
    indeterminateIds: indeterminateIds.slice(0, MAX_IDS),
    writes: input.acknowledged.length,
  };
}

/**
 * The ids to read back: every acknowledged id, and the sign-up range (ids above `users`) up to a
 * margin past the highest acknowledged one, where a create that timed out may still have landed.
 */
export function idsToReadBack(acknowledged: readonly AcknowledgedWrite[], users: number, margin = 1000): number[] {
  const ids = new Set<number>();
  let maxCreated = users;
  for (const w of acknowledged) {
    ids.add(w.id);
    if (w.id > maxCreated) maxCreated = w.id;
  }
  for (let id = users + 1; id <= maxCreated + margin; id++) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

/**
 * Where the system keeps its users now, for reading back: the primaries by their own address
 * (never through a proxy a drill may have cut), with `primaries` overriding a shard's primary
 * after a failover; the monolith's SQLite file in its service directory.
 */
export function readBackStore(plan: DeployPlan, deployment: Deployment, primaries: ReadonlyMap<string, string> = new Map()): StoreRuntimeConfig {
  const app = plan.topology.services.find((s) => s.kind === 'app');
  if (!app || app.config.kind !== 'app') throw new BenchError('internal', `phase ${plan.topology.phase} has no app to read users back from`);
  const store = app.config.app.store;
  if (store.kind === 'sqlite') {
    const dir = (deployment.services.get(app.name) as { dir?: string } | undefined)?.dir;
    if (!dir) throw new BenchError('internal', `cannot find the SQLite file of ${app.name}: the runtime gives no service directory`);
    return { kind: 'sqlite', path: join(dir, SQLITE_FILE) };
  }
  const address = (name: string) => {
    const s = plan.services.find((x) => x.name === name);
    if (!s) throw new BenchError('internal', `no service ${name} in the plan`);
    return { name, host: s.address.host, port: s.address.port };
  };
  return {
    kind: 'postgres',
    strategy: store.strategy,
    shards: store.shards.map((sh) => ({ name: sh.name, range: sh.range, primary: address(primaries.get(sh.name) ?? sh.primary), replicas: [] })),
  };
}

export interface ReadWriteStateOptions {
  plan: DeployPlan;
  deployment: Deployment;
  acknowledged: readonly AcknowledgedWrite[];
  /** seeded users 1..users, with the seed that named them */
  users: number;
  seed: number;
  primaries?: ReadonlyMap<string, string>;
  concurrencyS?: number;
  /** sign-up rows that existed before the load (an earlier run on the same deployment) */
  before?: ReadonlyMap<number, string>;
}

/**
 * The sign-up rows (ids users+1 .. users+count) that exist before a load: an earlier load on the
 * same deployment may have created some, and they are neither this run's nor unacknowledged.
 */
export async function snapshotSignups(plan: DeployPlan, deployment: Deployment, users: number, count: number): Promise<Map<number, string>> {
  const ids = Array.from({ length: count }, (_, i) => users + 1 + i);
  return readBackUsers(readBackStore(plan, deployment), ids);
}

/** Reads every acknowledged id (and the sign-up range) back from the primaries and checks them. */
export async function readWriteState(o: ReadWriteStateOptions): Promise<WriteCheck> {
  const ids = idsToReadBack(o.acknowledged, o.users);
  const present = await readBackUsers(readBackStore(o.plan, o.deployment, o.primaries), ids);
  return checkWrites({
    acknowledged: o.acknowledged,
    present,
    initialValue: (id) => o.before?.get(id) ?? (id >= 1 && id <= o.users ? seededUser(o.seed, id).name : undefined),
    concurrencyS: o.concurrencyS,
  });
}

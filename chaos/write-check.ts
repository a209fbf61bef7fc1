// The acknowledged-writes checker, in the manner of Jepsen's set checker: every write the system
// acknowledged must be there afterwards. The core is pure (checkWrites); readWriteState() reads
// what the system holds from the primaries.
//
// The unit is a user id, a register. Each acknowledged write took effect somewhere in its interval
// [sent, acknowledged]; a write sent with no answer (indeterminate) may have taken effect at any
// time after it was sent. So the final value of an id may be that of any acknowledged write that
// no other acknowledged write of the id strictly follows (no write was sent after it was
// acknowledged), or that of an indeterminate write (undecided: neither kept nor lost). Anything
// else is a lost write: the row absent, an acknowledged value another acknowledged write had
// overwritten, the seeded value, or a value an earlier run left (written values carry the run id,
// so an earlier run with the same seed cannot pass for this one).
import type { AcknowledgedWrite, IndeterminateWrite } from '../harness/load/types.ts';
import { BenchError } from '../harness/errors.ts';
import type { Deployment } from '../harness/runtime/types.ts';
import type { DeployPlan } from '../harness/topology/plan.ts';
import type { StoreRuntimeConfig } from '../targets/app/config.ts';
import { readBackUsers, seededUser } from '../targets/app/seed.ts';
import { storeLocation, storeOf } from '../harness/topology/stores.ts';

/** The checker's report; acknowledged, present, lost, unacknowledgedPresent, lostIds and
 *  indeterminate are results.json's WriteCheck. acknowledged = present + lost + undecided. */
export interface WriteCheck {
  /** ids with at least one acknowledged write */
  acknowledged: number;
  /** ids holding the value of an acknowledged write that may have been the last */
  present: number;
  /** ids whose acknowledged write is gone */
  lost: number;
  /** ids without an acknowledged write holding a value this run wrote (an indeterminate write that took effect) */
  unacknowledgedPresent: number;
  /** the lost ids, ascending, at most MAX_IDS */
  lostIds: number[];
  /** writes sent that got no answer (or a 5xx): whether they took effect is unknown */
  indeterminate: number;
  /** acknowledged ids whose final value is an indeterminate write's: it may have followed the acknowledged ones */
  undecided: number;
  undecidedIds: number[];
  /** acknowledged writes in all (several per id for updates) */
  writes: number;
  /** the earliest acknowledgement (s, load clock) among the lost ids' writes that may have been
   *  final (per id its latest: the state the system had confirmed); null when none was lost. The
   *  RPO's age: the fault's time minus this (rpoAgeMs). */
  oldestLostAckS: number | null;
}

export interface WriteCheckInput {
  acknowledged: readonly AcknowledgedWrite[];
  /** writes sent with no answer; their values are never lost, only undecided */
  indeterminate?: readonly IndeterminateWrite[];
  /** what the system holds, by id, for every id read back (absent = no such row) */
  present: ReadonlyMap<number, string>;
  /** the value an id had before the run (its seeded name); undefined for ids created by the run */
  initialValue?: (id: number) => string | undefined;
}

/** At most this many ids are listed (the counts stay exact). */
export const MAX_IDS = 1000;

/** Checks acknowledged writes against what the system holds. Pure. */
export function checkWrites(input: WriteCheckInput): WriteCheck {
  // Per id: the latest send among its acknowledged writes, then the values that may be final.
  const lastSent = new Map<number, number>();
  for (const w of input.acknowledged) {
    const t = lastSent.get(w.id);
    if (t === undefined || w.sentS > t) lastSent.set(w.id, w.sentS);
  }
  const finals = new Map<number, Set<string>>();
  const finalAckS = new Map<number, number>();
  for (const w of input.acknowledged) {
    // Acknowledged before another write of the id was even sent: that one followed it, for sure.
    if (w.atS < lastSent.get(w.id)!) continue;
    finalAckS.set(w.id, Math.max(finalAckS.get(w.id) ?? -Infinity, w.atS));
    const set = finals.get(w.id);
    if (set) set.add(w.value);
    else finals.set(w.id, new Set([w.value]));
  }
  const unknown = new Map<number, Set<string>>();
  for (const w of input.indeterminate ?? []) {
    const set = unknown.get(w.id);
    if (set) set.add(w.value);
    else unknown.set(w.id, new Set([w.value]));
  }
  const lostIds: number[] = [];
  const undecidedIds: number[] = [];
  let present = 0;
  for (const [id, values] of finals) {
    const value = input.present.get(id);
    if (value !== undefined && values.has(value)) present += 1;
    else if (value !== undefined && unknown.get(id)?.has(value)) undecidedIds.push(id);
    else lostIds.push(id);
  }
  let unacknowledgedPresent = 0;
  for (const [id, value] of input.present) {
    if (finals.has(id)) continue;
    if (unknown.get(id)?.has(value)) unacknowledgedPresent += 1;
    else {
      const initial = input.initialValue?.(id);
      if (initial === undefined || initial !== value) unacknowledgedPresent += 1;
    }
  }
  let oldestLostAckS: number | null = null;
  for (const id of lostIds) oldestLostAckS = Math.min(oldestLostAckS ?? Infinity, finalAckS.get(id)!);
  lostIds.sort((a, b) => a - b);
  undecidedIds.sort((a, b) => a - b);
  return {
    acknowledged: finals.size,
    present,
    lost: lostIds.length,
    unacknowledgedPresent,
    lostIds: lostIds.slice(0, MAX_IDS),
    indeterminate: input.indeterminate?.length ?? 0,
    undecided: undecidedIds.length,
    undecidedIds: undecidedIds.slice(0, MAX_IDS),
    writes: input.acknowledged.length,
    oldestLostAckS,
  };
}

/**
 * RPO of a fault at `faultAtS` (load clock): the acknowledged writes lost, and how old the oldest
 * of them was when the fault struck (ms; null when none was lost: no age, not 0). Negative: every
 * lost write was acknowledged after the fault (lost by the failover, not by the link's lag). Pure.
 */
export function rpoOf(w: Pick<WriteCheck, 'lost' | 'oldestLostAckS'>, faultAtS: number): { rpoLostWrites: number; rpoAgeMs: number | null } {
  return { rpoLostWrites: w.lost, rpoAgeMs: w.oldestLostAckS === null ? null : Math.round((faultAtS - w.oldestLostAckS) * 1000) };
}

/**
 * The ids to read back: every acknowledged id, and the sign-up range (ids above `base`: the load's
 * createdUserId(users, salt, 0)) up to a margin past the highest acknowledged one, where a create
 * that timed out may still have landed.
 */
export function idsToReadBack(acknowledged: readonly { id: number }[], base: number, margin = 1000): number[] {
  const ids = new Set<number>();
  let maxCreated = base;
  for (const w of acknowledged) {
    ids.add(w.id);
    if (w.id > maxCreated) maxCreated = w.id;
  }
  for (let id = base + 1; id <= maxCreated + margin; id++) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

/**
 * Where the system keeps its users now, for reading back: the primaries by their own address
 * (never through a proxy a drill may have cut), with `primaries` overriding a shard's primary
 * after a failover; the monolith's SQLite file in its service directory.
 */
export function readBackStore(plan: DeployPlan, deployment: Deployment, primaries: ReadonlyMap<string, string> = new Map()): StoreRuntimeConfig {
  const store = storeOf(plan, 'users');
  if (!store) throw new BenchError('internal', `phase ${plan.topology.phase} has no users store to read users back from`);
  // the runtime's own service directory: a SQLite file is read where its owner wrote it
  const dirOf = (name: string) => (deployment.services.get(name) as { dir?: string } | undefined)?.dir;
  return storeLocation(plan, store, dirOf, primaries);
}

export interface ReadWriteStateOptions {
  plan: DeployPlan;
  deployment: Deployment;
  acknowledged: readonly AcknowledgedWrite[];
  indeterminate?: readonly IndeterminateWrite[];
  /** seeded users 1..users, with the seed that named them */
  users: number;
  /**
   * the load's sign-up ids start above this (createdUserId(users, salt, 0)); default `users`, the
   * unsalted range. A salted load's range starts at users + salt x 2^28: reading back from `users`
   * up would span billions of ids.
   */
  signupBase?: number;
  seed: number;
  primaries?: ReadonlyMap<string, string>;
  /** sign-up rows that existed before the load (an earlier run on the same deployment) */
  before?: ReadonlyMap<number, string>;
}

/**
 * The sign-up rows (ids base+1 .. base+count, base = createdUserId(users, salt, 0)) that exist before a load: an earlier load on the
 * same deployment may have created some, and they are neither this run's nor unacknowledged.
 */
export async function snapshotSignups(plan: DeployPlan, deployment: Deployment, users: number, count: number): Promise<Map<number, string>> {
  const ids = Array.from({ length: count }, (_, i) => users + 1 + i);
  return readBackUsers(readBackStore(plan, deployment), ids);
}

/** Reads every acknowledged id (and the sign-up range) back from the primaries and checks them. */
export async function readWriteState(o: ReadWriteStateOptions): Promise<WriteCheck> {
  const ids = idsToReadBack([...o.acknowledged, ...(o.indeterminate ?? [])], o.signupBase ?? o.users);
  const present = await readBackUsers(readBackStore(o.plan, o.deployment, o.primaries), ids);
  return checkWrites({
    acknowledged: o.acknowledged,
    indeterminate: o.indeterminate,
    present,
    initialValue: (id) => o.before?.get(id) ?? (id >= 1 && id <= o.users ? seededUser(o.seed, id).name : undefined),
  });
}

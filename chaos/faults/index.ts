// The fault registry: every fault kind, keyed by name. A duplicate name is an error at load time.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { bandwidth } from './bandwidth.ts';
import { edgeDown } from './edge-down.ts';
import { hang } from './hang.ts';
import { hostDown } from './host-down.ts';
import { kill } from './kill.ts';
import { latency } from './latency.ts';
import { limitData } from './limit-data.ts';
import { parseParams, type RawParams } from './params.ts';
import { partition } from './partition.ts';
import { resetPeer } from './reset-peer.ts';
import { slicer } from './slicer.ts';
import { slowClose } from './slow-close.ts';
import { stop } from './stop.ts';
import { timeout } from './timeout.ts';
import type { Fault, FaultKind } from './types.ts';

const all: FaultKind[] = [latency, bandwidth, timeout, resetPeer, slowClose, slicer, limitData, edgeDown, kill, hang, stop, hostDown, partition];

/** Builds a name-keyed registry; throws on a duplicate name. */
export function registry<T extends { name: string }>(what: string, items: readonly T[]): ReadonlyMap<string, T> {
  const map = new Map<string, T>();
  for (const it of items) {
    if (map.has(it.name)) throw new Error(`${what} ${it.name} registered twice`);
    map.set(it.name, it);
  }
  return map;
}

/** Every fault kind by name. */
export const faultKinds: ReadonlyMap<string, FaultKind> = registry('fault', all);

/** The fault kind called `name`, or BenchError('usage') listing them all. */
export function faultKind(name: string): FaultKind {
  const k = faultKinds.get(name);
  if (!k) throw new BenchError('usage', `unknown fault ${name}`, `faults: ${[...faultKinds.keys()].join(', ')}`);
  return k;
}

/** Validates and binds a fault: `makeFault('latency', 'app->pg-primary', { latency: '200ms' }, plan)`. */
export function makeFault(name: string, target: string | undefined, params: RawParams, plan: DeployPlan): Fault {
  const kind = faultKind(name);
  return kind.create(target, parseParams(name, kind.params, params), plan);
}

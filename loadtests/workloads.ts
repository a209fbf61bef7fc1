// The workloads: mixes over the request catalogue (catalogue.ts), and the Zipf exponent of the ids
// they draw. Pure data, so both the embedded engine (harness/load) and the k6 scripts
// (loadtests/*.k6.ts) read the same definitions and generate the same traffic.
import { catalogue, staticAssets, type Catalogue } from './catalogue.ts';

/**
 * A request type's name: an entry of the catalogue (catalogue.ts). Not a closed union: a new entry
 * is a new kind, and nothing that switches on kinds needs to learn it.
 */
export type RequestKind = string;

export interface Workload {
  name: string;
  description: string;
  /** relative weights over catalogue entries (absent = 0); they need not sum to 1 */
  mix: Readonly<Record<RequestKind, number>>;
  /** Zipf exponent of the seeded ids drawn (0 = uniform; ~1 = a few hot users) */
  zipfS: number;
}

export { staticAssets };

// A null prototype: every lookup by a user's name (`workloads[flag]`) finds only the workloads
// themselves, never Object.prototype's members (`--workload __proto__` or `constructor` would
// otherwise pass as a workload and fail deep inside the run).
export const workloads: Record<string, Workload> = Object.assign(Object.create(null) as Record<string, Workload>, {
  mixed: {
    name: 'mixed',
    description: 'the users API: mostly profile reads, some updates, sign-ups, logins and static assets',
    mix: { read: 70, update: 8, create: 4, login: 6, static: 12, pay: 0, video: 0, poll: 0 },
    zipfS: 0.99,
  },
  'read-heavy': {
    name: 'read-heavy',
    description: 'profile reads over hot users: what a cache is for',
    mix: { read: 95, update: 3, create: 0, login: 0, static: 2, pay: 0, video: 0, poll: 0 },
    zipfS: 1.1,
  },
  'write-heavy': {
    name: 'write-heavy',
    description: 'sign-ups and updates spread over every shard: what sharding is for',
    mix: { read: 30, update: 40, create: 30, login: 0, static: 0, pay: 0, video: 0, poll: 0 },
    zipfS: 0.5,
  },
  microservices: {
    name: 'microservices',
    description: 'phase 6: user reads and updates beside payments, uploads (202, then a worker does the heavy part) and uploads whose job is polled at once',
    mix: { read: 60, update: 5, create: 0, login: 0, static: 0, pay: 15, video: 15, poll: 5 },
    zipfS: 0.99,
  },
  static: {
    name: 'static',
    description: 'static assets only: what a CDN edge is for',
    mix: { read: 0, update: 0, create: 0, login: 0, static: 100, pay: 0, video: 0, poll: 0 },
    zipfS: 0,
  },
});

/** The workload called `name` (own names only), or undefined. */
export function workloadNamed(name: string): Workload | undefined {
  return Object.prototype.hasOwnProperty.call(workloads, name) ? workloads[name] : undefined;
}

export const DEFAULT_WORKLOAD = 'mixed';

/**
 * A workload's weights in the catalogue's order (the order a seed draws in, for both drivers);
 * throws one line when the mix names a type the catalogue lacks or weighs nothing.
 */
export function mixWeights(workload: Workload, cat: Catalogue = catalogue): Record<RequestKind, number> {
  for (const k of Object.keys(workload.mix)) {
    if (cat.get(k) === undefined) throw new Error(`workload ${workload.name} weighs ${k}, which the request catalogue does not define`);
  }
  const weights: Record<RequestKind, number> = {};
  for (const e of cat.entries) weights[e.name] = workload.mix[e.name] ?? 0;
  return weights;
}

/** The catalogue entries a workload sends (weight > 0), in catalogue order. */
export function typesIn(workload: Workload, cat: Catalogue = catalogue): RequestKind[] {
  const w = mixWeights(workload, cat);
  return cat.entries.map((e) => e.name).filter((k) => w[k] > 0);
}

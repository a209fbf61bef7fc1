// What one iteration sends: the request kind, the user id, the names written, the asset fetched.
// Pure (no k6 imports), so the harness can test it under Node and a driver can predict traffic.
import { staticAssets, type RequestKind, type Workload } from '../workloads.ts';
import { weightedPicker, zipfSampler } from '../../harness/load/random.ts';
import { iterationRandom } from './random.ts';
import { createdUserId } from './identity.ts';

/** The request kinds in the order weights are read; fixed so a seed means the same thing everywhere. */
export const REQUEST_KINDS: readonly RequestKind[] = ['read', 'update', 'create', 'login', 'static'];

/** One iteration's request(s), fully decided before anything is sent. */
export type PlannedRequest =
  | { kind: 'read'; id: number }
  | { kind: 'update'; id: number; name: string }
  | { kind: 'create'; id: number; name: string; email: string }
  | { kind: 'login'; id: number }
  | { kind: 'static'; asset: string };

/** Decides iterations for one workload over `users` seeded ids; build it once per VU. */
export interface IterationPlanner {
  /** `salt`: the load's sign-up salt (lib/identity.ts); only created ids depend on it */
  plan(iteration: number, salt?: number): PlannedRequest;
  /** kinds with a non-zero weight: the only ones this workload sends */
  readonly kinds: readonly RequestKind[];
}

/** Builds the planner: the n-th iteration of a run always plans the same request for the same seed. */
export function iterationPlanner(workload: Workload, users: number, seed: number): IterationPlanner {
  if (!(Number.isInteger(users) && users >= 1)) throw new Error(`users must be an integer >= 1, got ${users}`);
  // a fixed key order, not the workload literal's, so a seed picks the same kinds for any workload
  const weights = {} as Record<RequestKind, number>;
  for (const k of REQUEST_KINDS) weights[k] = workload.mix[k];
  const picker = weightedPicker(weights);
  const kinds = REQUEST_KINDS.filter((k) => weights[k] > 0);
  // ids are Zipf ranks as drawn, as the engine does: user 1 is the hottest
  const sampler = zipfSampler(users, workload.zipfS);
  return {
    kinds,
    plan(iteration: number, salt = 0): PlannedRequest {
      const rng = iterationRandom(seed, iteration);
      const kind = picker.pick(rng);
      switch (kind) {
        case 'read':
          return { kind, id: sampler.sample(rng) };
        case 'update': {
          const id = sampler.sample(rng);
          return { kind, id, name: `user ${id} v${iteration}` };
        }
        case 'create': {
          // ids past the seeded range, unique per iteration of the run (iterationInTest is unique
          // across execution segments too) and per load (the salt): never a conflict with seed data
          // or with an earlier load on the same deployment
          const id = createdUserId(users, salt, iteration + 1);
          return { kind, id, name: `user ${id}`, email: `user${id}@bench.test` };
        }
        case 'login':
          return { kind, id: sampler.sample(rng) };
        case 'static':
          return { kind, asset: staticAssets[rng.int(staticAssets.length)].path };
      }
    },
  };
}

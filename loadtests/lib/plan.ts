// What one iteration sends: the request type (a catalogue entry) and its variables (the user id,
// the name written, the asset fetched, the derived ones). Pure (no k6 imports), so the harness can
// test it under Node and a driver can predict traffic.
import { catalogue as builtIn, deriver, operationId, type Catalogue, type RequestType, type RequestVars } from '../catalogue.ts';
import { mixWeights, type RequestKind, type Workload } from '../workloads.ts';
import { weightedPicker, zipfSampler } from '../../harness/load/random.ts';
import { iterationRandom } from './random.ts';
import { createdUserId } from './identity.ts';

/** The request kinds in the order weights are read; fixed so a seed means the same thing everywhere. */
export const REQUEST_KINDS: readonly RequestKind[] = builtIn.entries.map((e) => e.name);

/**
 * One iteration's request, fully decided before anything is sent: its kind and the variables its
 * templates use (id for an entry that draws one, name for a write, asset, derived ones).
 */
export interface PlannedRequest {
  kind: RequestKind;
  id?: number;
  name?: string;
  asset?: string;
  [derived: string]: string | number | undefined;
}

/** Decides iterations for one workload over `users` seeded ids; build it once per VU. */
export interface IterationPlanner {
  /** `salt`: the load's sign-up salt (lib/identity.ts); only created ids depend on it */
  plan(iteration: number, salt?: number): PlannedRequest;
  /** kinds with a non-zero weight: the only ones this workload sends */
  readonly kinds: readonly RequestKind[];
}

/** Builds the planner: the n-th iteration of a run always plans the same request for the same seed. */
export function iterationPlanner(workload: Workload, users: number, seed: number, cat: Catalogue = builtIn): IterationPlanner {
  if (!(Number.isInteger(users) && users >= 1)) throw new Error(`users must be an integer >= 1, got ${users}`);
  // the catalogue's order, not the workload literal's, so a seed picks the same kinds for any workload
  const weights = mixWeights(workload, cat);
  const picker = weightedPicker(weights);
  const kinds = cat.entries.map((e) => e.name).filter((k) => weights[k] > 0);
  const byName = new Map<string, { entry: RequestType; derive: ((v: RequestVars) => void) | null }>(
    cat.entries.map((e) => [e.name, { entry: e, derive: deriver(e) }]),
  );
  // ids are Zipf ranks as drawn, as the engine does: user 1 is the hottest
  const sampler = zipfSampler(users, workload.zipfS);
  return {
    kinds,
    plan(iteration: number, salt = 0): PlannedRequest {
      const rng = iterationRandom(seed, iteration);
      const kind = picker.pick(rng);
      const { entry, derive } = byName.get(kind)!;
      const out: PlannedRequest = { kind };
      // Draw order (id, then asset) is the engine's too: the same seed draws the same values.
      if (entry.id === 'seeded') out.id = sampler.sample(rng);
      // ids past the seeded range, unique per iteration of the run (iterationInTest is unique
      // across execution segments too) and per load (the salt): never a conflict with seed data
      // or with an earlier load on the same deployment
      else if (entry.id === 'created') out.id = createdUserId(users, salt, iteration + 1);
      if (entry.assets) out.asset = entry.assets[rng.int(entry.assets.length)];
      // the same operation id the engine gives its request number iteration + 1 (catalogue.ts)
      if (entry.ledger) out.opId = operationId(seed, salt, iteration + 1);
      if (entry.write) out.name = entry.id === 'created' ? `user ${out.id}` : `user ${out.id} v${iteration}`;
      if (derive) {
        const v = { ...out } as unknown as RequestVars;
        derive(v);
        for (const k of Object.keys(entry.derived!)) out[k] = v[k];
      }
      return out;
    },
  };
}

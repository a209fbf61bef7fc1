// For the drills' integration tests: a real phase, deployed by the native runtime in a private
// state root on a reserved slot, seeded, with load options aimed at its entry. Never used outside
// *.int.test.ts.
import { join } from 'node:path';
import { createNativeRuntime } from '../../harness/runtime/native.ts';
import { readState, type RunState } from '../../harness/runtime/state.ts';
import { disposeAfterFailedUp, downOrKeepRoot, survivors, testRoot, type TestRoot } from '../../harness/runtime/testing/run-helpers.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { endpointUrl, plan, serviceOf, type DeployPlan } from '../../harness/topology/plan.ts';
import type { PhaseOptions } from '../../harness/topology/types.ts';
import { seedUsers } from '../../harness/run/seed.ts';
import { phases } from '../../targets/phases/index.ts';
import type { DrillLoadOptions } from '../run-drill.ts';

export interface TestDeployment {
  plan: DeployPlan;
  deployment: Deployment;
  load: DrillLoadOptions;
  log: string[];
  /** tears down; returns the recorded processes still alive (expected: none) */
  dispose(): Promise<string[]>;
}

export async function deployPhase(name: string, phase: number, options: Partial<PhaseOptions>, load: { users: number; rate: number; seed?: number; timeoutMs?: number }): Promise<TestDeployment> {
  const def = phases.get(phase)!;
  const o: PhaseOptions = { users: load.users, shardStrategy: 'range', ...def.defaults, ...options };
  const t: TestRoot = await testRoot(name);
  const log: string[] = [];
  const progress = (l: string) => log.push(l);
  const p = plan(def.topology(o), { runId: `${name}-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
  let deployment: Deployment;
  try {
    deployment = await createNativeRuntime({ stateRoot: t.root, graceMs: 2_000 }).up(p, { runDir: join(t.root, 'run'), progress });
  } catch (e) {
    await disposeAfterFailedUp(t, p.runId, e);
    throw e;
  }
  try {
    await seedUsers(deployment, load.users, load.seed ?? 7, progress);
  } catch (e) {
    await downOrKeepRoot(deployment, t, e);
    throw e;
  }
  const entry = serviceOf(p, p.topology.entry).address;
  const staticEntry = serviceOf(p, p.topology.staticEntry ?? p.topology.entry).address;
  return {
    plan: p,
    deployment,
    log,
    load: {
      targets: { api: endpointUrl(entry), static: endpointUrl(staticEntry) },
      users: load.users,
      seed: load.seed ?? 7,
      rate: load.rate,
      timeoutMs: load.timeoutMs ?? 5_000,
    },
    async dispose() {
      const state: RunState | null = await readState(p.runId, { root: t.root });
      await deployment.down();
      const left = state ? survivors(state) : [];
      await t.dispose();
      return left;
    },
  };
}

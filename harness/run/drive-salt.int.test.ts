// Repeated loads on one deployment: a real phase-2 deployment (app + Postgres through Toxiproxy),
// seeded, and three write-heavy loads from drive() with the embedded engine. Each load gets its own
// sign-up salt, so the second load's sign-ups are new users (no 409). The negative control reuses
// the first load's salt and must see every sign-up refused with 409: the check can fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { plan, type DeployPlan } from '../topology/plan.ts';
import { phase2 } from '../../targets/phases/phase-2.ts';
import type { PhaseOptions } from '../topology/types.ts';
import { createNativeRuntime } from '../runtime/native.ts';
import { testRoot, type TestRoot } from '../runtime/testing/run-helpers.ts';
import type { Deployment } from '../runtime/types.ts';
import type { Stage } from '../../reports/schema.ts';
import { resolveRunConfig } from './config.ts';
import { drive, type DriveOutcome } from './drive.ts';
import { seedUsers } from './seed.ts';
import type { RunIO } from './lifecycle.ts';
import { SALT_LIMIT } from '../../loadtests/lib/identity.ts';

const USERS = 1000;
const options: PhaseOptions = { users: USERS, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' };
// 40 req/s of write-heavy for 5 s: ~60 sign-ups a load, little enough for a 0.2-CPU app host
const stages: Stage[] = [
  { durationS: 0, targetRate: 40 },
  { durationS: 5, targetRate: 40 },
];
const lines: string[] = [];
const io: RunIO = { progress: (l) => lines.push(l), write: () => undefined, isTTY: false, signal: new AbortController().signal, cwd: process.cwd() };

describe('repeated loads on one phase-2 deployment (embedded engine)', () => {
  let t: TestRoot;
  let dep: Deployment;
  let p: DeployPlan;
  const loads: DriveOutcome[] = [];

  const load = async (salt?: number) => {
    const config = resolveRunConfig({ phase: '2', users: String(USERS), workload: 'write-heavy', driver: 'embedded', ...(salt === undefined ? {} : { salt: String(salt) }) });
    const got = await drive(config, p, stages, join(t.root, `load-${loads.length}`), io);
    loads.push(got);
    return got;
  };

  beforeAll(async () => {
    t = await testRoot('salt');
    p = plan(phase2.topology(options), { runId: `salt-${process.pid}`, slot: t.slot, proxies: true, prometheus: false });
    dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: (l) => lines.push(l) });
    await seedUsers(dep, USERS, 1, (l) => lines.push(l));
  }, 180_000);

  afterAll(async () => {
    await dep?.down();
    await t?.dispose();
  });

  it('gives each load its own recorded salt, and a second load signs up new users: no 409', async () => {
    const first = await load();
    const second = await load();
    for (const l of [first, second]) {
      expect(l.results.salt).toBeGreaterThan(0);
      expect(l.results.salt).toBeLessThan(SALT_LIMIT);
      // the load did sign up users: the check below is about something that happened
      expect(l.results.endpoints['create']?.requests ?? 0).toBeGreaterThan(20);
    }
    expect(second.results.salt).not.toBe(first.results.salt);
    expect(first.results.statusCodes['409'] ?? 0).toBe(0);
    expect(second.results.statusCodes['409'] ?? 0).toBe(0);
    expect(second.results.statusCodes['201']).toBeGreaterThan(20);
  }, 120_000);

  it('negative control: a load that reuses the first load\'s salt gets a 409 for every sign-up it repeats', async () => {
    const firstSalt = loads[0].results.salt!;
    const again = await load(firstSalt);
    expect(again.results.salt).toBe(firstSalt);
    // the same seed and salt replay the first load's sign-ups, which exist now
    expect(again.results.statusCodes['409'] ?? 0).toBeGreaterThan(20);
    // a 201 only for a sign-up the first load did not complete (its request failed there)
    const firstUnsigned = (loads[0].results.endpoints['create']?.requests ?? 0) - (loads[0].results.statusCodes['201'] ?? 0);
    expect(again.results.statusCodes['201'] ?? 0).toBeLessThanOrEqual(firstUnsigned);
  }, 120_000);
});

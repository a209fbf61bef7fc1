import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureStateRoot, writeState } from '../state.ts';
import { startTimeOf } from '../process.ts';
import { disposeAfterFailedUp, downOrKeepRoot, type TestRoot } from './run-helpers.ts';

const fakeRoot = async (): Promise<TestRoot> => {
  const root = await mkdtemp(join(tmpdir(), 'b-helpers-'));
  return { root, slot: 0, dispose: () => rm(root, { recursive: true, force: true }) };
};

describe('a failed test set-up never removes the only record of what still runs', () => {
  it('removes the root once the deployment stopped', async () => {
    const t = await fakeRoot();
    await downOrKeepRoot({ down: async () => {} }, t, new Error('seed failed'));
    expect(existsSync(t.root)).toBe(false);
  });

  it('keeps the root and says so when the stop fails (negative control)', async () => {
    const t = await fakeRoot();
    await expect(downOrKeepRoot({ down: async () => { throw new Error('redis survived SIGKILL'); } }, t, new Error('seed failed'))).rejects.toThrow(
      `seed failed; and stopping the deployment failed too (redis survived SIGKILL): its state is kept in ${t.root}`,
    );
    expect(existsSync(t.root)).toBe(true);
    await t.dispose();
  });

  it('after a failed up with no state recorded, removes the root', async () => {
    const t = await fakeRoot();
    await disposeAfterFailedUp(t, 'no-such-run', new Error('boom'));
    expect(existsSync(t.root)).toBe(false);
  });

  it('after a failed up, keeps the root and names a recorded service still alive (negative control)', async () => {
    const t = await fakeRoot();
    await ensureStateRoot(t.root);
    // a recorded "service" that is alive: this test's own process, with its real start time
    const me = { name: 'redis-1', pid: process.pid, startTime: startTimeOf(process.pid)!, dir: t.root, cgroups: [] };
    await writeState({ runId: 'r1', slot: 0, runDir: t.root, dataDir: t.root, createdAt: new Date().toISOString(), harnessPid: process.pid, harnessStartTime: me.startTime, cgroups: [], services: [me] }, { root: t.root });
    await expect(disposeAfterFailedUp(t, 'r1', new Error('boom'))).rejects.toThrow(`boom; and redis-1 (${process.pid}) outlived the teardown: state kept in ${t.root}`);
    expect(existsSync(t.root)).toBe(true);
    await t.dispose();
  });
});

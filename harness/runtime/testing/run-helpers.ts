// Helpers for the runtime's integration tests: a private state root (so a reap never touches
// anyone else's run), a slot reserved machine-wide, and checks that nothing is left running.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocateSlot, readState, releaseSlot, type RunState } from '../state.ts';
import type { Deployment } from '../types.ts';
import { cmdlineOf, groupMembers, isSameProcess, listProcesses } from '../process.ts';

export interface TestRoot {
  /** the private state root (BENCH_STATE_DIR of the run) */
  root: string;
  /** a slot reserved in the machine-wide state root, so parallel runs of other suites never collide */
  slot: number;
  dispose(): Promise<void>;
}

/** A private state root under /tmp and a slot reserved machine-wide. */
export async function testRoot(name: string): Promise<TestRoot> {
  // short: the postgres socket path must stay under 108 bytes
  const root = await mkdtemp(join(tmpdir(), `b-${name}-`));
  const slot = await allocateSlot({ runId: `test-${name}` });
  return {
    root,
    slot,
    async dispose() {
      await releaseSlot(slot);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * After `cause` failed a test's set-up: stops the deployment and removes its test root. When the
 * stop itself fails, the root is KEPT (its state files are the only record of what still runs:
 * `BENCH_STATE_DIR=<root> bench down --all` finds it) and the failure says so, with the cause;
 * removing it would leave servers nothing can find (seen: a phase-5 test's Redis outlived its
 * run with its state root gone).
 */
export async function downOrKeepRoot(dep: Pick<Deployment, 'down'>, t: TestRoot, cause: unknown): Promise<void> {
  try {
    await dep.down();
  } catch (e) {
    throw new Error(`${(cause as Error)?.message ?? cause}; and stopping the deployment failed too (${(e as Error).message}): its state is kept in ${t.root} (BENCH_STATE_DIR=${t.root} bench down --all)`);
  }
  await t.dispose();
}

/**
 * After a failed `up()` (which tears down what it started, reporting a teardown failure only in
 * its progress): removes the test root unless a recorded service outlived that teardown; then
 * the root is kept and the failure names the survivors, with the cause.
 */
export async function disposeAfterFailedUp(t: TestRoot, runId: string, cause: unknown): Promise<void> {
  const state = await readState(runId, { root: t.root }).catch(() => null);
  const left = state ? survivors(state) : [];
  if (left.length > 0) {
    throw new Error(`${(cause as Error)?.message ?? cause}; and ${left.join(', ')} outlived the teardown: state kept in ${t.root} (BENCH_STATE_DIR=${t.root} bench down --all)`);
  }
  await t.dispose();
}

/** Processes whose command line mentions `text` (a run's data directory). */
export function processesMentioning(text: string): { pid: number; cmdline: string }[] {
  return listProcesses()
    .filter((p) => p.pid !== process.pid)
    .map((p) => ({ pid: p.pid, cmdline: cmdlineOf(p.pid) }))
    .filter((p) => p.cmdline.includes(text));
}

/** Recorded services still alive (same pid and start time), or with members left in their group. */
export function survivors(state: Pick<RunState, 'services'>): string[] {
  return state.services.filter((s) => isSameProcess(s.pid, s.startTime) || groupMembers(s.pid).length > 0).map((s) => `${s.name} (${s.pid})`);
}

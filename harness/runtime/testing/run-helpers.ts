// Helpers for the runtime's integration tests: a private state root (so a reap never touches
// anyone else's run), a slot reserved machine-wide, and checks that nothing is left running.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocateSlot, releaseSlot, type RunState } from '../state.ts';
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

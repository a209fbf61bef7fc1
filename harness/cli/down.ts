// bench down: stop what bench started (by the pids in its state files, never by name).
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { usageError } from '../errors.ts';
import { listRuns, reapAll, reapRun } from '../runtime/state.ts';

export function register(program: Command, io: CliIO): void {
  program
    .command('down')
    .description('stop a run left up (bench up, --keep) or left behind by a crash; without a run id, every run')
    .argument('[run-id]', 'the run to stop (bench status lists them)')
    .option('--all', 'every run bench knows of, live or dead (the default without a run id)')
    .action(async (runId: string | undefined) => {
      if (runId) {
        const runs = await listRuns();
        if (!runs.some((r) => r.runId === runId)) {
          throw usageError(`no run ${runId}`, runs.length ? `known runs: ${runs.map((r) => r.runId).join(', ')}` : 'nothing is running');
        }
        await reapRun(runId);
        io.out(`stopped ${runId}\n`);
        return;
      }
      const removed = await reapAll({ onlyDead: false });
      io.out(removed.length ? `stopped ${removed.join(', ')}\n` : 'nothing to stop\n');
    });
}

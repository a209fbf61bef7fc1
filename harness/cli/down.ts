// bench down: stop what bench started — native runs by the pids in their state files, Docker runs
// by their labels — never by name.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { usageError } from '../errors.ts';
import { listRuns, reapAll, reapRun } from '../runtime/state.ts';
import { reapDocker } from '../runtime/docker/docker.ts';

export function register(program: Command, io: CliIO): void {
  program
    .command('down')
    .description('stop a run left up (bench up, --keep) or left behind by a crash; without a run id, every run')
    .argument('[run-id]', 'the run to stop (bench status lists them)')
    .option('--all', 'every run bench knows of, live or dead (the default without a run id)')
    .action(async (runId: string | undefined) => {
      const warn = (l: string) => io.err(`bench: warning: ${l}\n`);
      if (runId) {
        const native = (await listRuns({ warn })).some((r) => r.runId === runId);
        if (native) await reapRun(runId, { warn });
        const docker = await reapDocker({ runId, warn });
        if (!native && docker.runs.length === 0) {
          const known = [...(await listRuns()).map((r) => r.runId)];
          throw usageError(`no run ${runId}`, known.length ? `known runs: ${known.join(', ')}` : 'nothing is running (bench status)');
        }
        io.out(`stopped ${runId}\n`);
        return;
      }
      const removed = [...(await reapAll({ onlyDead: false, warn })).map(String), ...(await reapDocker({ warn })).runs];
      io.out(removed.length ? `stopped ${removed.join(', ')}\n` : 'nothing to stop\n');
    });
}

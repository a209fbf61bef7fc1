// bench down: stop what bench started. Each runtime takes down its own runs by what it recorded
// (native: the pids in their state files; Docker: their labels), never by name.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { usageError } from '../errors.ts';
import { knownRuntimes } from '../runtime/select.ts';

export function register(program: Command, io: CliIO): void {
  program
    .command('down')
    .description('stop a run left up (bench up, --keep) or left behind by a crash; without a run id, every run')
    .argument('[run-id]', 'the run to stop (bench status lists them)')
    .option('--all', 'every run bench knows of, live or dead (the default without a run id)')
    .action(async (runId: string | undefined) => {
      const warn = (l: string) => io.err(`bench: warning: ${l}\n`);
      const runtimes = knownRuntimes(io.env);
      const removed: string[] = [];
      for (const r of runtimes) removed.push(...(await r.reap({ runId, warn })));
      if (runId) {
        if (removed.length === 0) {
          const known: string[] = [];
          for (const r of runtimes) known.push(...(await r.list()).map((l) => l.runId));
          throw usageError(`no run ${runId}`, known.length ? `known runs: ${known.join(', ')}` : 'nothing is running (bench status)');
        }
        io.out(`stopped ${runId}\n`);
        return;
      }
      io.out(removed.length ? `stopped ${[...new Set(removed)].join(', ')}\n` : 'nothing to stop\n');
    });
}

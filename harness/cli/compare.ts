// bench compare <base> <head>: the CI regression gate. Prints a Markdown diff table; exit 1 when a
// gate is crossed, 2 when an input is unreadable, 3 when a run's host sizes were not enforced
// (unless --allow-unenforced-sizes).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CliIO } from './io.ts';
import { readResults } from '../../reports/load.ts';
import { compareResults, parseGates } from '../../reports/compare.ts';

interface CompareFlags {
  maxP99Regression: string;
  maxThroughputDrop: string;
  maxErrorRate: string;
  maxDropped: string;
  allowUnenforcedSizes?: boolean;
}

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare two results.json files and fail when a regression gate is crossed')
    .argument('<base>', 'results.json of the baseline (e.g. main)')
    .argument('<head>', 'results.json of the change')
    .option('--max-p99-regression <pct>', 'fail when p99 latency grows by more than this', '10%')
    .option('--max-throughput-drop <pct>', 'fail when throughput drops by more than this', '5%')
    .option('--max-error-rate <pct>', 'fail when the head error rate or failed share (errors + dropped) is above this', '1%')
    .option('--max-dropped <n>', 'fail when the head dropped more requests than this at the in-flight cap', '0')
    .option('--allow-unenforced-sizes', 'compare runs whose host CPU/memory sizes were not enforced (refused otherwise, exit 3)')
    .action(async (basePath: string, headPath: string, flags: CompareFlags) => {
      const gates = parseGates(flags);
      const [base, head] = await Promise.all([readResults(resolve(io.cwd, basePath)), readResults(resolve(io.cwd, headPath))]);
      const outcome = compareResults(base, head, gates, { allowUnenforcedSizes: flags.allowUnenforcedSizes === true });
      io.out(outcome.markdown + '\n');
      const ids = `base ${base.runId}, head ${head.runId}`;
      if (outcome.failures.length > 0) {
        io.err(`bench: ${ids}: ${outcome.failures.length} regression gate(s) crossed: ${outcome.failures.join('; ')}\n`);
        setExit(1);
      } else {
        io.err(`bench: ${ids}: no gate crossed\n`);
      }
    });
}

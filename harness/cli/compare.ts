// bench compare <base> <head>: the CI regression gate. Prints a Markdown diff table; exit 1 when a
// gate is crossed, 2 when an input is unreadable.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CliIO } from './io.ts';
import { readResults } from '../../reports/load.ts';
import { compareResults, parsePercent } from '../../reports/compare.ts';

interface CompareFlags {
  maxP99Regression: string;
  maxThroughputDrop: string;
  maxErrorRate: string;
}

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare two results.json files and fail when a regression gate is crossed')
    .argument('<base>', 'results.json of the baseline (e.g. main)')
    .argument('<head>', 'results.json of the change')
    .option('--max-p99-regression <pct>', 'fail when p99 latency grows by more than this', '10%')
    .option('--max-throughput-drop <pct>', 'fail when throughput drops by more than this', '5%')
    .option('--max-error-rate <pct>', 'fail when the head error rate is above this', '1%')
    .action(async (basePath: string, headPath: string, flags: CompareFlags) => {
      const gates = {
        maxP99RegressionPct: parsePercent('--max-p99-regression', flags.maxP99Regression),
        maxThroughputDropPct: parsePercent('--max-throughput-drop', flags.maxThroughputDrop),
        maxErrorRate: parsePercent('--max-error-rate', flags.maxErrorRate) / 100,
      };
      const [base, head] = await Promise.all([readResults(resolve(io.cwd, basePath)), readResults(resolve(io.cwd, headPath))]);
      const outcome = compareResults(base, head, gates);
      io.out(outcome.markdown + '\n');
      if (outcome.failures.length > 0) {
        io.err(`bench: ${outcome.failures.length} regression gate(s) crossed: ${outcome.failures.join('; ')}\n`);
        setExit(1);
      }
    });
}

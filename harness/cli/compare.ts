// bench compare <base> <head>: the CI regression gate. Prints a Markdown diff table; exit 1 when a
// gate is crossed, 2 when an input is unreadable, 3 when a run's host sizes were not enforced
// (unless --allow-unenforced-sizes). Two runs are compared metric by metric; two capacities (a
// ladder.json, or a capacity search's results.json or capacity.json) phase by phase, under
// --max-capacity-drop.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CliIO } from './io.ts';
import { compareResults, parseGates, parsePercent } from '../../reports/compare.ts';
import { compareCapacity, parseCapacityDrop, readCompareInput, type CompareInput } from '../../reports/capacity-compare.ts';
import { usageError } from '../errors.ts';

interface CompareFlags {
  maxP99Regression: string;
  maxThroughputDrop: string;
  maxErrorRate: string;
  maxDropped: string;
  maxCapacityDrop: string;
  allowUnenforcedSizes?: boolean;
}

/** The ids a comparison prints, so a CI log says which runs it compared. */
const idsOf = (input: CompareInput) => (input.kind === 'run' ? input.results.runId : input.doc.runIds.join(' + '));

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare two runs (results.json) or two capacities (ladder.json, a capacity search) and fail when a regression gate is crossed')
    .argument('<base>', 'results.json or ladder.json of the baseline (e.g. main), or its directory')
    .argument('<head>', 'results.json or ladder.json of the change, or its directory')
    .option('--max-p99-regression <pct>', 'fail when p99 latency grows by more than this', '10%')
    .option('--max-throughput-drop <pct>', 'fail when throughput drops by more than this', '5%')
    .option('--max-error-rate <pct>', 'fail when the head error rate or failed share (errors + dropped) is above this', '1%')
    .option('--max-dropped <n>', 'fail when the head dropped more requests than this at the in-flight cap', '0')
    .option('--max-capacity-drop <pct>', 'capacities: fail when a phase\'s sustainable rate drops by more than this', '10%')
    .option('--allow-unenforced-sizes', 'compare runs whose host CPU/memory sizes were not enforced (refused otherwise, exit 3)')
    .action(async (basePath: string, headPath: string, flags: CompareFlags) => {
      const gates = parseGates(flags);
      const maxCapacityDrop = parseCapacityDrop(parsePercent, flags.maxCapacityDrop);
      // One after the other: with both unreadable, the error names the base every time (in parallel,
      // whichever read failed first won, and a CI run once named the head).
      const base = await readCompareInput(resolve(io.cwd, basePath));
      const head = await readCompareInput(resolve(io.cwd, headPath));
      const ids = `base ${idsOf(base)}, head ${idsOf(head)}`;
      let failures: string[];
      if (base.kind === 'capacity' && head.kind === 'capacity') {
        const outcome = compareCapacity(base.doc, head.doc, maxCapacityDrop, flags.allowUnenforcedSizes === true);
        io.out(outcome.markdown + '\n');
        failures = outcome.failures;
      } else if (base.kind === 'run' && head.kind === 'run') {
        const outcome = compareResults(base.results, head.results, gates, { allowUnenforcedSizes: flags.allowUnenforcedSizes === true });
        io.out(outcome.markdown + '\n');
        failures = outcome.failures;
      } else {
        throw usageError(
          `${base.kind === 'run' ? 'base' : 'head'} is a run and ${base.kind === 'run' ? 'head' : 'base'} a capacity (${ids}): they are not comparable`,
          'compare two runs\' results.json, or two ladders / capacity searches',
        );
      }
      if (failures.length > 0) {
        io.err(`bench: ${ids}: ${failures.length} regression gate(s) crossed: ${failures.join('; ')}\n`);
        setExit(1);
      } else {
        io.err(`bench: ${ids}: no gate crossed\n`);
      }
    });
}

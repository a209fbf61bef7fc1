// bench run: deploy a phase, seed users, drive a traffic ramp, report, tear down.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { loadOptions, runIO, targetOptions } from './run-options.ts';
import { resolveRunConfig, type RawRunOptions } from '../run/config.ts';
import { executeRun } from '../run/lifecycle.ts';
import { formatSummary } from '../run/summary.ts';

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const cmd = program
    .command('run')
    .description('deploy a phase, seed its users, drive a traffic ramp at it, write reports, tear it down')
    .option('--keep', 'leave the target up after the run (bench down removes it)');
  targetOptions(cmd);
  loadOptions(cmd);
  cmd.action(async (flags: RawRunOptions) => {
    const config = resolveRunConfig(flags, io.env);
    const outcome = await executeRun(config, runIO(io));
    if (config.json) io.out(JSON.stringify(outcome.results, null, 2) + '\n');
    else io.out(formatSummary(outcome.results, outcome.runDir));
    setExit(outcome.exitCode);
  });
}

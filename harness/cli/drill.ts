// bench drill <name> --phase N: deploy, run an SRE failure drill, give a verdict (exit 1 on fail).
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { GENERATOR_THREADS_FLAG, GENERATOR_THREADS_HELP, runIO, targetOptions, WARMUP_FLAG, WARMUP_HELP } from './run-options.ts';
import { resolveRunConfig, type RawRunOptions } from '../run/config.ts';
import { executeRun } from '../run/lifecycle.ts';
import { drillExercise, DRILL_DEFAULT_RATE } from '../run/drill.ts';
import { formatSummary } from '../run/summary.ts';
import { parseDuration } from './parse.ts';
import { drills, drillsByPhase } from '../../chaos/index.ts';
import { usageError } from '../errors.ts';

interface DrillFlags extends RawRunOptions {
  at?: string;
  faultDuration?: string;
  target?: string;
  param?: string[];
}

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const cmd = program
    .command('drill')
    .description('run an SRE failure drill against a phase and give a verdict')
    .argument('[name]', `one of ${[...drills.keys()].join(', ')}`)
    .option('--list', 'list the drills and, per phase, which apply (or why not)')
    .option('--at <time>', 'when the fault starts, after the load starts (default: the drill\'s)')
    .option('--duration <time>', 'how long the fault lasts (default: the drill\'s)')
    .option('--target <name>', 'what to break (an app server, a shard...; default: the drill picks)')
    .option('--param <key=value>', 'a parameter of the drill (wan-degradation: factor=5); repeatable', (v: string, all: string[] = []) => [...all, v])
    .option('-r, --rate <n>', `steady arrival rate during the drill (default ${DRILL_DEFAULT_RATE} req/s)`)
    .option(WARMUP_FLAG, WARMUP_HELP)
    .option(GENERATOR_THREADS_FLAG, GENERATOR_THREADS_HELP)
    .option('--keep', 'leave the target up after the drill')
    .option('--json', 'print results.json on stdout');
  targetOptions(cmd);
  cmd.action(async (name: string | undefined, flags: DrillFlags & { duration?: string; list?: boolean }) => {
    if (flags.list) {
      io.out(formatDrillList());
      return;
    }
    if (name === undefined) throw usageError('bench drill needs a drill name', `drills: ${[...drills.keys()].join(', ')} (bench drill --list shows which apply per phase)`);
    const atS = flags.at === undefined ? null : parseDuration('--at', flags.at, { min: 0 });
    const durationS = flags.duration === undefined ? null : parseDuration('--duration', flags.duration, { min: 0 });
    // --duration is the fault's length here; the load's length follows from the drill's timing.
    // A drill's rate is its own (the model's rate for few users is too low for a fault to show).
    const config = resolveRunConfig({ ...flags, duration: undefined, rate: flags.rate ?? String(DRILL_DEFAULT_RATE) }, io.env);
    const outcome = await executeRun(config, runIO(io), drillExercise({ name, atS, durationS, target: flags.target, params: flags.param }));
    if (config.json) io.out(JSON.stringify(outcome.results, null, 2) + '\n');
    else io.out(formatSummary(outcome.results, outcome.runDir));
    setExit(outcome.exitCode);
  });
}

/**
 * The drills, then per phase (with its default options) which apply and, for the others, why not:
 * derived from each drill's applies(), so it cannot drift from what `bench drill` accepts.
 */
export function formatDrillList(): string {
  const lines = ['drills:'];
  const width = Math.max(...[...drills.keys()].map((n) => n.length));
  for (const d of drills.values()) lines.push(`  ${d.name.padEnd(width)}  ${d.summary}`);
  for (const p of drillsByPhase()) {
    lines.push('', `phase ${p.phase}${p.notBuilt ? `: none (${p.notBuilt})` : ' (default options):'}`);
    for (const d of p.drills) lines.push(d.applies.ok ? `  yes  ${d.name}` : `  no   ${d.name.padEnd(width)}  ${d.applies.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

// bench capacity --phase N: deploy once, search the highest arrival rate the phase sustains under
// an objective (grow, bisect, confirm), write capacity.json and summary.md, tear down.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { runIO, targetOptions, WARMUP_FLAG } from './run-options.ts';
import { parseDuration, parseInteger, parseRate } from './parse.ts';
import { usageError } from '../errors.ts';
import { DEFAULT_WARMUP_S, resolveRunConfig, type RawRunOptions } from '../run/config.ts';
import { DEFAULT_OBJECTIVE, parseObjective } from '../capacity/objective.ts';
import { capacityMarkdown, runCapacity, type CapacityOptions } from '../capacity/run.ts';
import { parseScale } from '../capacity/scale.ts';
import { runScale, scaleMarkdown } from '../capacity/scale-run.ts';

export interface CapacityFlags extends RawRunOptions {
  objective?: string;
  settle?: string;
  hold?: string;
  confirm?: string;
  maxTime?: string;
  startRate?: string;
  growth?: string;
  resolution?: string;
  maxSteps?: string;
  scale?: string;
}

/** Every flag of the command to options; the first problem as one line (exit 2). */
export function capacityOptions(flags: CapacityFlags, env: Record<string, string | undefined>): CapacityOptions {
  // the run's own duration and rate mean nothing here: each step has its own
  const run = resolveRunConfig({ ...flags, duration: undefined, rate: undefined }, env);
  // every step signs up under a fresh salt of its own (drive()): a salt given for the whole search
  // (BENCH_SALT) would make the second step's sign-ups collide with the first's
  run.salt = null;
  // Every phase warms up before a search, even one without caches or replicas (where a run does
  // not): its apps start cold at 0.2 cores, and a search's early step that fails cold becomes the
  // top of its bracket for good. Phase 2 failed 200 req/s at p50 459 ms, then held 175 at p99 6 ms.
  if (run.warmupS === null) run.warmupS = DEFAULT_WARMUP_S;
  return {
    run,
    objective: parseObjective(flags.objective ?? DEFAULT_OBJECTIVE),
    settleS: flags.settle === undefined ? 5 : parseDuration('--settle', flags.settle, { min: 0, max: 600 }),
    holdS: flags.hold === undefined ? 20 : parseDuration('--hold', flags.hold, { min: 2, max: 3600 }),
    confirmS: flags.confirm === undefined ? 60 : parseDuration('--confirm', flags.confirm, { min: 2, max: 3600 }),
    maxTimeS: flags.maxTime === undefined ? 900 : parseDuration('--max-time', flags.maxTime, { min: 10, max: 24 * 3600 }),
    startRate: flags.startRate === undefined ? 100 : parseRate('--start-rate', flags.startRate),
    maxRate: run.maxRate,
    growth: flags.growth === undefined ? 2 : parseGrowth(flags.growth),
    resolution: flags.resolution === undefined ? 0.05 : parseResolution(flags.resolution),
    maxSteps: flags.maxSteps === undefined ? 30 : parseInteger('--max-steps', flags.maxSteps, { min: 2, max: 200 }),
  };
}

function parseGrowth(raw: string): number {
  const v = Number(raw.trim().replace(/^x/, ''));
  if (!(v > 1 && v <= 10)) throw usageError(`--growth ${JSON.stringify(raw)} is not a factor above 1`, 'for example --growth 2 (each step doubles the rate), at most 10');
  return v;
}

function parseResolution(raw: string): number {
  const text = raw.trim();
  const pct = text.endsWith('%');
  const n = Number(pct ? text.slice(0, -1) : text);
  const v = pct ? n / 100 : n;
  if (!(v >= 0.005 && v <= 0.5)) throw usageError(`--resolution ${JSON.stringify(raw)} is not a share from 0.5% to 50%`, 'for example --resolution 5% (bisect until the bracket is 5% of the rate)');
  return v;
}

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const cmd = program
    .command('capacity')
    .description('find the highest arrival rate a phase sustains under an objective (grow, bisect, confirm)')
    .option('--objective <spec>', `what a step must hold (default '${DEFAULT_OBJECTIVE}'; p50..p999 in ms or s, errors in %)`)
    .option(WARMUP_FLAG, 'warm-up once after the deployment, at the start rate, recorded apart (default 20s on every phase; 0 skips)')
    .option('--settle <time>', 'load at each step before its hold window is measured, in the same drive (default 5s)')
    .option('--hold <time>', 'how long each step is measured (default 20s)')
    .option('--confirm <time>', 'how long the found rate is held to confirm it (default 60s)')
    .option('--max-time <time>', 'budget of the whole search, deployment excluded (default 15m)')
    .option('--start-rate <n>', 'first rate tried, requests/s (default 100)')
    .option('--max-rate <n>', 'highest rate tried (default: what this machine can drive)')
    .option('--growth <factor>', 'factor between growing steps (default 2)')
    .option('--resolution <pct>', 'bisect until the bracket is this share of the rate (default 5%)')
    .option('--max-steps <n>', 'at most this many steps, confirmations included (default 30)')
    .option('-w, --workload <name>', 'mixed, read-heavy, write-heavy, static')
    .option('--driver <embedded|k6|auto>', 'load driver')
    .option('--scale <dimension=values>', 'one search per value, each on its own deployment: app-servers=1..4, shards=1..K, db-cpu=0.25,0.5,1, app-cpu=...')
    .option('--json', 'print capacity.json on stdout instead of the summary');
  targetOptions(cmd);
  cmd.action(async (flags: CapacityFlags) => {
    const options = capacityOptions(flags, io.env);
    if (flags.scale !== undefined) {
      const scaled = await runScale(options, parseScale(flags.scale), runIO(io));
      if (options.run.json) io.out(JSON.stringify(scaled.json, null, 2) + '\n');
      else io.out(scaleMarkdown(scaled.json) + `Reports: ${scaled.dir}/scale.json, summary.md, report.html, and one directory per value\n`);
      setExit(scaled.exitCode);
      return;
    }
    const outcome = await runCapacity(options, runIO(io));
    if (options.run.json) io.out(JSON.stringify(outcome.json, null, 2) + '\n');
    else io.out(capacityMarkdown(outcome.json) + `Reports: ${outcome.runDir}/capacity.json, results.json, report.html, summary.md\n`);
    setExit(outcome.exitCode);
  });
}

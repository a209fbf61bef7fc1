// bench ladder [--phases 1-5] [--quick]: the capacity search on each phase, same workload, users
// and objective; the ladder table (rate, factor over the previous phase, rate per core, p99 at a
// common rate) in one ladder.json and summary.md.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { runIO, WARMUP_FLAG } from './run-options.ts';
import { capacityOptions, type CapacityFlags } from './capacity.ts';
import { DEFAULT_OBJECTIVE } from '../capacity/objective.ts';
import { ladderMarkdown, parsePhases, QUICK, runLadder } from '../capacity/ladder.ts';
import type { CapacityOptions } from '../capacity/run.ts';

/** The capacity search's flags (but --scale), plus which phases and --quick. */
interface LadderFlags extends Omit<CapacityFlags, 'scale'> {
  phases?: string;
  quick?: boolean;
}

/** The same users on every phase (each phase's own default would compare different data sets). */
export const LADDER_USERS = '10000';

/** Flags to the phases and one search's options (the phase is set per rung); --quick fills what is not given. */
export function ladderOptions(flags: LadderFlags, env: Record<string, string | undefined>): { phases: number[]; options: CapacityOptions; quick: boolean } {
  const phases = parsePhases(flags.phases ?? '1-5');
  const quick = flags.quick ?? false;
  const q = (given: string | undefined, quickValue: string) => given ?? (quick ? quickValue : undefined);
  const options = capacityOptions(
    {
      ...flags,
      phase: String(phases[0]),
      users: flags.users ?? LADDER_USERS,
      settle: q(flags.settle, `${QUICK.settleS}s`),
      hold: q(flags.hold, `${QUICK.holdS}s`),
      confirm: q(flags.confirm, `${QUICK.confirmS}s`),
      resolution: q(flags.resolution, `${QUICK.resolution * 100}%`),
    },
    env,
  );
  return { phases, options, quick };
}

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const cmd = program
    .command('ladder')
    .description('the capacity of each phase on the same workload: rate, factor over the previous phase, rate per core, p99 at a common rate')
    .option('--phases <list>', 'phases to climb, e.g. 1-5 or 2,3 (default 1-5)')
    .option('--quick', `short holds and a coarse resolution for CI (settle ${QUICK.settleS}s, hold ${QUICK.holdS}s, confirm ${QUICK.confirmS}s, resolution ${QUICK.resolution * 100}%)`)
    .option('--objective <spec>', `what a step must hold (default '${DEFAULT_OBJECTIVE}')`)
    .option(WARMUP_FLAG, 'warm-up once per phase after its deployment, at the start rate (default 20s)')
    .option('--settle <time>', 'load at each step before its hold window (default 5s)')
    .option('--hold <time>', 'how long each step is measured (default 20s)')
    .option('--confirm <time>', 'how long the found rate is held to confirm it (default 60s)')
    .option('--max-time <time>', 'budget of each phase\'s search, deployment excluded (default 15m)')
    .option('--start-rate <n>', 'first rate tried on every phase, requests/s (default 100)')
    .option('--max-rate <n>', 'highest rate tried (default: what this machine can drive)')
    .option('--growth <factor>', 'factor between growing steps (default 2)')
    .option('--resolution <pct>', 'bisect until the bracket is this share of the rate (default 5%)')
    .option('--max-steps <n>', 'at most this many steps per phase (default 30)')
    .option('-w, --workload <name>', 'mixed, read-heavy, write-heavy, static (the same on every phase)')
    .option('-u, --users <n>', `users to seed on every phase (default ${Number(LADDER_USERS).toLocaleString('en-US')})`)
    .option('--seed <n>', 'seed of every random choice')
    .option('--runtime <native|docker|auto>', 'where the targets run')
    .option('--out <dir>', 'ladder directory (default .runs/ladder-<time>): ladder.json, summary.md, one directory per phase')
    .option('--no-proxies', 'connect tiers directly instead of through Toxiproxy')
    .option('--no-prometheus', 'do not start a Prometheus for the runs')
    .option('--json', 'print ladder.json on stdout instead of the summary');
  cmd.action(async (flags: LadderFlags) => {
    const { phases, options, quick } = ladderOptions(flags, io.env);
    const got = await runLadder(options, phases, quick, runIO(io));
    if (options.run.json) io.out(JSON.stringify(got.json, null, 2) + '\n');
    else io.out(ladderMarkdown(got.json) + `Reports: ${got.dir}/ladder.json, summary.md, report.html\n`);
    if (got.exitCode === 3) io.err('host sizes were not enforced on every phase: the ladder compares nothing (see ladder.json)\n');
    setExit(got.exitCode);
  });
}

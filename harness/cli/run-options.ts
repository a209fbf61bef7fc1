// Flags shared by `bench run`, `bench up` and `bench drill`.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import type { RunIO } from '../run/lifecycle.ts';
import { phaseParams, PHASE_NUMBERS, type RegisteredParam } from '../../targets/phases/index.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The --phase flag's help: the registered phases, from the ladder. */
export const PHASE_HELP = `phase of the ladder, ${PHASE_NUMBERS[0]}..${PHASE_NUMBERS.at(-1)}`;

/**
 * One flag per option the phases declare (targets/phases/params.ts), with the phases that take
 * it; the values are parsed and checked by resolveRunConfig against the chosen phase's specs.
 */
export function phaseOptionFlags(cmd: Command, known: ReadonlyMap<string, RegisteredParam> = phaseParams): Command {
  for (const p of known.values()) {
    const value = p.type === 'int' ? '<n>' : p.type === 'text' ? p.placeholder : `<${p.choices.join('|')}>`;
    const where = p.phases.length === 1 ? `phase ${p.phases[0]}` : `phases ${p.phases.join(', ')}`;
    cmd.option(`${p.flag} ${value}`, `${p.help} (${where})`);
  }
  return cmd;
}

/** The flags that choose and size a target. */
export function targetOptions(cmd: Command): Command {
  return phaseOptionFlags(cmd.option('-p, --phase <n>', PHASE_HELP).option('-u, --users <n>', 'users to seed (1e6, 1000000, 1_000_000, 1M)'))
    .option('--seed <n>', 'seed of every random choice: same seed, same data and traffic')
    .option('--runtime <native|docker|auto>', 'where the target runs (auto: Docker when a daemon answers)')
    .option('--images <official|local>', 'Docker images: pulled official ones, or built here without a registry')
    .option('--grafana', 'Docker: also start Grafana with the dashboards provisioned')
    .option('--out <dir>', 'run directory (default .runs/<run id>); one that already holds a run is refused')
    .option('--force', 'with --out: remove the results of the run the directory already holds, then run')
    .option('--settle-timeout <time>', 'how long replicas may take to replay the seed (default 120s)')
    .option('--no-proxies', 'connect tiers directly instead of through Toxiproxy (no chaos on edges)')
    .option('--no-prometheus', 'do not start a Prometheus for the run')
    .option('--prometheus-url <url>', 'use this Prometheus instead of starting one')
    .option('--size <host=cpu[,mem]>', "a host's size instead of the phase's, e.g. --size db-host=1,2g (repeatable)", collect);
}

export const WARMUP_FLAG = '--warmup <time>';
export const WARMUP_HELP = 'warm-up before the measured load, recorded apart (default 20s where caches or replicas exist, else 0; 0 skips)';

export const GENERATOR_THREADS_FLAG = '--generator-threads <n>';
export const GENERATOR_THREADS_HELP = 'embedded engine threads, each sending its part of the schedule (default: the cores the deployed hosts leave free, at least 1)';

/** The flags that shape the load. */
export function loadOptions(cmd: Command): Command {
  return cmd
    .option('-d, --duration <time>', 'load duration (30s, 2m)')
    .option('-r, --rate <n>', 'arrival rate in requests/s (overrides the traffic model)')
    .option('--max-rate <n>', 'the most this machine is asked to drive; beyond it the run is scaled')
    .option('-w, --workload <name>', 'mixed, read-heavy, write-heavy, static')
    .option('--salt <n>', 'sign-up salt of the load (default: a fresh one, recorded in results.json): with --seed, repeats a load exactly')
    .option('--driver <embedded|k6|auto>', 'load driver')
    .option('--k6-bin <path>', 'the k6 binary for --driver k6/auto (default: k6 on PATH; bench never installs k6)')
    .option(GENERATOR_THREADS_FLAG, GENERATOR_THREADS_HELP)
    .option(WARMUP_FLAG, WARMUP_HELP)
    .option('--p99 <ms>', 'p99 latency objective in ms (default 500)')
    .option('--max-error-rate <pct>', 'error rate objective (default 1%)')
    .option('--burst <Fx@start+length>', 'multiply the planned arrival rate by F over a window of the measured load, e.g. 5x@20s+10s')
    .option('--chaos <fault@time>', 'inject a fault during the run, e.g. dead-server@30s (repeatable)', collect)
    .option('--json', 'print results.json on stdout instead of the human summary');
}

export function runIO(io: CliIO): RunIO {
  return {
    progress: (line) => io.err(`${line}\n`),
    write: (text) => io.err(text),
    isTTY: io.isTTY,
    signal: io.signal,
    abort: io.abort,
    cwd: io.cwd,
  };
}

// bench k6 export: a self-contained k6 script and env file for a phase's workload, runnable with
// plain `k6 run`.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CliIO } from './io.ts';
import { usageError } from '../errors.ts';
import { parseCount, parseDuration, parseRate } from './parse.ts';
import { phaseFor } from '../run/config.ts';
import { exportK6 } from '../load/k6/export.ts';
import { stagesFor, trafficModel } from '../load/traffic-model.ts';
import { listRuns } from '../runtime/state.ts';
import { endpointUrl, type DeployPlan } from '../topology/plan.ts';
import { workloads } from '../../loadtests/workloads.ts';

interface ExportFlags {
  phase?: string;
  workload: string;
  users?: string;
  rate?: string;
  duration: string;
  seed: string;
  apiUrl?: string;
  staticUrl?: string;
  out: string;
  p99: string;
  maxErrorRate: string;
}

/** The entry URLs of the newest run of `phase` that is up, if any. */
async function upTargets(phase: number): Promise<{ api: string; static: string } | null> {
  for (const run of (await listRuns()).reverse()) {
    try {
      const plan = JSON.parse(await readFile(join(run.runDir, 'plan.json'), 'utf8')) as DeployPlan;
      if (plan.topology.phase !== phase) continue;
      const at = (name: string) => endpointUrl(plan.services.find((s) => s.name === name)!.address);
      return { api: at(plan.topology.entry), static: at(plan.topology.staticEntry ?? plan.topology.entry) };
    } catch {
      /* a run without a plan: skip */
    }
  }
  return null;
}

export function register(program: Command, io: CliIO): void {
  const k6 = program.command('k6').description('the k6 side of bench');
  k6.command('export')
    .description('write a self-contained k6 script and env file for a phase and workload (run them with plain k6)')
    .option('-p, --phase <n>', 'phase of the ladder, 1..7')
    .option('-w, --workload <name>', `one of ${Object.keys(workloads).join(', ')}`, 'mixed')
    .option('-u, --users <n>', 'seeded users the ids are drawn from')
    .option('-r, --rate <n>', 'steady arrival rate (default: the traffic model)')
    .option('-d, --duration <time>', 'duration of the ramp', '60s')
    .option('--seed <n>', 'seed of the id sequence', '1')
    .option('--api-url <url>', 'API base URL (default: the entry of a `bench up` of that phase)')
    .option('--static-url <url>', 'static assets base URL (default: the API URL, or the phase\'s CDN edge)')
    .option('--p99 <ms>', 'p99 threshold in ms', '500')
    .option('--max-error-rate <fraction>', 'http_req_failed threshold', '0.01')
    .option('--out <dir>', 'where to write the files', '.')
    .action(async (flags: ExportFlags) => {
      const phase = phaseFor(flags.phase);
      if (!workloads[flags.workload]) throw usageError(`--workload ${JSON.stringify(flags.workload)} is not a workload`, `choose one of ${Object.keys(workloads).join(', ')}`);
      const users = flags.users ? parseCount('--users', flags.users) : Math.max(1000, phase.usersRange[0]);
      const durationS = parseDuration('--duration', flags.duration, { min: 5 });
      const up = await upTargets(phase.phase);
      const api = flags.apiUrl ?? up?.api;
      if (!api) throw usageError(`no --api-url and no run of phase ${phase.phase} is up`, `start one with: bench up --phase ${phase.phase}, or pass --api-url http://127.x.y.z:port`);
      const model = trafficModel({ users, rateOverride: flags.rate ? parseRate('--rate', flags.rate) : null });
      const out = await exportK6({
        phase: phase.phase,
        workload: flags.workload,
        outDir: resolve(io.cwd, flags.out),
        targets: { api, static: flags.staticUrl ?? up?.static ?? api },
        users,
        seed: Number(flags.seed),
        stages: stagesFor(model.targetRps, durationS),
        objectives: { p99Ms: Number(flags.p99), maxErrorRate: Number(flags.maxErrorRate) },
        prometheusRwUrl: null,
      });
      io.out(`wrote ${out.script}\nwrote ${out.env}\nrun it with:\n  ${out.command}\n`);
    });
}

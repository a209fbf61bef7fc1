// bench status: the runs bench knows of, their services and addresses, the shard map.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliIO } from './io.ts';
import { listRuns } from '../runtime/state.ts';
import { formatPlan } from '../run/describe.ts';
import type { DeployPlan } from '../topology/plan.ts';
import { dockerAnswers, listDockerRuns } from '../runtime/docker/docker.ts';
import { connectDocker, dockerSocketPath } from '../runtime/docker/client.ts';

export function register(program: Command, io: CliIO): void {
  program
    .command('status')
    .description('list running targets: their services, addresses and shard map')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const runs = await listRuns({ warn: (l) => io.err(`bench: warning: ${l}\n`) });
      const docker = (await dockerAnswers()) ? await listDockerRuns(connectDocker(dockerSocketPath())) : [];
      if (opts.json) {
        io.out(JSON.stringify({ native: runs, docker }, null, 2) + '\n');
        return;
      }
      for (const run of docker) {
        io.out(`docker run ${run.runId}${run.kept ? ' (kept)' : ''}${run.harnessAlive ? '' : ' (harness gone)'}\n`);
        for (const c of run.containers) io.out(`    ${c.state.padEnd(8)} ${c.name}\n`);
        io.out('\n');
      }
      if (runs.length === 0 && docker.length === 0) {
        io.out('no run is up (bench up --phase N starts one)\n');
        return;
      }
      for (const run of runs) {
        let planText = '';
        try {
          const plan = JSON.parse(await readFile(join(run.runDir, 'plan.json'), 'utf8')) as DeployPlan;
          planText = formatPlan(plan, run.runDir);
        } catch {
          planText = `run ${run.runId} (no plan.json in ${run.runDir})\n`;
        }
        io.out(planText);
        for (const s of run.services) io.out(`    pid ${String(s.pid).padStart(7)}  ${s.alive ? 'running' : 'gone   '}  ${s.name}\n`);
        io.out('\n');
      }
    });
}

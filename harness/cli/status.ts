// bench status: the runs bench knows of, their services and addresses, the shard map. Each
// runtime lists its own runs (state files natively, labels in Docker).
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliIO } from './io.ts';
import { formatPlan } from '../run/describe.ts';
import type { DeployPlan } from '../topology/plan.ts';
import { knownRuntimes } from '../runtime/select.ts';
import type { RunListing } from '../runtime/types.ts';

export function register(program: Command, io: CliIO): void {
  program
    .command('status')
    .description('list running targets: their services, addresses and shard map')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const warn = (l: string) => io.err(`bench: warning: ${l}\n`);
      const byRuntime: Record<string, RunListing[]> = {};
      for (const r of knownRuntimes(io.env)) byRuntime[r.kind] = await r.list({ warn });
      if (opts.json) {
        io.out(JSON.stringify(Object.fromEntries(Object.entries(byRuntime).map(([k, runs]) => [k, runs.map((run) => run.detail)])), null, 2) + '\n');
        return;
      }
      const all = Object.values(byRuntime).flat();
      if (all.length === 0) {
        io.out('no run is up (bench up --phase N starts one)\n');
        return;
      }
      for (const run of all) {
        io.out(await header(run));
        for (const u of run.units) io.out(`    ${u}\n`);
        io.out('\n');
      }
    });
}

/** A run's heading: its plan (addresses, shard map) when its run directory has one. */
async function header(run: RunListing): Promise<string> {
  if (run.runDir === null) return `${run.runtime} run ${run.runId}${run.kept ? ' (kept)' : ''}${run.harnessAlive ? '' : ' (harness gone)'}\n`;
  try {
    const plan = JSON.parse(await readFile(join(run.runDir, 'plan.json'), 'utf8')) as DeployPlan;
    return formatPlan(plan, run.runDir);
  } catch {
    return `run ${run.runId} (no plan.json in ${run.runDir})\n`;
  }
}

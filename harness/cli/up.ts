// bench up: deploy a phase and seed it, then leave it running and print where everything is.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { runIO, targetOptions } from './run-options.ts';
import { resolveRunConfig, type RawRunOptions } from '../run/config.ts';
import { deployTarget } from '../run/lifecycle.ts';
import { formatPlan } from '../run/describe.ts';
import { markKept } from '../runtime/state.ts';

export function register(program: Command, io: CliIO): void {
  const cmd = program.command('up').description('deploy a phase, seed its users and leave it running (bench status shows it, bench down removes it)');
  targetOptions(cmd);
  cmd.action(async (flags: RawRunOptions) => {
    const config = { ...resolveRunConfig(flags, io.env), keep: true };
    const deployed = await deployTarget(config, runIO(io));
    // The harness's own /metrics ends with this process; the services stay.
    await deployed.metrics?.close();
    if (io.signal.aborted) {
      await deployed.deployment.down();
      return;
    }
    // Kept: the next run's clean-up of dead harnesses must leave it alone (bench down stops it).
    // Natively in its state file; a Docker run has none (its labels are its record): its detach marks it
    if (deployed.deployment.runtime === 'native') await markKept(deployed.runId);
    await deployed.deployment.detach?.();
    io.out(formatPlan(deployed.plan, deployed.runDir));
    io.out(`\nrun ${deployed.runId} is up. Stop it with: bench down ${deployed.runId}\n`);
  });
}

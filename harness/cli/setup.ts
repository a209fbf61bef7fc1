// bench setup: install what the native runtime needs (Debian/Ubuntu, as root). Idempotent.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { setup } from '../env/setup.ts';

export function register(program: Command, io: CliIO): void {
  program
    .command('setup')
    .description('install the servers and tools the native runtime needs (apt-get, and Toxiproxy built with Go)')
    .option('--all', 'also install what the tests and benchmarks use (wrk, chromium, docker.io; k6 is yours to install: see bench doctor)')
    .option('--dry-run', 'say what would be installed, install nothing')
    .action(async (opts: { all?: boolean; dryRun?: boolean }) => {
      const log = (line: string) => io.err(line + '\n');
      const { installed, present } = await setup({ all: opts.all ?? false, dryRun: opts.dryRun ?? false, log });
      io.out(`already present: ${present.length ? present.join(', ') : 'none'}\n`);
      io.out(installed.length ? `installed: ${installed.join(', ')}\n` : 'installed: nothing (all present)\n');
    });
}

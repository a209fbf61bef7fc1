// bench doctor: what is installed, what is missing, how to get it.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { formatDoctor, inspect } from '../env/doctor.ts';

export function register(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .description('list each component bench uses, its version, and the command to get it when missing')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rows = await inspect();
      if (opts.json) {
        io.out(JSON.stringify(rows.map((r) => ({ name: r.component.name, binary: r.component.binary, required: r.component.required, path: r.path, version: r.version, howToGet: r.howToGet })), null, 2) + '\n');
      } else io.out(formatDoctor(rows) + '\n');
      if (rows.some((r) => r.component.required && !r.path)) setExit(3);
    });
}

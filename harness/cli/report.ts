// bench report <run-dir>: re-render report.html, summary.md and junit.xml from results.json.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import type { CliIO } from './io.ts';
import { readResults } from '../../reports/load.ts';
import { writeReports } from '../../reports/index.ts';

export function register(program: Command, io: CliIO): void {
  program
    .command('report')
    .description('re-render report.html, summary.md and junit.xml of a run from its results.json')
    .argument('<run-dir>', 'a run directory (holds results.json), or the path of a results.json')
    .action(async (runDir: string) => {
      const dir = resolve(io.cwd, runDir.endsWith('.json') ? join(runDir, '..') : runDir);
      const results = await readResults(runDir.endsWith('.json') ? resolve(io.cwd, runDir) : join(dir, 'results.json'));
      const files = await writeReports(dir, results);
      io.out(`wrote ${Object.values(files).join(', ')}\n`);
    });
}

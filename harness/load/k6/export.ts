// `bench export-k6`: one self-contained k6 script (the workload's TypeScript and its imports
// bundled into one JavaScript file) plus a .env file, for running the same load with plain k6,
// on another machine, without bench.
//
// k6 has no --env-file flag (checked in k6 v1.8.1: only -e/--env VAR=value), so the .env file is
// plain KEY=VALUE lines with no comments, quotes or spaces, which `env $(cat file)` passes as they
// are. The run's settings are also baked into the bundle as defaults, so a bare `k6 run` works too.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BenchError } from '../../errors.ts';
import { repoRoot } from '../../env/which.ts';
import { prometheusRwEnv, scriptEnv, type K6CommandOptions } from './args.ts';

/** What an export needs: a run's load settings, without the paths a live run uses. */
// no salt: an exported script is run for many loads, and each must pick its own (or be given one)
export interface ExportK6Options extends Omit<K6CommandOptions, 'script' | 'summaryPath' | 'jsonOutPath' | 'salt'> {
  phase: number;
  outDir: string;
  /** where the exported script writes its JSON summary when run; default summary.json (k6's working directory) */
  summaryPath?: string;
  /** the folder of the k6 scripts; default the repository's loadtests/ */
  loadtestsDir?: string;
}

/** The files written and the command that runs them. */
export interface ExportedK6Script {
  /** the bundled script */
  script: string;
  /** the KEY=VALUE file */
  env: string;
  /** how to run it, from outDir */
  command: string;
}

/** Writes <outDir>/bench-phase<N>-<workload>.js and .env; returns their paths and the command. */
export async function exportK6(opts: ExportK6Options): Promise<ExportedK6Script> {
  const entry = join(opts.loadtestsDir ?? join(repoRoot, 'loadtests'), `${opts.workload}.k6.ts`);
  if (!existsSync(entry)) {
    throw new BenchError('usage', `there is no k6 script for the ${opts.workload} workload (${entry})`, 'export one of the workloads that has a loadtests/<name>.k6.ts');
  }
  const env = scriptEnv({ ...opts, summaryPath: opts.summaryPath ?? 'summary.json' });
  const k6Env = opts.prometheusRwUrl === null ? {} : prometheusRwEnv(opts.prometheusRwUrl, opts.nativeHistograms ?? false);
  const all = { ...env, ...k6Env };
  for (const [k, v] of Object.entries(all)) {
    // double quotes (JSON) are fine: a command substitution's words get no quote removal
    if (/[\s'\\$`]/.test(v)) {
      throw new BenchError('usage', `${k}=${v} cannot go in a .env file run with env $(cat ...)`, 'use a value without spaces or shell characters');
    }
  }
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const stem = `bench-phase${opts.phase}-${opts.workload}`;
  const scriptPath = join(outDir, `${stem}.js`);
  const envPath = join(outDir, `${stem}.env`);
  const command = runCommand(basename(scriptPath), basename(envPath), opts.prometheusRwUrl !== null);

  try {
    await build({
      entryPoints: [entry],
      outfile: scriptPath,
      bundle: true,
      format: 'esm',
      // k6's VM (Sobek) is an ES2020-ish runtime without Node: no Node built-ins, no polyfills
      platform: 'neutral',
      target: 'es2020',
      external: ['k6', 'k6/*'],
      define: { __BENCH_BAKED_ENV__: JSON.stringify(env) },
      banner: {
        js: [
          `// bench phase ${opts.phase}, workload ${opts.workload}: a k6 script exported by \`bench export-k6\`.`,
          `// Run:  ${command}`,
          '// Every BENCH_* variable in the .env file is also baked in below as a default (k6 -e or the',
          '// environment overrides it); docs/K6.md in the bench repository lists them.',
        ].join('\n'),
      },
      legalComments: 'none',
      logLevel: 'silent',
      write: true,
    });
  } catch (err) {
    throw new BenchError('internal', `cannot bundle ${entry}: ${(err as Error).message.split('\n')[0]}`, 'run `npm run typecheck` to find the error', { cause: err });
  }
  // `env $(cat file)` splits on whitespace and does no quote removal: one bare KEY=VALUE a line
  await writeFile(envPath, Object.entries(all).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return { script: scriptPath, env: envPath, command };
}

/** The shell command that runs an exported script with its .env file. */
export function runCommand(script: string, envFile: string, prometheus: boolean): string {
  return `env $(cat ${envFile}) k6 run${prometheus ? ' -o experimental-prometheus-rw' : ''} ${script}`;
}

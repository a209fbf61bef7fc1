// `bench` run in-process for tests: the CLI's own entry (runCli) with captured output, so a test
// asserts the exit code and the one-line errors without spawning a process.
import { afterAll, beforeAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/main.ts';
import { listRuns } from '../runtime/state.ts';
import type { CliIO } from '../cli/io.ts';
import { repoRoot } from '../env/which.ts';

export interface CliOutcome {
  code: number;
  out: string;
  err: string;
}

/** Runs `bench <args>` in this process; `cwd` defaults to the repository root. */
export async function runBench(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliOutcome> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    // the CLI reads its environment from io.env: a test's private state root (set in process.env
    // by usePrivateRoots or by the test) must reach the commands that read it there (down, status)
    env: opts.env ?? (process.env.BENCH_STATE_DIR ? { BENCH_STATE_DIR: process.env.BENCH_STATE_DIR } : {}),
    isTTY: false,
    signal: new AbortController().signal,
    cwd: opts.cwd ?? repoRoot,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

/**
 * For a test file that runs `bench` on real servers: a private state root (BENCH_STATE_DIR) and
 * an output root, made before the file's tests and removed after them, when every run still
 * listed there is first taken down by its id (a failed assertion leaves no deployment behind).
 */
export function usePrivateRoots(prefix: string): { outRoot: () => string } {
  let stateRoot = '';
  let outRoot = '';
  const saved = process.env.BENCH_STATE_DIR;
  beforeAll(async () => {
    stateRoot = await mkdtemp(join(tmpdir(), `${prefix}-`));
    outRoot = await mkdtemp(join(tmpdir(), `${prefix}-out-`));
    process.env.BENCH_STATE_DIR = stateRoot;
  });
  afterAll(async () => {
    for (const run of await listRuns()) await runBench(['down', run.runId]);
    if (saved === undefined) delete process.env.BENCH_STATE_DIR;
    else process.env.BENCH_STATE_DIR = saved;
    await rm(stateRoot, { recursive: true, force: true });
    await rm(outRoot, { recursive: true, force: true });
  });
  return { outRoot: () => outRoot };
}

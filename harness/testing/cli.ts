// `bench` run in-process for tests: the CLI's own entry (runCli) with captured output, so a test
// asserts the exit code and the one-line errors without spawning a process.
import { runCli } from '../cli/main.ts';
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
    env: opts.env ?? {},
    isTTY: false,
    signal: new AbortController().signal,
    cwd: opts.cwd ?? repoRoot,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

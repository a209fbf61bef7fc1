// The k6 load driver: runs a bench k6 script with real k6 and reads what it measured into the same
// LoadResults the embedded engine returns (driver: 'k6').
//
// Exit codes (k6 errext/exitcodes): 0 ok; 99 thresholds crossed -> thresholdsFailed (bench exit 1);
// 104 invalid config, or 107 from the script's own settings check -> usage error; 105 stopped by a signal -> interrupted (results are still
// returned when bench itself asked k6 to stop); anything else -> an internal error with k6's last
// error line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { BenchError } from '../../errors.ts';
import { which } from '../../env/which.ts';
import { K6_INSTALL_HINT } from '../../env/components.ts';
import type { LoadResults } from '../../../reports/schema.ts';
import { k6Command, type K6CommandOptions } from './args.ts';
import { mergeJsonOutput, readK6JsonOutput } from './json-output.ts';
import { failedThresholds, k6SummaryToLoadResults, parseK6Summary } from './summary.ts';

// the CLI imports the whole k6 driver from this one module
export { exportK6, type ExportK6Options, type ExportedK6Script } from './export.ts';

/** k6's exit code when thresholds were crossed. */
export const K6_THRESHOLDS_FAILED = 99;
/** k6's exit code when its configuration is invalid. */
export const K6_INVALID_CONFIG = 104;
/** k6's exit code when the script threw. */
export const K6_SCRIPT_EXCEPTION = 107;
/** k6's exit code when a signal stopped it (it still writes its summary after the first one). */
export const K6_EXTERNAL_ABORT = 105;

const INSTALL_HINT = `${K6_INSTALL_HINT}; or use --driver embedded`;

/** What runK6 needs beyond the command line. */
export interface RunK6Options extends K6CommandOptions {
  /** stop the run: k6 gets SIGTERM, ends its iterations, writes its summary; what it measured is returned */
  signal?: AbortSignal;
  /** every line k6 prints, stdout and stderr, as it prints it */
  onLine?: (line: string) => void;
  /** the k6 binary (--k6-bin); default: `k6` on PATH */
  binary?: string;
  /** the environment k6 inherits (the BENCH_* and K6_* variables are added); default process.env */
  env?: NodeJS.ProcessEnv;
  /** after an abort, how long k6 may take to stop before SIGKILL; default 30 s */
  stopGraceMs?: number;
}

/** What one k6 run gave. */
export interface K6RunResult {
  results: LoadResults;
  exitCode: number;
  /** k6 exited 99: thresholds crossed (bench's exit 1) */
  thresholdsFailed: boolean;
  /** the crossed thresholds, "metric expression" */
  failedThresholds: string[];
  /**
   * when the schedule started (ms since epoch): from k6's first progress line ("running (01.0s)"
   * seen at T means a start at T - 1 s), else the first sample of the JSON output, else the spawn
   */
  startedAtMs: number;
}

/**
 * Where k6 is, or null: `binary` (--k6-bin) when given and executable, else `k6` on PATH. Only the
 * user's own install counts: bench never fetches or builds k6, so its .tools/bin is not searched.
 */
export function findK6(env: NodeJS.ProcessEnv = process.env, binary?: string | null): string | null {
  if (binary !== undefined && binary !== null) return which(binary.includes('/') ? binary : `./${binary}`, []);
  return which('k6', [], env.PATH ?? '', null);
}

/** True when a k6 binary is there (`binary`, else on PATH). */
export async function k6Available(env: NodeJS.ProcessEnv = process.env, binary?: string | null): Promise<boolean> {
  return findK6(env, binary) !== null;
}

/** Runs k6 for one load phase of a bench run. */
export async function runK6(opts: RunK6Options): Promise<K6RunResult> {
  const binary = findK6(opts.env ?? process.env, opts.binary);
  if (binary === null) {
    throw new BenchError('environment', opts.binary ? `--k6-bin ${opts.binary} is not an executable file` : 'k6 is not installed', INSTALL_HINT);
  }
  if (!existsSync(opts.script)) {
    throw new BenchError('usage', `there is no k6 script for the ${opts.workload} workload (${opts.script})`, 'use --driver embedded for this workload');
  }
  // a summary left by an earlier run must never pass for this one's
  await rm(opts.summaryPath, { force: true });
  await mkdir(dirname(opts.summaryPath), { recursive: true });
  if (opts.jsonOutPath !== null) {
    await rm(opts.jsonOutPath, { force: true });
    await mkdir(dirname(opts.jsonOutPath), { recursive: true });
  }
  if (opts.signal?.aborted) throw new BenchError('interrupted', 'the load phase was interrupted before k6 started');

  const cmd = k6Command(opts);
  const spawnedAtMs = Date.now();
  const outcome = await spawnK6(binary, cmd.args, { ...(opts.env ?? process.env), ...cmd.env }, opts);

  const aborted = opts.signal?.aborted === true;
  const code = outcome.code;
  if (!(code === 0 || code === K6_THRESHOLDS_FAILED || (aborted && code === K6_EXTERNAL_ABORT))) {
    throw exitError(code, outcome.signal, aborted, outcome.lastError);
  }
  let summaryText: string;
  try {
    summaryText = await readFile(opts.summaryPath, 'utf8');
  } catch {
    if (aborted) throw new BenchError('interrupted', 'k6 was stopped before it wrote its summary');
    throw new BenchError('internal', `k6 exited ${code} but wrote no summary at ${opts.summaryPath}`, 'the script must export handleSummary from loadtests/lib/script.ts');
  }
  let json: unknown;
  try {
    json = JSON.parse(summaryText);
  } catch {
    throw new BenchError('internal', `k6's summary at ${opts.summaryPath} is not JSON`, 'rerun; if it persists, report it with the file');
  }
  const summary = parseK6Summary(json);
  const scheduleS = opts.stages.reduce((t, s) => t + s.durationS, 0);
  // a stopped run lasted until it was stopped, as the engine reports it
  const durationS = aborted && summary.testRunDurationMs !== null ? Math.min(scheduleS, summary.testRunDurationMs / 1000) : scheduleS;
  let results = k6SummaryToLoadResults(summary, { workload: opts.workload, stages: opts.stages, durationS });
  let startedAtMs = outcome.progressStartMs ?? spawnedAtMs;
  if (opts.jsonOutPath !== null && existsSync(opts.jsonOutPath)) {
    const out = await readK6JsonOutput(opts.jsonOutPath, { stages: opts.stages, t0Ms: outcome.progressStartMs ?? undefined });
    results = mergeJsonOutput(results, out);
    if (outcome.progressStartMs === null && out.startedAtMs !== null) startedAtMs = out.startedAtMs;
  }
  results = { ...results, generator: { ...results.generator, peakRssMb: Math.round(outcome.peakRssKb / 102.4) / 10 } };
  return {
    results,
    exitCode: code ?? -1,
    thresholdsFailed: code === K6_THRESHOLDS_FAILED,
    failedThresholds: failedThresholds(summary),
    startedAtMs,
  };
}

/** The BenchError for a k6 exit bench does not accept. */
export function exitError(code: number | null, signal: NodeJS.Signals | null, aborted: boolean, lastError: string | null): BenchError {
  const why = lastError ? `: ${lastError}` : '';
  if (code === K6_INVALID_CONFIG) {
    return new BenchError('usage', `k6 rejected the run's configuration${why}`, 'check --stages/--rate and the BENCH_* variables (docs/K6.md)');
  }
  // the script's own settings check (loadtests/lib/config.ts) throws in k6's init context: exit 107
  if (code === K6_SCRIPT_EXCEPTION && lastError?.includes('bench k6 script:')) {
    return new BenchError('usage', lastError.replace(/^Error: /, ''), 'the BENCH_* variables are listed in docs/K6.md');
  }
  if (code === K6_EXTERNAL_ABORT || (code === null && (aborted || signal === 'SIGINT' || signal === 'SIGTERM'))) {
    return new BenchError('interrupted', `k6 was stopped by a signal${why}`);
  }
  if (code === null) return new BenchError('internal', `k6 was killed by ${signal ?? 'a signal'}${why}`, 'see the k6 output above');
  return new BenchError('internal', `k6 exited with code ${code}${why}`, 'see the k6 output above (k6 exit codes: docs/K6.md)');
}

/** k6's text log line -> its message, when it is an error ("level=error msg=..."). */
export function errorMessageOf(line: string): string | null {
  const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(line);
  if (m === null) return null;
  // a script exception carries its stack after an escaped newline: the first line says it
  return m[1].replace(/\\"/g, '"').split(/\\n|\n/)[0].trim();
}

/** k6's progress line -> seconds since the test started ("running (1m05.0s), 010/100 VUs, ..."). */
export function progressSeconds(line: string): number | null {
  const m = /^running \((?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s\)/.exec(line);
  if (m === null) return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
}

interface SpawnOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  lastError: string | null;
  peakRssKb: number;
  /** the test's start, from the first progress line; null when k6 printed none */
  progressStartMs: number | null;
}

function spawnK6(binary: string, args: string[], env: NodeJS.ProcessEnv, opts: RunK6Options): Promise<SpawnOutcome> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let lastError: string | null = null;
    let peakRssKb = 0;
    let progressStartMs: number | null = null;
    const onLine = (line: string) => {
      const msg = errorMessageOf(line);
      if (msg !== null) lastError = msg;
      if (progressStartMs === null) {
        const elapsed = progressSeconds(line);
        if (elapsed !== null && elapsed > 0) progressStartMs = Date.now() - elapsed * 1000;
      }
      opts.onLine?.(line);
    };
    const streamsDone = [child.stdout, child.stderr].map((stream) => {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', onLine);
      return new Promise<void>((r) => rl.once('close', () => r()));
    });
    // VmHWM is the peak resident set so far: the last reading before exit is the run's peak
    const rssTimer = setInterval(() => {
      void readFile(`/proc/${child.pid}/status`, 'utf8')
        .then((s) => {
          const kb = Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0);
          if (kb > peakRssKb) peakRssKb = kb;
        })
        .catch(() => undefined);
    }, 500);
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), opts.stopGraceMs ?? 30_000);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearInterval(rssTimer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        err.code === 'ENOENT' || err.code === 'EACCES'
          ? new BenchError('environment', `k6 cannot be started (${binary}: ${err.code})`, INSTALL_HINT, { cause: err })
          : new BenchError('internal', `k6 failed to start: ${err.message}`, undefined, { cause: err }),
      );
    });
    child.once('close', (code, signal) => {
      cleanup();
      void Promise.all(streamsDone).then(() => resolvePromise({ code, signal, lastError, peakRssKb, progressStartMs }));
    });
  });
}

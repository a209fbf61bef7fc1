// runK6's process handling against a stand-in `k6` (a shell script that writes a real k6 summary
// fixture and exits with the code a test asks for). The real k6 runs in driver.int.test.ts.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoadResults } from '../../../reports/schema.ts';
import { BenchError } from '../../errors.ts';
import { errorMessageOf, exitError, k6Available, progressSeconds, runK6, type RunK6Options } from './driver.ts';

const tmp = mkdtempSync(join(tmpdir(), 'bench-k6-driver-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

// The stand-in: records its arguments, prints like k6, writes the summary (and the JSON output when
// asked) and exits with $FAKE_EXIT. FAKE_WAIT=1 makes it run until SIGTERM, then exit 105 as k6 does.
const fakeBin = join(tmp, 'bin');
mkdirSync(fakeBin);
writeFileSync(
  join(fakeBin, 'k6'),
  `#!/bin/bash
printf '%s\\n' "$@" > "$FAKE_ARGS"
env | grep -E '^(BENCH|K6)_' | sort > "$FAKE_ENV"
if [ "$FAKE_PROGRESS" != 0 ]; then echo "running (01.0s), 000/010 VUs, 9 complete and 0 interrupted iterations"; fi
echo 'time="2026-01-01T00:00:00Z" level=warning msg="Request Failed" error="timeout"' >&2
finish() {
  if [ -n "$FAKE_SUMMARY" ]; then cp "$FAKE_SUMMARY" "$BENCH_SUMMARY_PATH"; fi
  for a in "$@"; do case "$a" in json=*) cp "$FAKE_NDJSON" "\${a#json=}";; esac; done
  if [ -n "$FAKE_ERROR" ]; then echo "time=\\"2026-01-01T00:00:01Z\\" level=error msg=\\"$FAKE_ERROR\\"" >&2; fi
}
if [ "$FAKE_WAIT" = 1 ]; then
  trap 'finish "$@"; exit 105' TERM
  echo ready
  while true; do sleep 0.05; done
fi
finish "$@"
exit "$FAKE_EXIT"
`,
);
chmodSync(join(fakeBin, 'k6'), 0o755);

let n = 0;
function options(fake: Record<string, string>, over: Partial<RunK6Options> = {}): RunK6Options & { argsFile: string; envFile: string } {
  const dir = join(tmp, `run-${++n}`);
  const argsFile = join(dir, 'args');
  const envFile = join(dir, 'env');
  mkdirSync(dir);
  return {
    script: new URL('../../../loadtests/mixed.k6.ts', import.meta.url).pathname,
    targets: { api: 'http://127.3.1.1:8000', static: 'http://127.3.1.1:8000' },
    users: 1000,
    seed: 42,
    stages: [{ durationS: 0, targetRate: 10 }, { durationS: 3, targetRate: 10 }],
    workload: 'mixed',
    objectives: { p99Ms: 250, maxErrorRate: 0.01 },
    prometheusRwUrl: null,
    summaryPath: join(dir, 'out', 'summary.json'),
    jsonOutPath: null,
    env: {
      PATH: `${fakeBin}:/usr/bin:/bin`,
      FAKE_ARGS: argsFile,
      FAKE_ENV: envFile,
      FAKE_EXIT: '0',
      FAKE_SUMMARY: fixture('k6-v1.8.1-summary.json'),
      FAKE_NDJSON: fixture('k6-v1.8.1-output.ndjson'),
      ...fake,
    },
    argsFile,
    envFile,
    ...over,
  };
}

describe('k6Available', () => {
  it('finds k6 on PATH, and says so when it is not there', async () => {
    expect(await k6Available({ PATH: fakeBin })).toBe(true);
    expect(await k6Available({ PATH: join(tmp, 'nowhere'), BENCH_TOOLS_BIN: join(tmp, 'nowhere') })).toBe(false);
  });
});

describe('runK6', () => {
  it('fails with an environment error and a hint when k6 is not installed', async () => {
    const o = options({});
    const err = await runK6({ ...o, env: { PATH: join(tmp, 'nowhere'), BENCH_TOOLS_BIN: join(tmp, 'nowhere') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('environment');
    expect((err as BenchError).message).toBe('k6 is not installed');
    expect((err as BenchError).hint).toMatch(/install it from .* or use --driver embedded/);
  });

  it('runs `k6 run` on the script with the BENCH_* variables and reads its summary into LoadResults', async () => {
    const o = options({});
    const lines: string[] = [];
    const before = Date.now();
    const r = await runK6({ ...o, onLine: (l) => lines.push(l) });
    // k6 printed "running (01.0s)": its test had started a second before that line came
    expect(r.startedAtMs).toBeGreaterThanOrEqual(before - 1000);
    expect(r.startedAtMs).toBeLessThanOrEqual(Date.now() - 1000);
    expect(r.exitCode).toBe(0);
    expect(r.thresholdsFailed).toBe(false);
    expect(() => LoadResults.parse(r.results)).not.toThrow();
    expect(r.results.driver).toBe('k6');
    expect(r.results.totals.requests).toBe(28);
    expect(r.results.series).toEqual([]); // no --out json asked
    const args = readFileSync(o.argsFile, 'utf8').trim().split('\n');
    expect(args[0]).toBe('run');
    expect(args.at(-1)).toBe(o.script);
    expect(readFileSync(o.envFile, 'utf8')).toContain(`BENCH_SUMMARY_PATH=${o.summaryPath}\n`);
    expect(lines).toContain('running (01.0s), 000/010 VUs, 9 complete and 0 interrupted iterations');
    expect(lines.some((l) => l.includes('level=warning'))).toBe(true); // stderr lines too
  });

  it('maps exit 99 to thresholdsFailed with the crossed thresholds', async () => {
    const r = await runK6(options({ FAKE_EXIT: '99' }));
    expect(r.exitCode).toBe(99);
    expect(r.thresholdsFailed).toBe(true);
    expect(r.failedThresholds.sort()).toEqual(['http_req_duration p(99)<250', 'http_req_failed rate<0.01']);
  });

  it('adds the per-second series from --out json', async () => {
    // no progress line: the series starts at the first sample (the fixture's times are in the past)
    const o = options({ FAKE_PROGRESS: '0' });
    const r = await runK6({ ...o, jsonOutPath: join(tmp, `json-${n}`, 'k6.ndjson') });
    expect(r.results.series.length).toBeGreaterThanOrEqual(3);
    expect(r.results.series.reduce((a, p) => a + p.requests, 0)).toBe(28);
    expect(r.startedAtMs).toBe(Date.parse('2026-11-28T19:15:26.767Z'));
  });

  it.each([
    ['104', 'usage', /k6 rejected the run's configuration: bad stages/],
    ['107', 'internal', /k6 exited with code 107: bad stages/],
    ['105', 'interrupted', /k6 was stopped by a signal/],
    ['1', 'internal', /k6 exited with code 1: bad stages/],
    ['107', 'usage', /^bench k6 script: BENCH_STAGES is not JSON: x$/, 'Error: bench k6 script: BENCH_STAGES is not JSON: x'],
  ])('turns exit %s into a %s error with k6’s last error line', async (code, kind, message, error = 'bad stages') => {
    const err = await runK6(options({ FAKE_EXIT: code, FAKE_ERROR: error })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe(kind);
    expect((err as BenchError).message).toMatch(message);
  });

  it('never reads a summary an earlier run left behind', async () => {
    const o = options({ FAKE_SUMMARY: '' });
    mkdirSync(join(o.summaryPath, '..'), { recursive: true });
    writeFileSync(o.summaryPath, readFileSync(fixture('k6-v1.8.1-summary.json')));
    const err = await runK6(o).catch((e: unknown) => e);
    expect((err as BenchError).message).toMatch(/wrote no summary/);
    expect(existsSync(o.summaryPath)).toBe(false);
  });

  it('refuses a workload without a script', async () => {
    const err = await runK6({ ...options({}), workload: 'queue', script: join(tmp, 'queue.k6.ts') }).catch((e: unknown) => e);
    expect((err as BenchError).code).toBe('usage');
  });

  it('on abort, stops k6 with SIGTERM and returns what it measured', async () => {
    const ac = new AbortController();
    const o = options({ FAKE_WAIT: '1' }, { stages: [{ durationS: 60, targetRate: 10 }] });
    const started = Date.now();
    const r = await runK6({
      ...o,
      signal: ac.signal,
      onLine: (l) => {
        if (l === 'ready') ac.abort();
      },
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.exitCode).toBe(105);
    expect(r.thresholdsFailed).toBe(false);
    expect(r.results.totals.requests).toBe(28);
    // a stopped run lasted what k6 ran (the fixture's 3.3 s), not the 60 s it was scheduled for
    expect(r.results.durationS).toBeCloseTo(3.3, 1);
  });
});

describe('k6 output helpers', () => {
  it('reads the elapsed time of k6 progress lines', () => {
    expect(progressSeconds('running (01.0s), 000/010 VUs, 49 complete and 0 interrupted iterations')).toBe(1);
    expect(progressSeconds('running (1m05.5s), 010/100 VUs, 9 complete')).toBe(65.5);
    expect(progressSeconds('running (2h0m01.0s), 1/1 VUs')).toBe(7201);
    expect(progressSeconds('load   [  20% ] 000/010 VUs  1.0s/5s  050.00 iters/s')).toBeNull();
  });

  it('pulls the message out of k6 error log lines, the first line of a stack', () => {
    expect(errorMessageOf('time="x" level=error msg="thresholds on metrics \'http_req_duration\' have been crossed"')).toBe(
      "thresholds on metrics 'http_req_duration' have been crossed",
    );
    expect(errorMessageOf('time="x" level=error msg="Error: bench k6 script: BENCH_API_URL is not set\\n\\tat benchScript (file:///x.ts:1:1)" hint="script exception"')).toBe(
      'Error: bench k6 script: BENCH_API_URL is not set',
    );
    expect(errorMessageOf('time="x" level=warning msg="Request Failed"')).toBeNull();
    expect(errorMessageOf('running (01.0s), 000/010 VUs')).toBeNull();
  });

  it('treats a k6 killed by SIGKILL as an internal failure, by SIGTERM as an interruption', () => {
    expect(exitError(null, 'SIGKILL', false, null).code).toBe('internal');
    expect(exitError(null, 'SIGTERM', false, null).code).toBe('interrupted');
    expect(exitError(null, 'SIGKILL', true, null).code).toBe('interrupted');
  });
});

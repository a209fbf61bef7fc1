// Where the recorded real k6 output lives, for tests that need no k6 binary. The files are copies,
// byte for byte (SHA256SUMS), of shared/fixtures/k6/ (k6 v2.2.0 against a phase-2 deployment; its
// README says how each was made), kept in the repository so a clean clone tests them with nothing
// beside it. BENCH_K6_FIXTURES points the tests at another copy (e.g. shared/fixtures/k6 itself);
// a folder that is not there is an error, never a skipped test.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from '../../env/which.ts';
import type { Stage } from '../../../reports/schema.ts';

/** The in-repo copy. */
export const RECORDED_IN_REPO = join(repoRoot, 'harness', 'load', 'k6', 'fixtures', 'k6-v2.2.0');
/** Where the originals sit on a machine laid out as CI's clone is: shared/ beside the repository. */
export const RECORDED_SHARED = resolve(repoRoot, '..', 'shared', 'fixtures', 'k6');

/** The recorded runs: folder -> what k6 did. */
export const RECORDED_RUNS = ['healthy', 'dead-app-server', 'segments/1-of-2', 'segments/2-of-2'] as const;
export type RecordedRun = (typeof RECORDED_RUNS)[number];

/** The folder the tests read; throws when it is missing (a test must fail, not skip). */
export function recordedDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.BENCH_K6_FIXTURES ?? RECORDED_IN_REPO;
  if (!existsSync(join(dir, 'README.md'))) {
    throw new Error(`the recorded k6 output is not at ${dir}${env.BENCH_K6_FIXTURES ? ' (BENCH_K6_FIXTURES)' : ''}: restore harness/load/k6/fixtures/k6-v2.2.0 from git`);
  }
  return dir;
}

/** path -> sha256 from a SHA256SUMS file ("<hex>  ./path" lines). */
export function readSums(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}\.\/(.+)$/.exec(line);
    if (m) out.set(m[2], m[1]);
  }
  return out;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The run's stages, from the exported .env file every recorded run used. */
export function recordedStages(dir = recordedDir()): Stage[] {
  const env = readFileSync(join(dir, 'export', 'bench-phase2-mixed.env'), 'utf8');
  const raw = /^BENCH_STAGES=(.+)$/m.exec(env)?.[1];
  if (raw === undefined) throw new Error('the recorded .env file has no BENCH_STAGES');
  return JSON.parse(raw) as Stage[];
}

/** Every http_req_duration sample value of a recorded run's NDJSON, in file order. */
export function recordedDurations(run: RecordedRun, dir = recordedDir()): number[] {
  const text = gunzipSync(readFileSync(join(dir, run, 'points.ndjson.gz'))).toString('utf8');
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"metric":"http_req_duration"') || line.includes('"type":"Metric"')) continue;
    out.push((JSON.parse(line) as { data: { value: number } }).data.value);
  }
  return out;
}

/** k6's own percentile of a trend (its TrendSink: linear interpolation between the two nearest ranks), p in 0..100. */
export function k6Percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const i = (p / 100) * (sorted.length - 1);
  const lo = sorted[Math.floor(i)];
  const hi = sorted[Math.ceil(i)];
  return lo + (hi - lo) * (i - Math.floor(i));
}

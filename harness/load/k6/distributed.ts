// Load beyond one machine with k6's own distribution, not a home-made coordinator:
// - execution segments: K `k6 run` processes, each given `--execution-segment i/K:(i+1)/K` and the
//   same `--execution-segment-sequence 0,1/K,...,1`, split one open-model schedule exactly (k6
//   hands each process its share of every stage's iterations); each writes its own NDJSON, which
//   `bench k6 merge` turns into one report;
// - the k6-operator: a `TestRun` (k6.io/v1alpha1) with `parallelism: K` does the same split on
//   Kubernetes, the script coming from a ConfigMap.
//
// The TestRun's fields are typed here after the CRD (grafana/k6-operator api/v1alpha1
// testrun_types.go: TestRunSpec, K6Script, K6Configmap, Pod), only those bench sets, and
// TestRunSchema checks a manifest strictly, so a misspelt field fails a test instead of being
// dropped by the API server.
import { z } from 'zod';
import { BenchError } from '../../errors.ts';

/** "a/b" in lowest terms; "0" and "1" for the ends (k6 parses both forms). */
export function fraction(num: number, den: number): string {
  if (num === 0) return '0';
  if (num === den) return '1';
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(num, den);
  return `${num / g}/${den / g}`;
}

/** The most generators an export describes: k6 segments are exact at any count; this bounds typos. */
export const MAX_SEGMENTS = 1000;

/** k6's --execution-segment-sequence for K equal segments: 0,1/K,...,1. */
export function segmentSequence(k: number): string {
  checkSegments(k);
  return Array.from({ length: k + 1 }, (_, i) => fraction(i, k)).join(',');
}

/** The i-th (0-based) of K equal segments: "i/K:(i+1)/K". */
export function segment(i: number, k: number): string {
  checkSegments(k);
  if (!Number.isInteger(i) || i < 0 || i >= k) throw new RangeError(`segment ${i} of ${k}`);
  return `${fraction(i, k)}:${fraction(i + 1, k)}`;
}

function checkSegments(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_SEGMENTS) throw new BenchError('usage', `--segments ${k} is not an integer in 1..${MAX_SEGMENTS}`, 'give the number of k6 processes, e.g. --segments 4');
}

/** One generator's part of a segmented run. */
export interface SegmentCommand {
  /** 1-based */
  index: number;
  segment: string;
  /** the folder it writes its output in (relative to the export folder) */
  dir: string;
  /** the shell line, run from the export folder */
  command: string;
}

/**
 * The K `k6 run` commands of a segmented run. Each runs in its own folder under the export folder
 * (the script and .env file one level up, as copied to each generator machine) and writes there
 * its NDJSON (points.ndjson.gz), its summary (summary.json, from the bench handleSummary) and k6's
 * --summary-export. BENCH_SALT is passed through from the shell: one value exported before starting
 * every generator makes one salt for the whole load; left unset, each generator draws its own
 * (sign-ups stay unique either way).
 */
export function segmentCommands(script: string, envFile: string, k: number, prometheus: boolean): SegmentCommand[] {
  const sequence = segmentSequence(k);
  return Array.from({ length: k }, (_, i) => {
    const dir = `segment-${i + 1}-of-${k}`;
    const seg = segment(i, k);
    const command = [
      `mkdir -p ${dir} && cd ${dir} &&`,
      `env $(cat ../${envFile}) k6 run --no-usage-report`,
      `--execution-segment '${seg}' --execution-segment-sequence '${sequence}'`,
      `-e BENCH_SALT="$BENCH_SALT"`,
      `--summary-export summary-export.json --out json=points.ndjson.gz`,
      ...(prometheus ? ['-o experimental-prometheus-rw'] : []),
      `../${script}`,
    ].join(' ');
    return { index: i + 1, segment: seg, dir, command };
  });
}

// --- the k6-operator TestRun ------------------------------------------------------------------

const EnvVar = z.strictObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), value: z.string() });
const ObjectMeta = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS-1123 label').max(63),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

/** The ConfigMap that carries the script (core/v1). */
export const ConfigMapSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: ObjectMeta,
  data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string()),
});
export type ConfigMap = z.infer<typeof ConfigMapSchema>;

/** TestRun (k6.io/v1alpha1), the fields bench sets; names and types as in TestRunSpec / Pod. */
export const TestRunSchema = z.strictObject({
  apiVersion: z.literal('k6.io/v1alpha1'),
  kind: z.literal('TestRun'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    /** int32 in the CRD: the number of k6 runners, each given one equal execution segment */
    parallelism: z.number().int().min(1).max(2 ** 31 - 1),
    script: z.strictObject({ configMap: z.strictObject({ name: z.string().min(1), file: z.string().regex(/^[^/]+\.(js|tar)$/, 'a file name (no path) ending in .js or .tar') }) }),
    /** run the runners on different nodes (podAntiAffinity): K machines, not K pods on one */
    separate: z.boolean().optional(),
    /** extra k6 arguments; the operator adds the execution segments itself */
    arguments: z.string().optional(),
    runner: z.strictObject({ image: z.string().optional(), env: z.array(EnvVar).optional() }).optional(),
  }),
});
export type TestRun = z.infer<typeof TestRunSchema>;

export interface TestRunOptions {
  /** metadata.name of both objects (a DNS-1123 label) */
  name: string;
  parallelism: number;
  /** the script's file name, its ConfigMap key */
  scriptFile: string;
  scriptText: string;
  /** the BENCH_* (and K6_*) variables of the export's .env file */
  env: Record<string, string>;
  /** Prometheus base URL the runners remote-write to; null: no output */
  prometheusUrl: string | null;
  /** the runner image; default grafana/k6 (the user's choice of version: bench pins none) */
  image?: string;
}

/** The ConfigMap and the TestRun, checked against their schemas. */
export function testRunManifest(opts: TestRunOptions): { configMap: ConfigMap; testRun: TestRun } {
  const configMap: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${opts.name}-script` }, data: { [opts.scriptFile]: opts.scriptText } };
  const env = Object.entries(opts.env).map(([name, value]) => ({ name, value }));
  const testRun: TestRun = {
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: { name: opts.name, labels: { 'app.kubernetes.io/part-of': 'bench' } },
    spec: {
      parallelism: opts.parallelism,
      script: { configMap: { name: configMap.metadata.name, file: opts.scriptFile } },
      separate: true,
      ...(opts.prometheusUrl === null ? {} : { arguments: '-o experimental-prometheus-rw' }),
      runner: { image: opts.image ?? 'grafana/k6', env },
    },
  };
  for (const [what, schema, value] of [['ConfigMap', ConfigMapSchema, configMap], ['TestRun', TestRunSchema, testRun]] as const) {
    const r = schema.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new BenchError('usage', `the ${what} would be invalid: ${issue.path.join('.')}: ${issue.message}`, 'check --name and the URLs');
    }
  }
  return { configMap, testRun };
}

/**
 * A YAML stream of the objects, each document written as JSON: YAML 1.2 reads JSON as it is, so
 * `kubectl apply -f` takes the file, and every string (the whole script too) stays byte-exact
 * without a YAML library's quoting rules to trust.
 */
export function yamlStream(objects: readonly unknown[]): string {
  return objects.map((o) => `---\n${JSON.stringify(o, null, 2)}\n`).join('');
}

/** Parses what yamlStream wrote (for tests and `bench k6` itself; not a general YAML reader). */
export function parseYamlStream(text: string): unknown[] {
  return text
    .split(/^---\n/m)
    .filter((doc) => doc.trim() !== '')
    .map((doc) => JSON.parse(doc) as unknown);
}

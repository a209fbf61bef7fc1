// Load beyond one machine: the execution segments of `bench k6 export --segments K`, the
// k6-operator TestRun of `--k6-operator`, and the export's checks of its numbers and URLs.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigMapSchema, fraction, parseYamlStream, segment, segmentCommands, segmentSequence, testRunManifest, TestRunSchema, yamlStream } from './distributed.ts';
import { runBench } from '../../testing/cli.ts';
import { recordedDir } from './recorded.ts';

const tmp = mkdtempSync(join(tmpdir(), 'bench-k6-dist-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('execution segments', () => {
  it('splits [0, 1] into K equal, contiguous segments with one shared sequence', () => {
    expect(segmentSequence(1)).toBe('0,1');
    expect(segmentSequence(4)).toBe('0,1/4,1/2,3/4,1');
    expect(fraction(6, 8)).toBe('3/4');
    for (const k of [1, 2, 3, 7, 10, 64]) {
      const bounds = segmentSequence(k).split(',');
      expect(bounds.length).toBe(k + 1);
      for (let i = 0; i < k; i++) expect(segment(i, k)).toBe(`${bounds[i]}:${bounds[i + 1]}`);
    }
  });

  it('gives the flags the recorded two-generator run used (shared/fixtures/k6/README.md)', () => {
    const readme = readFileSync(join(recordedDir(), 'README.md'), 'utf8');
    const cmds = segmentCommands('bench-phase2-mixed.js', 'bench-phase2-mixed.env', 2, false);
    expect(cmds.map((c) => c.segment)).toEqual(['0:1/2', '1/2:1']);
    for (const c of cmds) {
      expect(readme).toContain(`--execution-segment ${c.segment}`);
      expect(c.command).toContain(`--execution-segment '${c.segment}' --execution-segment-sequence '0,1/2,1'`);
      expect(c.command).toContain('--out json=points.ndjson.gz');
      expect(c.command).toContain('env $(cat ../bench-phase2-mixed.env) k6 run');
      expect(c.command).toContain('-e BENCH_SALT="$BENCH_SALT"');
    }
    expect(readme).toContain('--execution-segment-sequence 0,1/2,1');
    expect(new Set(cmds.map((c) => c.dir)).size).toBe(2);
    expect(segmentCommands('s.js', 's.env', 2, true)[0].command).toContain('-o experimental-prometheus-rw');
  });

  it('refuses a segment count that is not a positive integer', () => {
    expect(() => segmentSequence(0)).toThrow(/--segments 0/);
    expect(() => segmentSequence(1.5)).toThrow(/--segments/);
  });
});

describe('the k6-operator TestRun', () => {
  const base = {
    name: 'bench-phase5-mixed',
    parallelism: 4,
    scriptFile: 'bench-phase5-mixed.js',
    scriptText: 'export default function () {}\n// "quotes", \\backslashes\\, $vars and\ttabs\n',
    env: { BENCH_API_URL: 'http://bench.example:8080', BENCH_STAGES: '[{"durationS":0,"targetRate":8}]' },
    prometheusUrl: 'http://prometheus.monitoring.svc:9090',
  };

  it('has parallelism K, the script from its ConfigMap, the env, and the remote-write output', () => {
    const { configMap, testRun } = testRunManifest(base);
    expect(testRun.spec.parallelism).toBe(4);
    expect(testRun.spec.script.configMap).toEqual({ name: configMap.metadata.name, file: 'bench-phase5-mixed.js' });
    expect(configMap.data['bench-phase5-mixed.js']).toBe(base.scriptText);
    expect(testRun.spec.arguments).toBe('-o experimental-prometheus-rw');
    expect(testRun.spec.runner?.env).toEqual([
      { name: 'BENCH_API_URL', value: 'http://bench.example:8080' },
      { name: 'BENCH_STAGES', value: '[{"durationS":0,"targetRate":8}]' },
    ]);
    expect(testRunManifest({ ...base, prometheusUrl: null }).testRun.spec.arguments).toBeUndefined();
  });

  it('round-trips through the YAML file byte for byte, each document valid against its schema', () => {
    const { configMap, testRun } = testRunManifest(base);
    const docs = parseYamlStream(yamlStream([configMap, testRun]));
    expect(docs).toEqual([configMap, testRun]);
    expect(ConfigMapSchema.safeParse(docs[0]).success).toBe(true);
    expect(TestRunSchema.safeParse(docs[1]).success).toBe(true);
  });

  it('negative control: the schema rejects a misspelt field, a zero parallelism, a path as the script file', () => {
    const { testRun } = testRunManifest(base);
    expect(TestRunSchema.safeParse({ ...testRun, spec: { ...testRun.spec, paralellism: 4 } }).success).toBe(false);
    expect(TestRunSchema.safeParse({ ...testRun, spec: { ...testRun.spec, parallelism: 0 } }).success).toBe(false);
    expect(TestRunSchema.safeParse({ ...testRun, spec: { ...testRun.spec, script: { configMap: { name: 'x', file: 'dir/x.js' } } } }).success).toBe(false);
    expect(() => testRunManifest({ ...base, name: 'Not_A_Name' })).toThrow(/would be invalid/);
  });
});

describe('bench k6 export --segments / --k6-operator', () => {
  it('writes the script, the env file and one command per generator', async () => {
    const c = await runBench(['k6', 'export', '--phase', '2', '--api-url', 'http://127.1.1.1:8080', '--segments', '3', '--out', 'seg'], { cwd: tmp });
    const code = c.code;
    expect(c.err).toBe('');
    expect(code).toBe(0);
    const sh = readFileSync(join(tmp, 'seg', 'bench-phase2-mixed.segments.sh'), 'utf8');
    expect(sh.match(/^mkdir -p segment-\d-of-3 /gm)?.length).toBe(3);
    expect(sh).toContain("--execution-segment '2/3:1' --execution-segment-sequence '0,1/3,2/3,1'");
    expect(sh).toContain('bench k6 merge --env bench-phase2-mixed.env segment-1-of-3 segment-2-of-3 segment-3-of-3');
    expect(readFileSync(join(tmp, 'seg', 'bench-phase2-mixed.env'), 'utf8')).not.toContain('BENCH_SALT');
  });

  it('writes a TestRun manifest for phase 5 that kubectl can apply', async () => {
    const c = await runBench(
      ['k6', 'export', '--phase', '5', '--workload', 'mixed', '--users', '1e6', '--rate', '2000', '--duration', '5m', '--segments', '4', '--k6-operator',
        '--api-url', 'http://bench-phase5-entry.bench.svc:8080', '--prometheus-url', 'http://prometheus.monitoring.svc:9090', '--out', 'op'],
      { cwd: tmp },
    );
    const code = c.code;
    expect(c.err).toBe('');
    expect(code).toBe(0);
    expect(c.out).toContain('kubectl apply -f bench-phase5-mixed.testrun.yaml');
    const [cm, tr] = parseYamlStream(readFileSync(join(tmp, 'op', 'bench-phase5-mixed.testrun.yaml'), 'utf8'));
    const testRun = TestRunSchema.parse(tr);
    const configMap = ConfigMapSchema.parse(cm);
    expect(testRun.spec.parallelism).toBe(4);
    expect(testRun.spec.separate).toBe(true);
    expect(configMap.data['bench-phase5-mixed.js']).toBe(readFileSync(join(tmp, 'op', 'bench-phase5-mixed.js'), 'utf8'));
    const env = Object.fromEntries(testRun.spec.runner!.env!.map((e) => [e.name, e.value]));
    expect(env.BENCH_API_URL).toBe('http://bench-phase5-entry.bench.svc:8080');
    expect(env.BENCH_USERS).toBe('1000000');
    expect(env.K6_PROMETHEUS_RW_SERVER_URL).toBe('http://prometheus.monitoring.svc:9090/api/v1/write');
    expect(env.K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM).toBe('true');
    expect(env.BENCH_SALT).toBeUndefined();
  });

  it.each([
    [['--segments', '0'], /--segments 0 is out of range/],
    [['--segments', 'two'], /--segments "two" is not a whole number/],
    [['--segments', '1001'], /--segments 1001 is out of range/],
    [['--p99', '-3'], /--p99 "-3" is not a positive number/],
    [['--p99', 'fast'], /--p99 "fast" is not a positive number/],
    [['--max-error-rate', '2'], /--max-error-rate "2" is not a fraction/],
    [['--seed', '-1'], /--seed -1 is out of range/],
    [['--rate', 'lots'], /--rate "lots" is not a positive rate/],
    [['--api-url', 'ftp://x'], /--api-url "ftp:\/\/x" is not an http\(s\) URL/],
    [['--api-url', 'not a url'], /--api-url "not a url" is not a URL/],
    [['--prometheus-url', 'localhost:9090'], /--prometheus-url "localhost:9090" is not an http\(s\) URL/],
    [['--k6-operator'], /--k6-operator needs --segments/],
    [['--k6-operator', '--segments', '2'], /loopback address, which no pod can reach/],
    [['--k6-operator', '--segments', '2', '--api-url', 'http://bench.example:8080', '--name', 'Bad_Name'], /--name "Bad_Name" is not a Kubernetes name/],
    [['--name', 'x'], /--name only applies with --k6-operator/],
  ])('bad input %j: one line, exit 2, nothing written', async (extra, message) => {
    const args = ['k6', 'export', '--phase', '2', '--out', 'bad', ...extra];
    if (!extra.includes('--api-url')) args.push('--api-url', 'http://127.1.1.1:8080');
    const c = await runBench(args, { cwd: tmp });
    const code = c.code;
    expect(c.err).toMatch(message);
    expect(c.err.trim().split('\n').length).toBe(1);
    expect(code).toBe(2);
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
  });
});

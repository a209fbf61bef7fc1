import { describe, expect, it } from 'vitest';
import { k6Command, prometheusRwEnv, shellLine, type K6CommandOptions } from './args.ts';
import { readConfig } from '../../../loadtests/lib/config.ts';

const base: K6CommandOptions = {
  script: 'loadtests/mixed.k6.ts',
  targets: { api: 'http://127.3.1.1:8000', static: 'http://127.4.1.1:8080' },
  users: 1_000_000,
  seed: 42,
  stages: [
    { durationS: 0, targetRate: 5 },
    { durationS: 30, targetRate: 100 },
  ],
  workload: 'mixed',
  objectives: { p99Ms: 250, maxErrorRate: 0.01 },
  prometheusRwUrl: null,
  summaryPath: '/runs/r1/k6-summary.json',
  jsonOutPath: null,
};

describe('k6Command', () => {
  it('runs the script with usage reports, the REST API and colours off, and p(99.9) in the trend stats', () => {
    const cmd = k6Command(base);
    expect(cmd.command).toBe('k6');
    expect(cmd.args[0]).toBe('run');
    expect(cmd.args.at(-1)).toBe('loadtests/mixed.k6.ts');
    expect(cmd.args).toContain('--no-usage-report');
    expect(cmd.args).toContain('--address=');
    expect(cmd.args).toContain('--no-color');
    const stats = cmd.args[cmd.args.indexOf('--summary-trend-stats') + 1];
    expect(stats.split(',')).toEqual(expect.arrayContaining(['p(99)', 'p(99.9)', 'max', 'avg', 'med', 'count']));
    expect(cmd.args).not.toContain('-o');
    expect(cmd.args.some((a) => a.startsWith('json='))).toBe(false);
  });

  it('passes every setting to the script as BENCH_* variables the script reads back unchanged', () => {
    const cmd = k6Command({ ...base, vus: { preAllocated: 20, max: 300 }, timeoutMs: 5000 });
    expect(cmd.env).toMatchObject({
      BENCH_API_URL: 'http://127.3.1.1:8000',
      BENCH_STATIC_URL: 'http://127.4.1.1:8080',
      BENCH_USERS: '1000000',
      BENCH_SEED: '42',
      BENCH_WORKLOAD: 'mixed',
      BENCH_P99_MS: '250',
      BENCH_MAX_ERROR_RATE: '0.01',
      BENCH_SUMMARY_PATH: '/runs/r1/k6-summary.json',
      BENCH_PREALLOCATED_VUS: '20',
      BENCH_MAX_VUS: '300',
      BENCH_TIMEOUT_MS: '5000',
    });
    // the round trip through the script's own parser is the real contract
    const config = readConfig(cmd.env, 'mixed');
    expect(config.stages).toEqual(base.stages);
    expect(config.users).toBe(1_000_000);
    expect(config.seed).toBe(42);
    expect(config.apiUrl).toBe('http://127.3.1.1:8000');
    expect(config.staticUrl).toBe('http://127.4.1.1:8080');
    expect(config.p99Ms).toBe(250);
    expect(config.maxErrorRate).toBe(0.01);
    expect(config.preAllocatedVUs).toBe(20);
    expect(config.maxVUs).toBe(300);
    expect(config.timeoutMs).toBe(5000);
    expect(config.summaryPath).toBe('/runs/r1/k6-summary.json');
  });

  it('adds --out json=<path> when asked', () => {
    const cmd = k6Command({ ...base, jsonOutPath: '/runs/r1/k6.ndjson.gz' });
    const i = cmd.args.indexOf('--out');
    expect(i).toBeGreaterThan(0);
    expect(cmd.args[i + 1]).toBe('json=/runs/r1/k6.ndjson.gz');
    expect(cmd.args.at(-1)).toBe(base.script);
  });

  it('remote-writes to Prometheus with the trend stats as gauges by default', () => {
    const cmd = k6Command({ ...base, prometheusRwUrl: 'http://127.2.0.1:9090/' });
    expect(cmd.args[cmd.args.indexOf('-o') + 1]).toBe('experimental-prometheus-rw');
    expect(cmd.env.K6_PROMETHEUS_RW_SERVER_URL).toBe('http://127.2.0.1:9090/api/v1/write');
    expect(cmd.env.K6_PROMETHEUS_RW_TREND_STATS).toBe('p(50),p(90),p(95),p(99),max');
    expect(cmd.env.K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM).toBeUndefined();
    expect(cmd.env.K6_PROMETHEUS_RW_STALE_MARKERS).toBe('true');
  });

  it('sends trends as native histograms when asked, without the per-stat gauges', () => {
    const env = prometheusRwEnv('http://127.2.0.1:9090', true);
    expect(env.K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM).toBe('true');
    expect(env.K6_PROMETHEUS_RW_TREND_STATS).toBeUndefined();
  });

  it('prints as a shell line a person can paste', () => {
    const line = shellLine(k6Command(base));
    expect(line).toContain(`BENCH_STAGES='[{"durationS":0,"targetRate":5},{"durationS":30,"targetRate":100}]'`);
    expect(line).toContain("--summary-trend-stats 'avg,min,med,max,p(90),p(95),p(99),p(99.9),count'");
    expect(line.endsWith(' k6 run --no-usage-report --address= --no-color --summary-trend-stats \'avg,min,med,max,p(90),p(95),p(99),p(99.9),count\' --include-system-env-vars loadtests/mixed.k6.ts')).toBe(true);
  });
});

// exportK6 bundles a real script with esbuild; the bundle is then run under Node with stand-ins
// for k6's three modules, which checks what the requests look like without k6 on the machine.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BenchError } from '../../errors.ts';
import { exportK6, type ExportK6Options } from './export.ts';
import { iterationPlanner } from '../../../loadtests/lib/plan.ts';
import { workloads } from '../../../loadtests/workloads.ts';

const tmp = mkdtempSync(join(tmpdir(), 'bench-k6-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const opts: ExportK6Options = {
  phase: 3,
  workload: 'mixed',
  outDir: join(tmp, 'out'),
  targets: { api: 'http://127.3.1.1:8000', static: 'http://127.4.1.1:8080' },
  users: 5000,
  seed: 9,
  stages: [{ durationS: 0, targetRate: 5 }, { durationS: 60, targetRate: 200 }],
  objectives: { p99Ms: 300, maxErrorRate: 0.02 },
  prometheusRwUrl: null,
};

interface Sent {
  method: string;
  url: string;
  body: string | null;
  params: { tags?: Record<string, string>; cookies?: Record<string, { value: string }>; timeout?: number; headers?: Record<string, string> };
}

/** Loads an exported bundle under Node with k6's modules replaced by recorders. */
async function loadBundle(script: string, env: Record<string, string>) {
  const stubs = join(tmp, `stubs-${Math.random().toString(36).slice(2)}`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(stubs);
  writeFileSync(join(stubs, 'exec.mjs'), 'export default { scenario: { get iterationInTest() { return globalThis.__iteration; } } };');
  writeFileSync(
    join(stubs, 'http.mjs'),
    `const rec = (method) => (url, a, b) => {
       const body = method === 'GET' ? null : a; const params = (method === 'GET' ? a : b) ?? {};
       globalThis.__sent.push({ method, url, body, params });
       const login = url.endsWith('/api/login');
       return { status: 200, cookies: login ? { sid: [{ name: 'sid', value: 'session-' + JSON.parse(body).id }] } : {} };
     };
     // k6's http.expectedStatuses, for entries whose success is not 200..399 (phase 6's 201 and 202)
     export default { get: rec('GET'), put: rec('PUT'), post: rec('POST'), expectedStatuses: (...statuses) => ({ statuses }) };`,
  );
  writeFileSync(join(stubs, 'k6.mjs'), 'export function check(v, sets) { return Object.values(sets).every((f) => f(v)); }');
  const src = readFileSync(script, 'utf8')
    .replace('from "k6/execution"', `from "${pathToFileURL(join(stubs, 'exec.mjs')).href}"`)
    .replace('from "k6/http"', `from "${pathToFileURL(join(stubs, 'http.mjs')).href}"`)
    .replace('from "k6"', `from "${pathToFileURL(join(stubs, 'k6.mjs')).href}"`);
  const file = join(stubs, 'bundle.mjs');
  writeFileSync(file, src);
  const g = globalThis as unknown as { __ENV: Record<string, string>; __sent: Sent[]; __iteration: number };
  g.__ENV = env;
  g.__sent = [];
  const mod = (await import(pathToFileURL(file).href)) as {
    default: (data: { salt: number }) => void;
    setup: () => { salt: number };
    options: { scenarios: Record<string, { stages: unknown[]; startRate: number }> };
    handleSummary: (d: unknown) => Record<string, string>;
  };
  return {
    mod,
    /** one iteration, with what setup() would have returned for a load with this salt (k6 passes it) */
    run(iteration: number, salt = 0): Sent[] {
      g.__sent = [];
      g.__iteration = iteration;
      mod.default({ salt });
      return g.__sent;
    },
  };
}

describe('exportK6', async () => {
  const exported = await exportK6(opts);

  it('writes a script and an env file named after the phase and workload, and says how to run them', () => {
    expect(exported.script).toBe(join(tmp, 'out', 'bench-phase3-mixed.js'));
    expect(exported.env).toBe(join(tmp, 'out', 'bench-phase3-mixed.env'));
    expect(exported.command).toBe('env $(cat bench-phase3-mixed.env) k6 run bench-phase3-mixed.js');
    const script = readFileSync(exported.script, 'utf8');
    expect(script.startsWith('// bench phase 3, workload mixed')).toBe(true);
    expect(script).toContain(`// Run:  ${exported.command}`);
  });

  it('bundles everything but k6’s own modules into one file', () => {
    const script = readFileSync(exported.script, 'utf8');
    const specifiers = [...script.matchAll(/^\s*import\s[^'"]*["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(specifiers.sort()).toEqual(['k6', 'k6/execution', 'k6/http']);
    expect(script).not.toMatch(/\.ts["']/);
  });

  it('writes the env file as bare KEY=VALUE lines that `env $(cat file)` passes intact', () => {
    const lines = readFileSync(exported.env, 'utf8').trim().split('\n');
    for (const l of lines) expect(l).toMatch(/^[A-Z0-9_]+=\S+$/);
    const vars = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(vars).toMatchObject({
      BENCH_API_URL: 'http://127.3.1.1:8000',
      BENCH_STATIC_URL: 'http://127.4.1.1:8080',
      BENCH_USERS: '5000',
      BENCH_SEED: '9',
      BENCH_WORKLOAD: 'mixed',
      BENCH_P99_MS: '300',
      BENCH_MAX_ERROR_RATE: '0.02',
      BENCH_SUMMARY_PATH: 'summary.json',
    });
    expect(JSON.parse(vars.BENCH_STAGES)).toEqual(opts.stages);
  });

  it('picks one salt per load in setup() (BENCH_SALT when given, never baked in), and signs up ids of that salt', async () => {
    expect(readFileSync(exported.env, 'utf8')).not.toContain('BENCH_SALT');
    const given = await loadBundle(exported.script, { BENCH_SALT: '4242' });
    expect(given.mod.setup()).toEqual({ salt: 4242 });
    const fresh = await loadBundle(exported.script, {});
    const salts = new Set(Array.from({ length: 5 }, () => fresh.mod.setup().salt));
    expect(salts.size).toBeGreaterThan(1);
    for (const s of salts) expect(s).toBeGreaterThan(0);
    const planner = iterationPlanner(workloads.mixed, 5000, 9);
    let seen = 0;
    for (let i = 0; i < 400; i++) {
      const plan = planner.plan(i, 4242);
      if (plan.kind !== 'create') continue;
      const [sent] = given.run(i, 4242);
      expect(JSON.parse(sent.body!).id).toBe(plan.id);
      expect(plan.id).toBeGreaterThan(4242 * 2 ** 28);
      seen++;
    }
    expect(seen).toBeGreaterThan(3);
  });

  it('bakes the settings in, so a bare `k6 run` sends the run’s traffic; k6 variables still win', async () => {
    const { mod, run } = await loadBundle(exported.script, {});
    expect(mod.options.scenarios.load.startRate).toBe(5);
    expect(mod.options.scenarios.load.stages).toEqual([{ duration: '0s', target: 5 }, { duration: '60s', target: 200 }]);
    const planner = iterationPlanner(workloads.mixed, 5000, 9);
    for (let i = 0; i < 200; i++) {
      const sent = run(i);
      const plan = planner.plan(i);
      expect(sent.length).toBe(plan.kind === 'login' ? 2 : 1);
      for (const s of sent) {
        expect(s.params.tags).toEqual({ name: plan.kind });
        expect(s.params.timeout).toBe(10_000);
      }
      const [first] = sent;
      switch (plan.kind) {
        case 'read':
          expect([first.method, first.url]).toEqual(['GET', `http://127.3.1.1:8000/api/users/${plan.id}`]);
          break;
        case 'update':
          expect([first.method, first.url]).toEqual(['PUT', `http://127.3.1.1:8000/api/users/${plan.id}`]);
          expect(JSON.parse(first.body!)).toEqual({ name: plan.name });
          expect(first.params.headers).toEqual({ 'Content-Type': 'application/json' });
          break;
        case 'create':
          expect([first.method, first.url]).toEqual(['POST', 'http://127.3.1.1:8000/api/users']);
          expect(JSON.parse(first.body!)).toEqual({ id: 5000 + i + 1, name: plan.name, email: plan.email });
          break;
        case 'login':
          expect([first.method, first.url, JSON.parse(first.body!)]).toEqual(['POST', 'http://127.3.1.1:8000/api/login', { id: plan.id }]);
          expect([sent[1].method, sent[1].url]).toEqual(['GET', 'http://127.3.1.1:8000/api/me']);
          expect(sent[1].params.cookies).toEqual({ sid: { value: `session-${plan.id}`, replace: true } });
          break;
        case 'static':
          expect([first.method, first.url]).toEqual(['GET', `http://127.4.1.1:8080/static/${plan.asset}`]);
          break;
      }
    }
    const again = await loadBundle(exported.script, { BENCH_API_URL: 'http://127.9.9.9:1', BENCH_SEED: '9' });
    const urls = Array.from({ length: 50 }, (_, i) => again.run(i)[0].url).filter((u) => u.includes('/api/'));
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) expect(u.startsWith('http://127.9.9.9:1/api/')).toBe(true);
  });

  it('adds the remote-write settings and flag when a Prometheus URL is given', async () => {
    const withProm = await exportK6({ ...opts, workload: 'static', prometheusRwUrl: 'http://127.2.0.1:9090' });
    expect(withProm.command).toBe('env $(cat bench-phase3-static.env) k6 run -o experimental-prometheus-rw bench-phase3-static.js');
    const env = readFileSync(withProm.env, 'utf8');
    expect(env).toContain('K6_PROMETHEUS_RW_SERVER_URL=http://127.2.0.1:9090/api/v1/write\n');
    expect(env).toContain('K6_PROMETHEUS_RW_TREND_STATS=p(50),p(90),p(95),p(99),max\n');
  });

  it('refuses a workload without a script, and a value the env file cannot carry', async () => {
    await expect(exportK6({ ...opts, workload: 'queue' })).rejects.toThrow(BenchError);
    await expect(exportK6({ ...opts, workload: 'queue' })).rejects.toThrow(/no k6 script for the queue workload/);
    await expect(exportK6({ ...opts, targets: { api: 'http://127.0.0.1:1/a b', static: 'http://127.0.0.1:1' } })).rejects.toThrow(/cannot go in a \.env file/);
  });
});

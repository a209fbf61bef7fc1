import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboards, DASHBOARDS, dashboardJson } from './index.ts';
import { staleFiles } from './build.ts';
import { DATASOURCE_UID } from './common.ts';
import { addMatcher, checkExpr, fromGrafana, havePromtool, promtoolCheckExprs } from './promql.ts';
import { KNOWN_METRICS, isKnownMetric } from './metrics.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const built = buildDashboards();

type AnyPanel = (Panel | RowPanel) & { targets?: Array<{ expr?: string; datasource?: { uid?: string } }> };

/** Every panel of a dashboard, rows and the panels inside collapsed rows included. */
function allPanels(d: Dashboard): AnyPanel[] {
  const out: AnyPanel[] = [];
  for (const p of (d.panels ?? []) as AnyPanel[]) {
    out.push(p);
    if (p.type === 'row') out.push(...(((p as RowPanel).panels ?? []) as AnyPanel[]));
  }
  return out;
}
const dataPanels = (d: Dashboard) => allPanels(d).filter((p) => p.type !== 'row');
const exprsOf = (d: Dashboard) => [
  ...dataPanels(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
  ...(d.annotations?.list ?? []).map((a) => a.expr ?? '').filter(Boolean),
];

describe('generated dashboards', () => {
  it('match what the code builds now', async () => {
    const stale = await staleFiles();
    expect(stale, `out of date: ${stale.join(', ')} — run npm run dashboards`).toEqual([]);
  });

  it('hold one file per registered dashboard, parseable JSON equal to the build', async () => {
    for (const [file, d] of built) {
      const text = await readFile(join(HERE, 'generated', file), 'utf8');
      expect(text).toBe(dashboardJson(d));
      expect(JSON.parse(text).uid).toBe(d.uid);
    }
    expect([...built.keys()]).toEqual(DASHBOARDS.map((d) => d.file));
  });
});

describe.each([...built.entries()])('dashboard %s', (_file, d) => {
  it('has a uid, a title, the bench tag and the fault annotation on bench-prometheus', () => {
    expect(d.uid).toMatch(/^bench-[a-z]+$/);
    expect(d.title).toMatch(/^bench \/ /);
    expect(d.tags).toContain('bench');
    const faults = d.annotations?.list?.find((a) => a.name === 'Faults');
    expect(faults?.datasource?.uid).toBe(DATASOURCE_UID);
    expect(faults?.expr).toContain('bench_fault_active');
  });

  it('every panel queries bench-prometheus with at least one non-empty expression', () => {
    const panels = dataPanels(d);
    expect(panels.length).toBeGreaterThan(3);
    for (const p of panels) {
      expect(p.datasource?.uid, `panel "${p.title}"`).toBe(DATASOURCE_UID);
      expect(p.targets?.length ?? 0, `panel "${p.title}" targets`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.expr?.trim(), `panel "${p.title}" expr`).toBeTruthy();
        expect(t.datasource?.uid, `panel "${p.title}" target datasource`).toBe(DATASOURCE_UID);
      }
    }
    for (const v of d.templating?.list ?? []) expect((v.datasource as { uid?: string } | undefined)?.uid).toBe(DATASOURCE_UID);
  });

  it('has unique positive panel ids, unique titles, and panels that fit the grid without overlapping', () => {
    const panels = allPanels(d);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && (id as number) > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const titles = dataPanels(d).map((p) => p.title);
    expect(new Set(titles).size).toBe(titles.length);
    const boxes = panels.map((p) => p.gridPos!);
    for (const b of boxes) expect(b.x + b.w).toBeLessThanOrEqual(24);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `"${panels[i]!.title}" overlaps "${panels[j]!.title}"`).toBe(false);
      }
    }
  });

  it('every expression passes the PromQL check and names only known metrics', () => {
    for (const e of exprsOf(d)) expect(checkExpr(e).problems, e).toEqual([]);
  });

  it('scopes every series selector to the selected run', () => {
    expect(d.templating?.list?.[0]?.name).toBe('run');
    for (const e of exprsOf(d)) expect(e.match(/\{run=~"\$run"/g)?.length ?? 0, e).toBe(checkExpr(e).metrics.length);
  });
});

describe('the dashboards cover what each tier needs', () => {
  const text = (uid: string) => JSON.stringify([...built.values()].find((d) => d.uid === uid));
  it.each([
    ['bench-overview', ['k6_http_reqs_total', 'k6_http_req_duration_seconds_bucket', 'histogram_quantile', 'status!~\\"2..|3..\\"', 'k6_dropped_iterations_total', 'http_requests_total', 'bench_fault_active']],
    ['bench-lb', ['haproxy_backend_http_responses_total', 'haproxy_server_status', 'haproxy_backend_current_queue']],
    ['bench-app', ['http_requests_total', 'http_request_duration_seconds_bucket', 'sum by (server)', 'sum by (route)']],
    ['bench-db', ['db_query_duration_seconds_bucket', 'role, shard', 'db_queries_total', 'replica_lag_seconds', 'pg_stat_database_']],
    ['bench-cache', ['cache_requests_total', 'redis_', 'edge_cache_requests_total']],
    ['bench-queue', ['rabbitmq_queue_messages', 'kafka_server_replicamanager_underreplicatedpartitions', 'kafka_server_brokertopicmetrics_messagesinpersec_total', 'kafka_network_requestmetrics_requests_total', 'kafka_log_logendoffset']],
  ])('%s', (uid, needles) => {
    const t = text(uid);
    for (const n of needles) expect(t, n).toContain(n);
  });
});

describe('every PromQL expression parses with promtool', () => {
  const all = [...built.values()].flatMap(exprsOf);
  it.skipIf(!havePromtool())(`${all.length} expressions${havePromtool() ? '' : ' — SKIPPED: promtool not found (apt-get install prometheus)'}`, () => {
    const r = promtoolCheckExprs(all)!;
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.ok, r.output).toBe(true);
  });

  it.skipIf(!havePromtool())('and promtool refuses a broken one (the check can fail)', () => {
    const r = promtoolCheckExprs(['sum(rate(k6_http_reqs_total[1m])'])!;
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/parse error/);
  });
});

describe('checkExpr', () => {
  it('accepts sound expressions', () => {
    for (const e of [
      'sum by (le) (rate(k6_http_req_duration_seconds_bucket[$__rate_interval]))',
      'sum(x_unknown_metric_is_flagged_elsewhere[1m:10s]) or vector(0)'.replace('x_unknown_metric_is_flagged_elsewhere', 'k6_vus'),
      'a_b:c'.replace('a_b:c', 'bench:k6_http_reqs:rate1m') + ' > bool 0.5',
      'sum by (server) (rate(http_requests_total{server=~"$server", status=~"5.."}[5m])) / ignoring (server) group_left () sum(rate(http_requests_total[5m]))',
    ]) {
      expect(checkExpr(e).problems, e).toEqual([]);
    }
  });

  it('flags broken structure, ranges, functions, matchers and unknown metrics', () => {
    const problems = (e: string) => checkExpr(e).problems.join('; ');
    expect(problems('sum(rate(k6_vus[5m])')).toMatch(/unclosed '\('/);
    expect(problems('sum(rate(k6_vus[5m])))')).toMatch(/unbalanced '\)'/);
    expect(problems('rate(k6_vus[5])')).toMatch(/needs a duration/);
    expect(problems('rates(k6_vus[5m])')).toMatch(/unknown function rates/);
    expect(problems('k6_vus{status="2..}')).toMatch(/unterminated string/);
    expect(problems('k6_vus{status=200}')).toMatch(/bad label matcher/);
    expect(problems('sum by (le (k6_vus)')).toMatch(/label list after 'by'/);
    expect(problems('k6_http_reqs_totl')).toMatch(/unknown metric k6_http_reqs_totl/);
    expect(problems('  ')).toBe('empty expression');
  });

  it('knows histogram series of known histograms only', () => {
    expect(isKnownMetric('k6_http_req_duration_seconds_bucket')).toBe(true);
    expect(isKnownMetric('k6_http_reqs_total_bucket')).toBe(false);
    expect(Object.keys(KNOWN_METRICS).length).toBeGreaterThan(40);
  });

  it('adds a matcher to every selector, with or without braces, and nowhere else', () => {
    expect(addMatcher('rate(k6_vus{a="1"}[5m]) / k6_vus', 'run="x"')).toBe('rate(k6_vus{run="x", a="1"}[5m]) / k6_vus{run="x"}');
    expect(addMatcher('sum by (le) (rate(k6_http_req_duration_seconds_bucket[$__rate_interval]))', 'run="x"')).toBe(
      'sum by (le) (rate(k6_http_req_duration_seconds_bucket{run="x"}[$__rate_interval]))',
    );
    expect(addMatcher('sum(up{}) or vector(0)', 'run="x"')).toBe('sum(up{run="x"}) or vector(0)');
    expect(addMatcher('label_replace(up, "a", "$1", "b", "(.+)")', 'run="x"')).toBe('label_replace(up{run="x"}, "a", "$1", "b", "(.+)")');
  });

  it('replaces Grafana variables', () => {
    expect(fromGrafana('rate(x{a=~"$server",b="${route}"}[$__rate_interval])')).toBe('rate(x{a=~".*",b=".*"}[1m])');
  });
});

describe('provisioning', () => {
  it('provisions the datasource uid the dashboards use, its URL from BENCH_PROMETHEUS_URL', async () => {
    const ds = await readFile(join(HERE, 'provisioning/datasources/bench.yaml'), 'utf8');
    expect(ds).toMatch(/^ {4}uid: bench-prometheus$/m);
    expect(ds).toMatch(/^ {4}type: prometheus$/m);
    expect(ds).toMatch(/^ {4}url: \$\{BENCH_PROMETHEUS_URL\}$/m);
    expect(ds).toContain('http://127.0.0.1:9090');
  });

  it('points a file provider at the generated folder', async () => {
    const p = await readFile(join(HERE, 'provisioning/dashboards/bench.yaml'), 'utf8');
    expect(p).toMatch(/^ {4}type: file$/m);
    expect(p).toMatch(/^ {6}path: \$\{BENCH_DASHBOARDS_DIR\}$/m);
    expect(p).toContain('dashboards/generated');
  });
});

describe('buildDashboards', () => {
  it('refuses a uid used twice', () => {
    const one = DASHBOARDS[0]!;
    expect(() => buildDashboards([one, { ...one, file: 'copy.json' }])).toThrow(/uid bench-overview is used twice/);
  });
});

describe('the db dashboard reads the app\'s role label whatever Prometheus did with it', () => {
  // Every scrape target carries role="app", so Prometheus renames the app's own role label to
  // exported_role; a series without the clash keeps role. Both must come out as role.
  it.skipIf(!havePromtool())(`per role and shard${havePromtool() ? '' : ' — SKIPPED: promtool not found'}`, () => {
    const db = [...built.values()].find((d) => d.uid === 'bench-db')!;
    const panel = dataPanels(db).find((p) => p.title === 'Queries by role and shard')!;
    const expr = fromGrafana(panel.targets![0]!.expr!);
    const dir = mkdtempSync(join(tmpdir(), 'bench-role-'));
    try {
      writeFileSync(
        join(dir, 't.yml'),
        [
          'rule_files: []',
          'evaluation_interval: 15s',
          'tests:',
          '  - interval: 15s',
          '    input_series:',
          `      - series: 'db_queries_total{role="app", exported_role="primary", shard="a", run="r1"}'`,
          "        values: '0+150x10'",
          `      - series: 'db_queries_total{role="replica", shard="b", run="r1"}'`,
          "        values: '0+300x10'",
          '    promql_expr_test:',
          `      - expr: ${JSON.stringify(expr)}`,
          '        eval_time: 2m',
          '        exp_samples:',
          `          - labels: '{role="primary", shard="a"}'`,
          '            value: 10',
          `          - labels: '{role="replica", shard="b"}'`,
          '            value: 20',
          '',
        ].join('\n'),
      );
      const r = spawnSync('promtool', ['test', 'rules', 't.yml'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

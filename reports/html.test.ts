import { describe, expect, it } from 'vitest';
import { renderHtml } from './html.ts';
import { buildResults } from './testing/fixture.ts';
import type { Results } from './schema.ts';

const EVIL = '</script><script>alert("x")</script><!--';

/** The text content of <script type="application/json" id="...">. */
function embedded(html: string, id: string): string {
  const m = new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`).exec(html);
  if (!m) throw new Error(`no #${id} in the report`);
  return m[1]!;
}

function hostile(): Results {
  const r = buildResults();
  r.runId = `run-${EVIL}`;
  r.notes.push(`note ${EVIL} & more`);
  r.topology.hosts[0]!.name = `host-${EVIL}`;
  r.topology.services[0]!.host = r.topology.hosts[0]!.name;
  r.faults[0]!.name = `kill ${EVIL}`;
  r.load.endpoints[`GET /x${EVIL}`] = r.load.endpoints['GET /api/me']!;
  r.objectives[0]!.description = `p99 < 100 ms ${EVIL}`;
  r.drills[0]!.reasons.push(`reason ${EVIL}`);
  r.tiers[`tier ${EVIL}`] = { [`figure ${EVIL}`]: 1 };
  r.trafficModel.derivation.push(`line ${EVIL}`);
  return r;
}

describe('renderHtml', () => {
  it("lists the phase's declared options from config.options, and the three fixed ones of older results", () => {
    const r = buildResults();
    r.config.options = { appServers: 4, shards: 2, shardStrategy: 'hash' };
    const html = renderHtml(r);
    for (const row of ['<td>app servers</td><td>4</td>', '<td>shards</td><td>2</td>', '<td>shard strategy</td><td>hash</td>']) expect(html).toContain(row);
    expect(html).not.toContain('<td>replicas</td>');
    const old = buildResults();
    delete old.config.options;
    Object.assign(old.config, { appServers: 3, replicas: 1, shards: 1 });
    expect(renderHtml(old)).toContain('<td>replicas</td><td>1</td>');
  });

  const r = buildResults();
  const html = renderHtml(r);

  it('is one self-contained document: uPlot inlined, no external resources', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('var uPlot=function');
    expect(html).toContain('.uplot');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
  });

  it('shows the header: phase, title, verdict, run id, when', () => {
    expect(html).toContain('phase 3 — Load balancer + read replicas');
    expect(html).toMatch(/<span class="verdict fail" id="verdict">FAIL<\/span>/);
    expect(html).toContain('r-20250314-092653-p3');
    expect(html).toContain('2025-03-14 09:26:53 UTC');
    expect(html).toContain('Failed: objective &quot;error rate&quot;.');
  });

  it('shows the key figures', () => {
    for (const label of ['throughput', 'p50', 'p95', 'p99', 'p99.9', 'max', 'error rate', 'requests']) {
      expect(html).toContain(`<div class="label">${label}</div>`);
    }
    expect(html).toContain('<div class="value">42.1 ms</div>');
    expect(html).toContain(`<div class="value">${r.load.totals.requests.toLocaleString('en-US')}</div>`);
  });

  it('has a chart element for every time chart and Prometheus group, and specs to draw them', () => {
    const specs = JSON.parse(embedded(html, 'bench-charts'));
    const ids = specs.charts.map((c: { id: string }) => c.id);
    expect(ids).toEqual(['throughput', 'latency', 'errors', 'prom-0', 'prom-1', 'prom-2', 'prom-3']);
    for (const id of ids) expect(html).toContain(`<div class="chart" id="chart-${id}" data-chart="${id}"></div>`);
    expect(specs.faults).toEqual([{ label: 'kill app-2', startS: 20, endS: 30 }]);
    expect(specs.durationS).toBe(60);
  });

  it('labels the fault windows under the charts and lists them', () => {
    expect(html).toContain('<span class="fault-label">kill app-2: 20–30 s</span>');
    expect(html).toContain('SIGKILL, restarted after 10 s');
  });

  it('shows objectives, the drill with its figures and reasons, tiers, traffic derivation, endpoints, timings, notes', () => {
    expect(html).toMatch(/<tr class="fail"><td>error rate<\/td>/);
    expect(html).toContain('app-server-kill');
    expect(html).toContain('killing one of 3 app servers costs (almost) no errors');
    expect(html).toContain('24.8 ms → 182 ms');
    expect(html).toContain('<li>0 of 1,840 acknowledged writes lost</li>');
    expect(html).toContain('<h3>lb</h3>');
    expect(html).toContain('redispatches');
    expect(html).toContain('× 3 peak-to-average = 400 req/s at peak');
    expect(html).toContain('GET /api/users/:id');
    expect(html).toContain('<td>502</td>');
    expect(html).toContain('http 503');
    expect(html).toContain('<td>teardown</td>');
    expect(html).toContain('<li>every edge went through Toxiproxy</li>');
  });

  it('draws the topology with a box per host', () => {
    const boxes = html.match(/<g class="host" data-host="/g) ?? [];
    expect(boxes.length).toBe(r.topology.hosts.length);
    expect(html).toContain('<svg id="topology"');
  });

  it('embeds results.json that parses back to the same results', () => {
    expect(JSON.parse(embedded(html, 'bench-results'))).toEqual(r);
  });

  it('warns about a scale factor below 1 and a saturated generator, and not otherwise', () => {
    expect(html).not.toContain('Scaled-down load');
    expect(html).not.toContain('fell behind its schedule');
    const scaled = renderHtml(buildResults({ scaleFactor: 0.25, saturated: true }));
    expect(scaled).toMatch(/class="warning"[^>]*>⚠ Scaled-down load: this run drove 400 req\/s, 25% of the 1,600 req\/s peak/);
    expect(scaled).toMatch(/class="warning"[^>]*>⚠ The load generator fell behind its schedule \(max lag 212 ms\)/);
  });

  it('escapes every text it shows and cannot be broken out of', () => {
    const bad = renderHtml(hostile());
    // Only the report's own four script elements close.
    expect(bad.match(/<\/script>/g)?.length).toBe(4);
    expect(bad.match(/<script>/g)?.length).toBe(2);
    expect(bad).not.toContain('<script>alert');
    expect(bad).not.toContain('<!--');
    expect(bad).toContain('&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;!--');
    // The embedded data still parses to exactly what was rendered.
    expect(JSON.parse(embedded(bad, 'bench-results')).runId).toBe(`run-${EVIL}`);
    expect(JSON.parse(embedded(bad, 'bench-charts')).faults[0].label).toBe(`kill ${EVIL} app-2`);
  });

  it('shows INCONCLUSIVE with its reason, unmeasured latency as n/a, both rates, and unenforced sizes', () => {
    const r2 = buildResults();
    r2.verdict = 'inconclusive';
    r2.verdictReason = 'no request completed: nothing about the system was measured';
    r2.drills[0]!.verdict = 'inconclusive';
    r2.load.latencyMs = { p50: null, p90: null, p95: null, p99: null, p999: null, max: null, mean: null };
    r2.topology.hosts[0]!.sizeEnforced = false;
    r2.trafficModel.achievedScaleFactor = 0.5;
    const h = renderHtml(r2);
    expect(h).toMatch(/id="verdict">INCONCLUSIVE</);
    expect(h).toContain('<p>Inconclusive: no request completed: nothing about the system was measured.</p>');
    expect(h).toContain('<div class="drill inconclusive">');
    expect(h).not.toMatch(/>0 ms</);
    expect(h).toMatch(/<div class="label">p99<\/div><div class="value">n\/a<\/div>/);
    expect(h).toMatch(/<div class="label">failed share \(with dropped\)<\/div><div class="value">0\.18%<\/div>/);
    expect(h).toContain('no (nominal)');
    expect(h).toContain('Host sizes not enforced on');
    expect(h).toContain('scale factor achieved (completed ÷ modelled)');
  });

  it('renders a run without faults, drills, objectives, series or Prometheus data', () => {
    const r2 = buildResults({ fault: null });
    r2.objectives = [];
    r2.load.series = [];
    r2.prometheus = {};
    r2.tiers = {};
    r2.notes = [];
    const h = renderHtml(r2);
    expect(h).toContain('No faults were injected.');
    expect(h).toContain('No drill ran.');
    expect(h).toContain('No objectives were set for this run.');
    expect(h).toContain('No per-second series was recorded.');
    expect(h).toContain('No Prometheus series were collected for this run.');
    expect(h).not.toContain('class="fault-legend"');
    expect(h).toMatch(/id="verdict">PASS</);
  });
});

import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../run/config.ts';
import { topologyFor } from '../run/lifecycle.ts';
import { configAt, scaleMarkdown, uslOf, type ScaleJson, type ScalePoint } from './scale-run.ts';
import { uslThroughput } from './usl.ts';

const point = (value: number, rate: number | null, extra: Partial<ScalePoint> = {}): ScalePoint => ({
  value,
  runId: `p3-${value}`,
  outcome: rate === null ? 'none' : 'found',
  sustainableRate: rate,
  marginRate: rate === null ? null : 10,
  confirmed: rate !== null,
  lowerBound: false,
  p99AtSustainableMs: rate === null ? null : 120,
  steps: 8,
  elapsedS: 90,
  dir: `/tmp/x-${value}`,
  ...extra,
});

describe('configAt', () => {
  it('app-servers and shards change the fleet; db-cpu and app-cpu resize every host running that kind', () => {
    expect(configAt(resolveRunConfig({ phase: '3' }), 'app-servers', 4).options.appServers).toBe(4);
    expect(configAt(resolveRunConfig({ phase: '5', users: '10000' }), 'shards', 3).options.shards).toBe(3);
    const db = configAt(resolveRunConfig({ phase: '2', size: ['db-host=0.5,2g'] }), 'db-cpu', 1);
    // the CPU from the scale, the memory the user gave kept
    expect(db.sizes).toEqual({ 'db-host': { host: 'db-host', cpus: 1, memoryMb: 2048 } });
    const app = configAt(resolveRunConfig({ phase: '3' }), 'app-cpu', 0.4);
    const hosts = topologyFor(app).hosts.filter((h) => h.name.startsWith('app-host'));
    expect(hosts.length).toBeGreaterThan(1);
    for (const h of hosts) expect(h.size.cpus).toBe(0.4);
  });

  it('a dimension the phase does not have is a usage error before anything starts', () => {
    expect(() => configAt(resolveRunConfig({ phase: '2' }), 'app-servers', 2)).toThrow(/phase 2 has one app server/);
    expect(() => configAt(resolveRunConfig({ phase: '3' }), 'shards', 2)).toThrow(/not sharded/);
    expect(() => configAt(resolveRunConfig({ phase: '3' }), 'workers', 2)).toThrow(/no phase with a worker fleet/);
  });
});

describe('uslOf', () => {
  it('fits the USL to the sustainable rates of counts, recovering known parameters', () => {
    const truth = { lambda: 400, sigma: 0.08, kappa: 0.01 };
    const points = [1, 2, 3, 4, 6].map((n) => point(n, uslThroughput(truth, n)));
    const { usl, skipped } = uslOf('app-servers', points);
    expect(skipped).toBeNull();
    expect(usl!.lambda).toBeCloseTo(400, 0);
    expect(usl!.sigma).toBeCloseTo(0.08, 3);
    expect(usl!.kappa).toBeCloseTo(0.01, 4);
    expect(usl!.rSquared).toBeGreaterThan(0.999);
    expect(usl!.peakN).toBeCloseTo(Math.sqrt(0.92 / 0.01), 1);
    expect(usl!.intervals).not.toBeNull();
    expect(usl!.note).toBeNull();
  });

  it('no fit for a size dimension, or with fewer than 3 counts that found a rate; lower bounds are flagged', () => {
    expect(uslOf('db-cpu', [point(0.25, 100), point(0.5, 180), point(1, 200)]).skipped).toMatch(/size/);
    expect(uslOf('app-servers', [point(1, 100), point(2, 180), point(3, null)]).skipped).toMatch(/3 or more counts .* got 2/);
    const got = uslOf('app-servers', [point(1, 100), point(2, 190), point(3, 260, { lowerBound: true, outcome: 'at-least' })]);
    expect(got.usl!.note).toMatch(/app-servers=3 the rate is a lower bound/);
  });
});

describe('scaleMarkdown', () => {
  it('tables capacity per value and states the fit with its intervals, or why there is none', () => {
    const truth = { lambda: 400, sigma: 0.08, kappa: 0.01 };
    const points = [1, 2, 3, 4].map((n) => point(n, Math.round(uslThroughput(truth, n))));
    const { usl, skipped } = uslOf('app-servers', points);
    const json: ScaleJson = { kind: 'bench-capacity-scale', version: 1, phase: 3, dimension: 'app-servers', values: [1, 2, 3, 4], objective: 'p99<250ms,errors<1%', points, usl, uslSkipped: skipped, notes: [] };
    const md = scaleMarkdown(json);
    expect(md).toContain('| app-servers | sustainable (req/s) |');
    expect(md).toContain('| 1 | 400 | +10 | 120 | found, confirmed | 8 | 90 |');
    expect(md).toMatch(/R² = (0\.9\d\d|1\.000)/);
    expect(md).toMatch(/\| σ \(contention\) \| 0\.\d{4} \| \[/);
    expect(md).toMatch(/Adding units stops paying near N = \d/);
    const none = scaleMarkdown({ ...json, dimension: 'db-cpu', usl: null, uslSkipped: 'the USL is a law of unit counts; db-cpu is a size', points: [point(0.5, null)] });
    expect(none).toContain('No USL fit: the USL is a law of unit counts');
    expect(none).toContain('| 0.5 | n/a | n/a | n/a | none | 8 | 90 |');
  });
});

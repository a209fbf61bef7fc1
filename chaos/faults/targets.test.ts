import { describe, expect, it } from 'vitest';
import { planOf } from '../testing/fakes.ts';
import { resolveCut, resolveEdges, resolveHost, resolveService } from './targets.ts';
import { usageLine as usage } from '../../harness/testing/usage-error.ts';


describe('target validation', () => {
  const p3 = planOf(3);

  it('resolves an edge by name or by * pattern', () => {
    expect(resolveEdges(p3, 'latency', 'app-1->pg-primary').map((e) => e.name)).toEqual(['app-1->pg-primary']);
    expect(resolveEdges(p3, 'latency', '*->pg-primary').map((e) => e.name)).toEqual([
      'pg-primary-replica-1->pg-primary',
      'pg-primary-replica-2->pg-primary',
      'app-1->pg-primary',
      'app-2->pg-primary',
      'app-3->pg-primary',
    ]);
  });

  it('lists the valid edges when the edge is unknown or missing', () => {
    expect(usage(() => resolveEdges(p3, 'latency', 'app->pg-primary'))).toMatch(/no edge app->pg-primary in phase 3 — valid edges in phase 3: .*app-1->pg-primary/);
    expect(usage(() => resolveEdges(p3, 'latency', undefined))).toMatch(/needs an edge: latency:<edge>/);
  });

  it('explains that phase 1 has no edge to act on', () => {
    expect(usage(() => resolveEdges(planOf(1), 'latency', 'app->db'))).toMatch(/phase 1 has no proxied edge/);
  });

  it('takes services of the system, refuses the harness instruments, lists the valid ones', () => {
    expect(resolveService(p3, 'kill', 'app-2').name).toBe('app-2');
    expect(usage(() => resolveService(p3, 'kill', 'toxiproxy'))).toMatch(/harness's instruments.*valid services in phase 3: .*app-1/);
    expect(usage(() => resolveService(p3, 'kill', 'app-9'))).toMatch(/no service app-9 .*lb/);
  });

  it('takes hosts but not the control host', () => {
    expect(resolveHost(p3, 'host-down', 'app-host-2').name).toBe('app-host-2');
    expect(usage(() => resolveHost(p3, 'host-down', 'control'))).toMatch(/no host control.*lb-host/);
  });

  it('cuts between host groups: only the edges crossing the cut', () => {
    const cut = resolveCut(p3, 'partition', 'app-host-1|db-host-primary+cache-host');
    expect(cut.sides).toEqual([['app-host-1'], ['db-host-primary', 'cache-host']]);
    expect(cut.edges.map((e) => e.name).sort()).toEqual(['app-1->pg-primary', 'app-1->redis']);
  });

  it('refuses overlapping, empty, unknown or edgeless cuts', () => {
    expect(usage(() => resolveCut(p3, 'partition', 'app-host-1|app-host-1'))).toMatch(/on both sides/);
    expect(usage(() => resolveCut(p3, 'partition', 'app-host-1'))).toMatch(/exactly two sides/);
    expect(usage(() => resolveCut(p3, 'partition', 'app-host-1|mars'))).toMatch(/no host or region mars/);
    expect(usage(() => resolveCut(p3, 'partition', 'app-host-1|app-host-2'))).toMatch(/cuts no proxied edge/);
    expect(usage(() => resolveCut(p3, 'partition', 'app-host-1+|'))).toMatch(/empty side/);
  });
});

import { describe, expect, it } from 'vitest';
import { parseEdgeName, renderTopologySvg } from './topology.ts';
import { buildResults } from './testing/fixture.ts';
import { checkXml } from './testing/xml.ts';
import type { Results } from './schema.ts';

type Topo = Results['topology'];

function twoRegions(): Topo {
  return {
    phase: 7,
    title: 'Multi-region',
    hosts: [
      { name: 'eu-lb', ip: '127.9.1.1', cpus: 0.25, memoryMb: 256, region: 'eu' },
      { name: 'eu-app', ip: '127.9.2.1', cpus: 0.25, memoryMb: 512, region: 'eu' },
      { name: 'eu-db', ip: '127.9.3.1', cpus: 0.5, memoryMb: 1024, region: 'eu' },
      { name: 'us-app', ip: '127.9.4.1', cpus: 0.25, memoryMb: 512, region: 'us' },
      { name: 'us-db', ip: '127.9.5.1', cpus: 0.5, memoryMb: 1024, region: 'us' },
    ],
    services: [
      { name: 'lb', kind: 'haproxy', host: 'eu-lb', role: 'lb', address: '127.9.1.1:8000' },
      { name: 'app-eu', kind: 'app', host: 'eu-app', role: 'app', address: '127.9.2.1:8080' },
      { name: 'pg-eu', kind: 'postgres', host: 'eu-db', role: 'primary', address: '127.9.3.1:5432' },
      { name: 'app-us', kind: 'app', host: 'us-app', role: 'app', address: '127.9.4.1:8080' },
      { name: 'pg-us', kind: 'postgres', host: 'us-db', role: 'replica', address: '127.9.5.1:5432' },
    ],
    edges: [
      { name: 'lb->app-eu', proxied: true },
      { name: 'lb->app-us', proxied: true },
      { name: 'app-eu->pg-eu', proxied: true },
      { name: 'app-us->pg-us', proxied: true },
      { name: 'pg-us->pg-eu', proxied: false },
    ],
  };
}

/** The x,y of each host box, by host name. */
function boxes(svg: string): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  for (const m of svg.matchAll(/<g class="host" data-host="([^"]+)">\n<rect x="([\d.]+)" y="([\d.]+)"/g)) {
    out.set(m[1]!, { x: Number(m[2]), y: Number(m[3]) });
  }
  return out;
}

describe('renderTopologySvg', () => {
  it('is well-formed SVG with one box per host and one line per pair of connected hosts', () => {
    const t = buildResults().topology;
    const svg = renderTopologySvg(t);
    expect(checkXml(svg).problems).toEqual([]);
    expect(boxes(svg).size).toBe(t.hosts.length);
    // lb->3 apps, 3 apps->primary, 3 apps->replica, 3 apps->sessions, replica->primary; exporters share their host.
    expect(svg.match(/<line class="edge"/g)?.length).toBe(13);
    expect(svg).toContain('pg-primary (postgres, primary)');
  });

  it('stacks tiers top to bottom: load balancer, apps, cache, databases, instruments', () => {
    const b = boxes(renderTopologySvg(buildResults().topology));
    const y = (h: string) => b.get(h)!.y;
    expect(y('lb-host')).toBeLessThan(y('app-host-1'));
    expect(y('app-host-1')).toBe(y('app-host-3'));
    expect(y('app-host-1')).toBeLessThan(y('sessions-host'));
    expect(y('sessions-host')).toBeLessThan(y('db-primary-host'));
    expect(y('db-primary-host')).toBe(y('db-replica-host-1'));
    expect(y('db-primary-host')).toBeLessThan(y('control'));
    expect(b.get('app-host-1')!.x).toBeLessThan(b.get('app-host-2')!.x);
  });

  it('puts regions side by side, aligned by tier, and draws cross-region and direct edges', () => {
    const svg = renderTopologySvg(twoRegions());
    const b = boxes(svg);
    expect(svg.match(/<g class="region"/g)?.length).toBe(2);
    expect(b.get('us-app')!.x).toBeGreaterThan(b.get('eu-app')!.x);
    expect(b.get('us-app')!.y).toBe(b.get('eu-app')!.y);
    expect(b.get('us-db')!.y).toBe(b.get('eu-db')!.y);
    expect(svg.match(/<line class="edge"/g)?.length).toBe(5);
    expect(svg).toMatch(/stroke-dasharray="4 3" marker-end="url\(#arrow\)"><title>pg-us-&gt;pg-eu \(direct\)/);
  });

  it('is deterministic', () => {
    expect(renderTopologySvg(twoRegions())).toBe(renderTopologySvg(twoRegions()));
  });

  it('copes with unknown services in edges and hosts without services', () => {
    const t = twoRegions();
    t.edges.push({ name: 'ghost->pg-eu', proxied: true }, { name: 'no arrow', proxied: true });
    t.hosts.push({ name: 'spare', ip: '127.9.9.1', cpus: 1, memoryMb: 1, region: 'eu' });
    const svg = renderTopologySvg(t);
    expect(checkXml(svg).problems).toEqual([]);
    expect(svg).toContain('(no services)');
    expect(svg.match(/<line class="edge"/g)?.length).toBe(5);
  });
});

describe('parseEdgeName', () => {
  it('splits a->b and a<->b', () => {
    expect(parseEdgeName('app-1->pg-primary')).toEqual(['app-1', 'pg-primary']);
    expect(parseEdgeName('eu<->us')).toEqual(['eu', 'us']);
    expect(parseEdgeName('nothing')).toBeNull();
  });
});

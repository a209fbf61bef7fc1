// The run's topology as an inline SVG: hosts as boxes listing their services, grouped by region
// (side by side), stacked in tiers (entry, app, cache/queue, data, instruments), and the edges
// between services drawn as lines between their hosts. Deterministic: the same topology always
// gives the same picture, in the order the topology lists things.
import type { Results } from './schema.ts';
import { escapeHtml as esc } from './html-escape.ts';
import type { ServiceKind } from '../harness/topology/types.ts';
import { kinds as registeredKinds, type KindRegistry } from '../targets/services/index.ts';
import type { Tier } from '../targets/services/types.ts';

type Topo = Results['topology'];
type Host = Topo['hosts'][number];
type Service = Topo['services'][number];

const BOX_W = 236;
const LINE_H = 15;
const BOX_HEAD = 36;
const GAP_X = 24;
const GAP_Y = 44;
const REGION_PAD = 14;
const REGION_HEAD = 22;
const MAX_CHARS = 34;

/** The rows of the drawing, top to bottom: a kind's module says which one it stands in. */
const ROW_OF_TIER: Record<Tier, number> = { entry: 0, app: 1, cache: 2, data: 3, instrument: 4 };
/** The instruments' row: drawn, but never what places a host. */
const INSTRUMENTS = ROW_OF_TIER.instrument;

/** The row a kind stands in; a kind the registry does not know (an older results file) goes with the apps. */
export function tierOfKind(kind: string, kinds: KindRegistry = registeredKinds): number {
  const k = kinds.get(kind as ServiceKind);
  return k ? ROW_OF_TIER[k.tier] : ROW_OF_TIER.app;
}

/** The host's tier: that of its highest-placed service that is not an instrument. */
function tierOfHost(services: Service[], kinds: KindRegistry): number {
  if (services.length === 0) return ROW_OF_TIER.app;
  const tiers = services.map((s) => tierOfKind(s.kind, kinds));
  const real = tiers.filter((t) => t < INSTRUMENTS);
  return real.length > 0 ? Math.min(...real) : INSTRUMENTS;
}

/** "a->b" -> ['a', 'b']; "a<->b" -> ['a', 'b']; anything else -> null. */
export function parseEdgeName(name: string): [string, string] | null {
  const m = /^(.+?)\s*<?->\s*(.+)$/.exec(name);
  return m ? [m[1]!, m[2]!] : null;
}

const clip = (s: string, n = MAX_CHARS) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

interface Box {
  host: Host;
  services: Service[];
  x: number;
  y: number;
  h: number;
}

/** Lays out and draws the topology; returns an <svg id="topology"> element as text. */
export function renderTopologySvg(topology: Topo, kinds: KindRegistry = registeredKinds): string {
  const servicesOf = new Map<string, Service[]>();
  for (const s of topology.services) servicesOf.set(s.host, [...(servicesOf.get(s.host) ?? []), s]);
  const regions: string[] = [];
  for (const h of topology.hosts) if (!regions.includes(h.region)) regions.push(h.region);

  const boxHeight = (h: Host) => BOX_HEAD + Math.max(1, servicesOf.get(h.name)?.length ?? 0) * LINE_H + 6;
  // Rows are shared across regions so the same tier lines up; empty tiers take no room.
  const byRegionTier = new Map<string, Host[]>();
  const tiersUsed = new Set<number>();
  for (const h of topology.hosts) {
    const tier = tierOfHost(servicesOf.get(h.name) ?? [], kinds);
    tiersUsed.add(tier);
    const key = `${h.region}\u0000${tier}`;
    byRegionTier.set(key, [...(byRegionTier.get(key) ?? []), h]);
  }
  const tiers = [...tiersUsed].sort((a, b) => a - b);
  const rowHeight = new Map<number, number>();
  for (const tier of tiers) {
    let max = 0;
    for (const r of regions) for (const h of byRegionTier.get(`${r}\u0000${tier}`) ?? []) max = Math.max(max, boxHeight(h));
    rowHeight.set(tier, max);
  }
  const rowY = new Map<number, number>();
  let y = REGION_PAD + REGION_HEAD;
  for (const tier of tiers) {
    rowY.set(tier, y);
    y += rowHeight.get(tier)! + GAP_Y;
  }
  const innerHeight = y - GAP_Y + REGION_PAD;

  const boxes = new Map<string, Box>();
  const regionRects: Array<{ name: string; x: number; w: number }> = [];
  let x = 10;
  for (const r of regions) {
    const widest = Math.max(1, ...tiers.map((t) => (byRegionTier.get(`${r}\u0000${t}`) ?? []).length));
    const w = REGION_PAD * 2 + widest * BOX_W + (widest - 1) * GAP_X;
    for (const tier of tiers) {
      const row = byRegionTier.get(`${r}\u0000${tier}`) ?? [];
      // Centre a short row under a wide one so lines stay short and readable.
      const rowW = row.length * BOX_W + Math.max(0, row.length - 1) * GAP_X;
      let bx = x + REGION_PAD + (w - REGION_PAD * 2 - rowW) / 2;
      for (const h of row) {
        boxes.set(h.name, { host: h, services: servicesOf.get(h.name) ?? [], x: bx, y: rowY.get(tier)!, h: boxHeight(h) });
        bx += BOX_W + GAP_X;
      }
    }
    regionRects.push({ name: r, x, w });
    x += w + GAP_X;
  }
  const width = Math.max(x - GAP_X + 10, 320);
  const height = innerHeight + 20;

  // Edges between hosts: several service edges between the same two hosts make one line.
  const hostOfService = new Map(topology.services.map((s) => [s.name, s.host]));
  const lines = new Map<string, { from: Box; to: Box; names: string[]; proxied: boolean }>();
  for (const e of topology.edges) {
    const ends = parseEdgeName(e.name);
    if (!ends) continue;
    const a = boxes.get(hostOfService.get(ends[0]) ?? '');
    const b = boxes.get(hostOfService.get(ends[1]) ?? '');
    if (!a || !b || a === b) continue;
    const key = `${a.host.name}\u0000${b.host.name}`;
    const line = lines.get(key) ?? { from: a, to: b, names: [], proxied: true };
    line.names.push(e.name);
    line.proxied &&= e.proxied;
    lines.set(key, line);
  }

  const out: string[] = [];
  out.push(
    `<svg id="topology" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ${fix(width)} ${fix(height)}" ` +
      `width="${fix(width)}" height="${fix(height)}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(`<title>${esc(`Topology of phase ${topology.phase}: ${topology.title}`)}</title>`);
  out.push(
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M 0 0 L 10 5 L 0 10 z" fill="#667"/></marker></defs>',
  );
  for (const r of regionRects) {
    out.push(
      `<g class="region" data-region="${esc(r.name)}"><rect x="${fix(r.x)}" y="10" width="${fix(r.w)}" height="${fix(innerHeight)}" ` +
        `rx="8" fill="#f6f8fa" stroke="#b8c0cc" stroke-dasharray="5 4"/>` +
        `<text x="${fix(r.x + REGION_PAD)}" y="${fix(10 + 17)}" font-weight="600" fill="#555">region ${esc(r.name)}</text></g>`,
    );
  }
  out.push('<g class="edges">');
  for (const l of lines.values()) {
    const [x1, y1, x2, y2] = anchor(l.from, l.to);
    out.push(
      `<line class="edge" x1="${fix(x1)}" y1="${fix(y1)}" x2="${fix(x2)}" y2="${fix(y2)}" stroke="#7a8290" stroke-width="1.1"` +
        `${l.proxied ? '' : ' stroke-dasharray="4 3"'} marker-end="url(#arrow)"><title>${esc(l.names.join(', '))}${l.proxied ? ' (through Toxiproxy)' : ' (direct)'}</title></line>`,
    );
  }
  out.push('</g>');
  for (const b of boxes.values()) {
    const h = b.host;
    out.push(`<g class="host" data-host="${esc(h.name)}">`);
    out.push(`<rect x="${fix(b.x)}" y="${fix(b.y)}" width="${BOX_W}" height="${fix(b.h)}" rx="5" fill="#fff" stroke="#345" stroke-width="1.2"/>`);
    out.push(`<title>${esc(`${h.name} ${h.ip} — ${h.cpus} CPU, ${h.memoryMb} MB`)}</title>`);
    out.push(`<text x="${fix(b.x + 8)}" y="${fix(b.y + 15)}" font-weight="600">${esc(clip(h.name))}</text>`);
    out.push(
      `<text x="${fix(b.x + 8)}" y="${fix(b.y + 29)}" fill="#667" font-size="11">${esc(clip(`${h.ip} · ${h.cpus} CPU · ${h.memoryMb} MB`, 38))}</text>`,
    );
    b.services.forEach((s, i) => {
      out.push(
        `<text class="service" x="${fix(b.x + 10)}" y="${fix(b.y + BOX_HEAD + 10 + i * LINE_H)}" font-size="11.5" fill="${tierOfKind(s.kind, kinds) === INSTRUMENTS ? '#889' : '#123'}">` +
          `${esc(clip(`${s.name} (${s.kind}${s.role && s.role !== s.kind ? `, ${s.role}` : ''})`, 36))}<title>${esc(`${s.name}: ${s.kind}, ${s.role}, ${s.address}`)}</title></text>`,
      );
    });
    if (b.services.length === 0) {
      out.push(`<text x="${fix(b.x + 12)}" y="${fix(b.y + BOX_HEAD + 10)}" fill="#889">(no services)</text>`);
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n');
}

/** The two ends of a line from box a to box b: bottom to top between rows, side to side in a row. */
function anchor(a: Box, b: Box): [number, number, number, number] {
  const acx = a.x + BOX_W / 2;
  const bcx = b.x + BOX_W / 2;
  if (a.y === b.y) {
    return a.x < b.x ? [a.x + BOX_W, a.y + a.h / 2, b.x, b.y + b.h / 2] : [a.x, a.y + a.h / 2, b.x + BOX_W, b.y + b.h / 2];
  }
  return a.y < b.y ? [acx, a.y + a.h, bcx, b.y] : [acx, a.y, bcx, b.y + b.h];
}

const fix = (n: number) => String(Math.round(n * 10) / 10);

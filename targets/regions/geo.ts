// Where clients stand and which region answers them: each client region sends from its own
// loopback source address (the geo DNS routes on it), and its view of the geo DNS prefers the
// serving regions in order of WAN distance from it (targets/regions/latency.ts): its own region
// first, then the nearest; regions at the same distance share a rank (the server picks among
// the healthy ones of a rank). Pure data for targets/phases/phase-7.ts.
import type { PdnsView } from '../services/pdns.ts';
import { oneWayMs, type LatencyTable } from './latency.ts';

/** The source address of client region number `index` (0-based) in a run's slot: on the control
 *  host's /24, clear of the addresses the plan gives hosts (127.<slot>.<host>.1) and of the
 *  control host's own (.1). */
export function clientSource(slot: number, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 99) throw new Error(`client region index ${index} is outside 0..99`);
  return `127.${slot}.0.${100 + index}`;
}

/** Serving regions grouped by distance from `client`, nearest first. Pure. */
export function preferenceRanks(client: string, serving: readonly string[], table: LatencyTable): string[][] {
  const byMs = new Map<number, string[]>();
  for (const r of serving) {
    const ms = oneWayMs(table, client, r);
    byMs.set(ms, [...(byMs.get(ms) ?? []), r]);
  }
  return [...byMs.entries()].sort((a, b) => a[0] - b[0]).map(([, rs]) => rs);
}

/**
 * The geo DNS's views: one per client region, its source address as a /32, answering the
 * address that serves it from each region (`entryFor(client, serving)`: the listener that
 * carries that pair's latency) in order of distance. Pure.
 */
export function geoViews(
  slot: number,
  clients: readonly string[],
  serving: readonly string[],
  table: LatencyTable,
  entryFor: (client: string, serving: string) => string,
): PdnsView[] {
  return clients.map((client, i) => ({
    name: client,
    clients: [`${clientSource(slot, i)}/32`],
    prefer: preferenceRanks(client, serving, table).map((rank) => rank.map((r) => entryFor(client, r))),
  }));
}

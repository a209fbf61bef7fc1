// The region model's WAN: one-way latency between regions, and the baseline toxics that put it on
// every edge that crosses regions. The baseline is part of the topology, not a fault: it is named
// with BASELINE_PREFIX, fault cleanup (chaos/toxiproxy.ts) never removes it, and a fault that adds
// latency on a WAN edge adds to it (Toxiproxy stacks toxics).
//
// Default one-way figures (documented in docs/PHASE-7.md, overridable with `--wan-latency`):
// us-east <-> us-west 30 ms, us <-> eu 40 ms. A request that crosses a WAN edge and its answer
// pay the one-way figure once each (upstream and downstream toxics): a round trip is twice it.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { TopologyToxic } from '../../harness/topology/types.ts';

/** The regions phase 7 deploys when none are chosen. */
export const DEFAULT_REGIONS = ['us-east', 'us-west', 'eu'] as const;

/** Every toxic of the baseline starts with this; the faults' own start with `bench.`. */
export const BASELINE_PREFIX = 'baseline.';

export const isBaselineToxic = (name: string) => name.startsWith(BASELINE_PREFIX);

/** One-way latency in ms between two regions, in either order. */
export type LatencyTable = ReadonlyMap<string, number>;

const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** The default table. */
export const DEFAULT_ONE_WAY_MS: LatencyTable = new Map([
  [pairKey('us-east', 'us-west'), 30],
  [pairKey('us-east', 'eu'), 40],
  [pairKey('us-west', 'eu'), 40],
]);

/** One-way ms between `a` and `b` (0 inside a region); a pair the table lacks is a usage error. */
export function oneWayMs(table: LatencyTable, a: string, b: string): number {
  if (a === b) return 0;
  const ms = table.get(pairKey(a, b));
  if (ms === undefined) {
    throw new BenchError('usage', `no WAN latency between ${a} and ${b}`, `give it: --wan-latency ${a}:${b}=40ms`);
  }
  return ms;
}

/**
 * `--wan-latency us-east:eu=45ms,us-west:eu=70` over `base`: each pair once, in either order;
 * milliseconds, with or without `ms`. Every bad item is a usage error naming it.
 */
export function parseLatencyOverrides(text: string, base: LatencyTable = DEFAULT_ONE_WAY_MS): LatencyTable {
  const out = new Map(base);
  const seen = new Set<string>();
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9-]+):([a-z0-9-]+)=(\d+(?:\.\d+)?)(ms)?$/.exec(item);
    if (!m || m[1] === m[2]) {
      throw new BenchError('usage', `--wan-latency ${item} is not <region>:<region>=<ms>`, 'e.g. --wan-latency us-east:eu=45ms,us-west:eu=70ms');
    }
    const key = pairKey(m[1]!, m[2]!);
    if (seen.has(key)) throw new BenchError('usage', `--wan-latency names ${m[1]}:${m[2]} twice`, 'give each pair once');
    seen.add(key);
    out.set(key, Number(m[3]));
  }
  return out;
}

/** The most one-way latency a pair may have: the geo DNS's health check through a client-side
 *  listener (targets/phases/phase-7.ts) pays the pair's round trip inside PowerDNS's 2 s timeout. */
export const MAX_ONE_WAY_MS = 500;

/** A table as `--wan-latency` spells it, every pair once: `us-east:us-west=30ms,...`. Pure. */
export function formatLatencyTable(table: LatencyTable): string {
  return [...table.entries()].map(([key, ms]) => `${key.replace('|', ':')}=${ms}ms`).join(',');
}

/**
 * The table a deployment of `regions` uses: `text` over the default, every pair naming deployed
 * regions, each pair between them known, each latency above 0 (a 0 ms pair would share a client's
 * own rank in the geo DNS) and at most MAX_ONE_WAY_MS. Bad input: one usage line naming it.
 */
export function wanTable(text: string, regions: readonly string[]): LatencyTable {
  const table = parseLatencyOverrides(text);
  for (const item of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [a, b] = item.split('=')[0]!.split(':') as [string, string];
    const unknown = [a, b].find((r) => !regions.includes(r));
    if (unknown) throw new BenchError('usage', `--wan-latency ${item}: no region ${unknown} in this deployment (${regions.join(', ')})`, 'name two of its regions, e.g. --wan-latency us-east:eu=45ms');
    const ms = oneWayMs(table, a, b);
    if (ms <= 0 || ms > MAX_ONE_WAY_MS) {
      throw new BenchError('usage', `--wan-latency ${item}: a one-way latency is above 0 and at most ${MAX_ONE_WAY_MS} ms`, `the geo DNS's health checks cross it twice within 2 s: e.g. --wan-latency ${a}:${b}=45ms`);
    }
  }
  for (const [i, a] of regions.entries()) for (const b of regions.slice(i + 1)) oneWayMs(table, a, b);
  return table;
}

/** A Toxiproxy proxy and the regions its client and its server stand in. */
export interface RegionEdge {
  proxy: string;
  from: string;
  to: string;
}

/** The baseline toxic on one proxy, as Toxiproxy takes it: a toxic of the topology. */
export type BaselineToxic = TopologyToxic;

/** Every proxied edge of a plan whose two ends stand in different regions. Pure. */
export function crossRegionEdges(plan: Pick<DeployPlan, 'edges' | 'services' | 'hosts'>): RegionEdge[] {
  const regionOf = new Map(plan.services.map((s) => [s.name, plan.hosts.find((h) => h.name === s.host)!.region]));
  return plan.edges
    .filter((e) => e.proxied && regionOf.get(e.from) !== regionOf.get(e.to))
    .map((e) => ({ proxy: e.name, from: regionOf.get(e.from)!, to: regionOf.get(e.to)! }));
}

/** The baseline toxics of `edges`: the pair's one-way latency on each direction. Pure. */
export function baselineToxics(edges: readonly RegionEdge[], table: LatencyTable): BaselineToxic[] {
  return edges.flatMap((e) => wanToxics(e.proxy, oneWayMs(table, e.from, e.to)));
}

/** Both directions of one proxy at `latency` ms one way (none at 0). Pure. */
function wanToxics(proxy: string, latency: number): BaselineToxic[] {
  if (latency === 0) return [];
  return (['upstream', 'downstream'] as const).map((stream) => ({
    proxy,
    name: `${BASELINE_PREFIX}wan.${stream}`,
    type: 'latency' as const,
    stream,
    toxicity: 1 as const,
    attributes: { latency, jitter: 0 },
  }));
}

/** A database member's replication proxy and the region the member stands in. */
export interface ReplicationSource {
  proxy: string;
  region: string;
}

/**
 * The baseline of replication proxies: a member's proxy (targets/services/patroni.ts) is the one
 * address every replica streams its WAL from while it leads, so one latency stands for every
 * (leader, replica) pair of that leader. It is the nearest other member's one-way latency: the
 * replica Patroni promotes is the one with the most WAL, normally the nearest, so that is the
 * pair an RPO depends on; a farther replica's lag is understated by the difference (10 ms one
 * way for us-east/us-west -> eu with the default table). Per-pair proxies cannot be had: Patroni
 * advertises one connect_address per member, and a replica's connection carries no source that
 * Toxiproxy could route on (loopback clients come from 127.0.0.1). Pure.
 */
export function replicationBaseline(members: readonly ReplicationSource[], table: LatencyTable): BaselineToxic[] {
  return members.flatMap((m) => {
    const others = members.filter((o) => o.region !== m.region).map((o) => oneWayMs(table, m.region, o.region));
    return others.length === 0 ? [] : wanToxics(m.proxy, Math.min(...others));
  });
}

/** The part of a Toxiproxy API the baseline needs (chaos/toxiproxy.ts's adapter has it). */
export interface BaselineApi {
  addToxic(proxy: string, t: Omit<BaselineToxic, 'proxy'>): Promise<void>;
  listProxies(): Promise<{ name: string; toxics: { name: string }[] }[]>;
}

/** Adds every baseline toxic that is not there yet (a re-apply after a restart is harmless). */
export async function applyBaseline(api: BaselineApi, toxics: readonly BaselineToxic[]): Promise<void> {
  const present = new Set((await api.listProxies()).flatMap((p) => p.toxics.map((t) => `${p.name}/${t.name}`)));
  for (const { proxy, ...t } of toxics) {
    if (!present.has(`${proxy}/${t.name}`)) await api.addToxic(proxy, t);
  }
}

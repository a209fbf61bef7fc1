// The engine's client regions (phase 7): the virtual users stand in regions of their own, each
// sending from its region's loopback source address and reaching the system through a name that
// its own geo resolver (geo-dns.ts) resolves through the geo DNS from that address, per new
// connection. The engine keeps one API origin per client region; this module picks a request's
// region by the load's split and counts requests, errors and latency per client region, with the
// region's DNS answer changes (the DNS convergence figure of the drills).
//
// Why the region is picked from the request's index and not from the engine's random stream: the
// stream must stay the one the k6 planner draws (one seed, one sequence of requests), and a
// low-discrepancy sequence over the index gives each region its share within a request or two.
import { LatencyHistogram } from './histogram.ts';
import { dnsQuery, GeoResolver, geoLookup, type DnsCacheMode } from './geo-dns.ts';
import type { LookupFunction } from 'node:net';
import type { Endpoint } from '../topology/plan.ts';
import type { RegionResults } from '../run/results.ts';

/** One client region of a load: plain data, so it crosses to a worker thread unchanged. */
export interface ClientRegion {
  name: string;
  /** its share of the requests (the shares are normalised over the regions) */
  share: number;
  /** the source address its connections bind and its DNS queries come from */
  localAddress: string;
  /** the geo DNS it resolves the targets' name through */
  dns: Endpoint;
  /** how long it keeps an answer; default: its TTL */
  cache?: DnsCacheMode;
}

const GOLDEN = 0.6180339887498949;
const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The resolver's answer, when it is a loopback address: bench sends load to loopback only, so an
 *  answer elsewhere fails the connection (counted as the request's error) instead of leaving. */
export async function loopbackOnly(resolver: Pick<GeoResolver, 'resolve'>, name: string): Promise<string> {
  const address = await resolver.resolve(name);
  if (!LOOPBACK.test(address)) throw Object.assign(new Error(`the geo DNS answered ${address} for ${name}: not a loopback address`), { code: 'ENOTLOOPBACK' });
  return address;
}

/** The regions' cumulative shares, normalised; throws on a share that is not a positive number. Pure. */
export function cumulativeShares(regions: readonly Pick<ClientRegion, 'name' | 'share'>[]): number[] {
  if (regions.length === 0) throw new Error('no client region');
  for (const r of regions) if (!(r.share > 0) || !Number.isFinite(r.share)) throw new Error(`client region ${r.name}: share ${r.share} is not a positive number`);
  const total = regions.reduce((a, r) => a + r.share, 0);
  let acc = 0;
  return regions.map((r, i) => (i === regions.length - 1 ? 1 : (acc += r.share / total)));
}

/** The region (index) of request number k (from 1): its shares' bucket of frac(k x golden ratio). Pure. */
export function regionOfRequest(k: number, cumulative: readonly number[]): number {
  const x = (k * GOLDEN) % 1;
  for (let i = 0; i < cumulative.length; i++) if (x < cumulative[i]!) return i;
  return cumulative.length - 1;
}

interface Counts {
  requests: number;
  errors: number;
  hist: LatencyHistogram;
}

/** A load's client regions: an origin each, the pick, the counts. */
export class RegionClients<O> {
  readonly origins: O[];
  private readonly resolvers: GeoResolver[];
  private readonly cumulative: number[];
  private readonly counts = new Map<O, Counts>();

  constructor(
    private readonly regions: readonly ClientRegion[],
    makeOrigin: (region: ClientRegion, lookup: LookupFunction) => O,
    now: () => number,
  ) {
    this.cumulative = cumulativeShares(regions);
    this.resolvers = regions.map((r) => new GeoResolver({ query: dnsQuery(r.dns, r.localAddress), cache: r.cache ?? { kind: 'ttl' }, now }));
    this.origins = regions.map((r, i) => makeOrigin(r, geoLookup({ resolve: (name) => loopbackOnly(this.resolvers[i]!, name) })));
    for (const o of this.origins) this.counts.set(o, { requests: 0, errors: 0, hist: new LatencyHistogram() });
  }

  /** The origin request number k (from 1) is sent from. */
  pick(k: number): O {
    return this.origins[regionOfRequest(k, this.cumulative)]!;
  }

  /** Counts one completed request of `origin` (an origin that is no region's is ignored). */
  record(origin: O, failed: boolean, latencyUs: number): void {
    const c = this.counts.get(origin);
    if (!c) return;
    c.requests += 1;
    if (failed) c.errors += 1;
    else c.hist.recordMicros(latencyUs);
  }

  /** Per client region: requests, errors, the successes' latency (null when none), and its DNS
   *  answer changes in seconds since `startMs` (on the clock given to the constructor). */
  results(startMs: number): RegionResults {
    const out: RegionResults = {};
    this.regions.forEach((r, i) => {
      const c = this.counts.get(this.origins[i]!)!;
      const res = this.resolvers[i]!;
      const changes = [...res.changes.values()].flat().map((ch) => ({ atS: Math.round(ch.at - startMs) / 1000, address: ch.address }));
      out[r.name] = {
        source: r.localAddress,
        requests: c.requests,
        errors: c.errors,
        latencyMs: c.hist.count > 0 ? c.hist.summary() : null,
        dns: { queries: res.queries, failures: res.failures, changes },
      };
    });
    return out;
  }
}

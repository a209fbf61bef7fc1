// The engine's client regions (phase 7): the virtual users stand in regions of their own, each
// sending from its region's loopback source address and reaching the system through a name that
// its own geo resolver (geo-dns.ts) resolves through the geo DNS from that address, per new
// connection. The engine keeps one API origin per client region; this module picks a request's
// region by the load's split and counts requests, errors and latency per client region, with the
// region's DNS answer changes (the DNS convergence figure of the drills), and per second its
// successes by the region that served them (the app's X-Bench-Region header), its errors and its
// successes' latency histogram: the drills' traffic-shift curve and each client region's
// percentiles before and during a fault, merged from the seconds' histograms.
//
// Why the region is picked from the request's index and not from the engine's random stream: the
// stream must stay the one the k6 planner draws (one seed, one sequence of requests), and a
// low-discrepancy sequence over the index gives each region its share within a request or two.
import { LatencyHistogram } from './histogram.ts';
import { dnsQuery, GeoResolver, geoLookup, type DnsCacheMode } from './geo-dns.ts';
import type { LookupFunction } from 'node:net';
import type { Endpoint } from '../topology/plan.ts';
import type { RegionResults, RegionSecond } from '../run/results.ts';

/** The serving region of a success whose answer named none. */
export const UNNAMED_REGION = '(unnamed)';

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
  seconds: RegionSeconds;
}

/** One client region's seconds: successes by serving region, errors, the successes' histogram
 *  (2 digits, as the load's own per-second series). A second with nothing is kept (empty). */
export class RegionSeconds {
  private t = 0;
  private ok = new Map<string, number>();
  private errors = 0;
  private readonly hist = new LatencyHistogram(2);
  private readonly done: RegionSecond[] = [];

  /** atMs: since the load started. */
  add(atMs: number, failed: boolean, latencyUs: number, servedBy: string | null): void {
    const t = Math.floor(atMs / 1000);
    while (this.t < t) this.roll();
    if (failed) this.errors += 1;
    else {
      const r = servedBy ?? UNNAMED_REGION;
      this.ok.set(r, (this.ok.get(r) ?? 0) + 1);
      this.hist.recordMicros(latencyUs);
    }
  }

  /** The closed seconds and the current one when anything happened in it. */
  seconds(): RegionSecond[] {
    return this.ok.size > 0 || this.errors > 0 ? [...this.done, this.current()] : [...this.done];
  }

  private current(): RegionSecond {
    return { t: this.t, ok: Object.fromEntries(this.ok), errors: this.errors, hdr: this.hist.count > 0 ? this.hist.encode() : null };
  }

  private roll(): void {
    this.done.push(this.current());
    this.ok = new Map();
    this.errors = 0;
    this.hist.reset();
    this.t += 1;
  }
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
    for (const o of this.origins) this.counts.set(o, { requests: 0, errors: 0, hist: new LatencyHistogram(), seconds: new RegionSeconds() });
  }

  /** The origin request number k (from 1) is sent from. */
  pick(k: number): O {
    return this.origins[regionOfRequest(k, this.cumulative)]!;
  }

  /** Counts one completed request of `origin` (an origin that is no region's is ignored), at
   *  `atMs` since the load started, served by the region its answer named. */
  record(origin: O, failed: boolean, latencyUs: number, servedBy: string | null, atMs: number): void {
    const c = this.counts.get(origin);
    if (!c) return;
    c.requests += 1;
    if (failed) c.errors += 1;
    else c.hist.recordMicros(latencyUs);
    c.seconds.add(atMs, failed, latencyUs, servedBy);
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
        seconds: c.seconds.seconds(),
      };
    });
    return out;
  }
}

// The engine's geo resolver: a client region resolves the system's name through the geo DNS
// (targets/services/pdns.ts) from its own loopback source address, which is what the server's
// view() routes on. Node's dns.Resolver does the query (setServers + setLocalAddress); this module
// adds what decides how long a failover takes for real users: how long an answer is kept.
//
//   ttl      keep an answer for its TTL, then ask again (a well-behaved stub resolver)
//   pinned   resolve once, keep it for the whole run (a client that never re-resolves)
//   min=30s  keep it for max(TTL, 30 s) (caches that raise short TTLs to a floor)
//
// Concurrent lookups of one name share one query. Every change of answer is recorded with its
// time, so a drill can tell when each client region converged on the survivors.
import { Resolver } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { BenchError } from '../errors.ts';
import type { Endpoint } from '../topology/plan.ts';

export type DnsCacheMode = { kind: 'ttl' } | { kind: 'pinned' } | { kind: 'min'; seconds: number };

/** One A record as the server gave it. */
export interface DnsAnswer {
  address: string;
  ttl: number;
}

/** `--dns-cache` values: `ttl`, `pinned`, `min=30s` (or `min=30`). Bad input: one usage line. */
export function parseDnsCacheMode(text: string): DnsCacheMode {
  if (text === 'ttl' || text === 'pinned') return { kind: text };
  const m = /^min=(\d+)(s?)$/.exec(text);
  if (m) return { kind: 'min', seconds: Number(m[1]) };
  throw new BenchError('usage', `--dns-cache ${text} is not a cache mode`, 'use ttl, pinned or min=<seconds>s, e.g. min=30s');
}

export const formatDnsCacheMode = (m: DnsCacheMode) => (m.kind === 'min' ? `min=${m.seconds}s` : m.kind);

/** How long (ms) an answer of the given TTL is kept under a mode; Infinity when pinned. Pure. */
export function keepMs(mode: DnsCacheMode, ttlSeconds: number): number {
  if (mode.kind === 'pinned') return Infinity;
  if (mode.kind === 'min') return Math.max(ttlSeconds, mode.seconds) * 1000;
  return ttlSeconds * 1000;
}

/** Asks the server for a name's A records. Injected in unit tests; the real one is `dnsQuery`. */
export type DnsQuery = (name: string) => Promise<DnsAnswer[]>;

/** A query through `server` from `localAddress` (a client region's source), no retries: a server
 *  that does not answer within `timeoutMs` is a failed lookup, as a user would see it. */
export function dnsQuery(server: Endpoint, localAddress: string, timeoutMs = 1_000): DnsQuery {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([`${server.host}:${server.port}`]);
  resolver.setLocalAddress(localAddress);
  return async (name) => (await resolver.resolve4(name, { ttl: true })).map((a) => ({ address: a.address, ttl: a.ttl }));
}

export interface GeoResolverOptions {
  query: DnsQuery;
  cache: DnsCacheMode;
  /** ms clock; default performance.now */
  now?: () => number;
}

/** An answer change: `at` on the resolver's clock, `address` null when a lookup failed. */
export interface AnswerChange {
  at: number;
  address: string | null;
}

interface Entry {
  address: string;
  expires: number;
}

/** One client region's resolver with its cache. */
export class GeoResolver {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly now: () => number;
  /** queries actually sent to the server */
  queries = 0;
  /** lookups that failed (no answer, timeout, SERVFAIL) */
  failures = 0;
  /** each name's answer changes, first answer included */
  readonly changes = new Map<string, AnswerChange[]>();

  constructor(private readonly options: GeoResolverOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** The address to connect to for `name`: from the cache while it holds, else from the server
   *  (the first address of the answer: the geo DNS answers the nearest healthy region's set). */
  resolve(name: string): Promise<string> {
    const hit = this.cache.get(name);
    if (hit && hit.expires > this.now()) return Promise.resolve(hit.address);
    const pending = this.inflight.get(name);
    if (pending) return pending;
    const p = this.lookup(name).finally(() => this.inflight.delete(name));
    this.inflight.set(name, p);
    return p;
  }

  private async lookup(name: string): Promise<string> {
    this.queries += 1;
    let answers: DnsAnswer[];
    try {
      answers = await this.options.query(name);
      if (answers.length === 0) throw new Error(`no A record for ${name}`);
    } catch (err) {
      this.failures += 1;
      this.record(name, null);
      throw err;
    }
    const first = answers[0]!;
    this.cache.set(name, { address: first.address, expires: this.now() + keepMs(this.options.cache, first.ttl) });
    this.record(name, first.address);
    return first.address;
  }

  private record(name: string, address: string | null): void {
    const list = this.changes.get(name) ?? [];
    if (list.length === 0 || list[list.length - 1]!.address !== address) list.push({ at: this.now(), address });
    this.changes.set(name, list);
  }
}

/**
 * A client region's resolver as net's `lookup` (SocketTransport's option): each new connection to
 * the origin's name asks the resolver, so a connection opened after the answer changed goes to the
 * new region while open keep-alive connections stay where they are, as a browser's would. A name
 * that is already an address never reaches a lookup (net connects to it directly).
 */
export function geoLookup(resolver: Pick<GeoResolver, 'resolve'>): LookupFunction {
  return (hostname, options, callback) => {
    resolver.resolve(hostname).then(
      (address) => {
        // net asks for every address when it may try several families (autoSelectFamily)
        if (options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family: 4 }]);
        else callback(null, address, 4);
      },
      (err: Error) => callback(Object.assign(err, { code: (err as NodeJS.ErrnoException).code ?? 'ENOTFOUND' }) as NodeJS.ErrnoException, '', 4),
    );
  };
}

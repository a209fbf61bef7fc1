// PowerDNS 4.7 authoritative (pdns-server + pdns-backend-sqlite3) as the geo-routing DNS of the
// several-regions phase: one name whose A record is a LUA record that answers by the client's
// source subnet (`view()`) with the nearest healthy region (`ifurlup` over sets of addresses in
// order of preference: the first set with an address that answers HTTP wins). Runs as the `pdns`
// system user on its host's loopback address; zone and records live in a SQLite file the recipe
// writes before the first start (the gsqlite3 backend reads it; no zone transfer, no API).
//
// Why ifurlup and not ifportup: a region's entry is reached through a Toxiproxy listener, which
// accepts TCP even when the region behind it is dead; only an HTTP answer proves the region serves.
// Why no caches: the packet and query caches would keep answering a dead region after the health
// check flipped; each answer is cheap to compute on loopback. The same makes a rewritten record
// (a drain, below) the answer of the very next query: no cache holds the old text.
//
// Weighted answers (a region drained step by step): PowerDNS 4.7 has no weighted health-checked
// pick (ifurlup's selectors are all, random, hashed and pickclosest; pickwrandom weighs but checks
// nothing), so a view that lists a drained address answers, on `percent` % of the queries, by its
// own preference, and on the rest by the same preference with the drained addresses left out: both
// branches are ifurlup, so a dead candidate is skipped in either. The coin is pickwrandom over two
// placeholder addresses, not Lua's math.random: PowerDNS runs each query in a fresh Lua state
// whose math.random starts from the same seed (measured: 50 % gave the same branch every time).
//
// With every candidate down ifurlup returns them all, and view() answers one of what it got at
// random. That is also every view's answer until the first health checks complete, so "is each
// view answered its first choice?" asked once was satisfied by chance (2 views: 1 in 4): tests
// started before any check had passed and met answers at random (two CI failures). Readiness asks
// each view FIRST_CHOICE_SAMPLES times in a row (a chance pass: under 1 in 65,000 with 2 views).
import { existsSync, readFileSync } from 'node:fs';
import { chown, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { BenchError } from '../../harness/errors.ts';
import { lookupUser } from '../../harness/runtime/process.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { clientSource } from '../regions/geo.ts';
import type { ComponentKind } from './types.ts';

/** The answers for one group of clients, named after the client region it serves: the client
 *  subnets (CIDR) it answers, and the candidate addresses in order of preference, a set per rank
 *  (the first set holding an address whose health URL answers is the answer). */
const pdnsView = z.object({ name: z.string(), clients: z.array(z.string()).min(1), prefer: z.array(z.array(z.string())).min(1) }).strict();
export type PdnsView = z.infer<typeof pdnsView>;

/** What a phase declares for its geo DNS: the zone (`bench.test`), the routed name in it (`api`),
 *  the answer's TTL (how long a well-behaved client may keep a dead region), the health check
 *  (GET http://<candidate>:<port><path> must answer 2xx/3xx), and the views in order: the first
 *  whose subnets hold the client's source address answers; a client no view names gets the last
 *  view's answer. The LUA text is built from these strings: pdnsConfigProblems checks each. */
const pdnsConfig = z
  .object({
    kind: z.literal('pdns'),
    pdns: z
      .object({
        zone: z.string(),
        name: z.string(),
        ttlSeconds: z.number().int().min(0),
        health: z.object({ port: z.number().int().min(1).max(65535), path: z.string() }).strict(),
        views: z.array(pdnsView).min(1),
      })
      .strict(),
  })
  .strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    pdns: Omit<z.infer<typeof pdnsConfig>, 'kind'>;
  }
}
export type PdnsConfig = z.infer<typeof pdnsConfig>['pdns'];

/** Where Debian's package keeps the gsqlite3 backend's schema. */
export const PDNS_SQLITE_SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';
export const PDNS_DB_FILE = 'pdns.sqlite3';
/** The system user Debian's package creates; the server runs as it. */
export const PDNS_USER = 'pdns';
/** Seconds between two health checks of a candidate (the answer's flip time is about this). */
export const PDNS_HEALTH_INTERVAL_S = 1;

/** A view's client block named by client region instead of an address: `client-region:<n>` is the
 *  source address of client region n (targets/regions/geo.ts clientSource) in the run's slot. */
export const CLIENT_REGION_REF = 'client-region:';

/**
 * The config with every name resolved against the plan: a candidate that is not an IPv4 address
 * is a service of the plan and stands for its host address, or a client listener of the plan
 * (Topology.listeners) and stands for the listener's own address; `client-region:<n>` is that client
 * region's source address as a /32. Phases know names, only the plan knows addresses. Pure.
 */
export function resolvePdnsConfig(c: PdnsConfig, plan: Pick<DeployPlan, 'slot' | 'services' | 'listeners'>): PdnsConfig {
  const address = (x: string) => {
    if (IPV4.test(x)) return x;
    // a client listener (phase 7's per-pair WAN entry) stands for its own address
    const at = plan.services.find((svc) => svc.name === x)?.address ?? plan.listeners?.find((l) => l.name === x)?.listen;
    if (!at) throw new BenchError('internal', `geo DNS candidate ${x} is neither an address nor a service or listener of the plan`);
    return at.host;
  };
  const block = (x: string) => (x.startsWith(CLIENT_REGION_REF) ? `${clientSource(plan.slot, Number(x.slice(CLIENT_REGION_REF.length)))}/32` : x);
  return { ...c, views: c.views.map((v) => ({ ...v, clients: v.clients.map(block), prefer: v.prefer.map((set) => set.map(address)) })) };
}

function pdnsConfigOf(ctx: { service: PlannedService; plan: Pick<DeployPlan, 'slot' | 'services' | 'listeners'> }): PdnsConfig {
  if (ctx.service.config.kind !== 'pdns') throw new Error(`${ctx.service.name} is not a pdns service`);
  return resolvePdnsConfig(ctx.service.config.pdns, ctx.plan);
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Every problem of a PdnsConfig, as sentences (the LUA text is built from these strings). Pure. */
export function pdnsConfigProblems(c: PdnsConfig): string[] {
  const problems: string[] = [];
  if (!c.zone.split('.').every((l) => LABEL.test(l))) problems.push(`zone ${c.zone} is not a DNS name`);
  if (!LABEL.test(c.name)) problems.push(`name ${c.name} is not a DNS label`);
  if (!Number.isInteger(c.ttlSeconds) || c.ttlSeconds < 0) problems.push(`ttl ${c.ttlSeconds} is not a whole number of seconds`);
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(c.health.path)) problems.push(`health path ${c.health.path} must be a plain absolute path`);
  if (c.views.length === 0) problems.push('no view declared');
  for (const v of c.views) {
    for (const cidr of v.clients) if (!CIDR.test(cidr)) problems.push(`view ${v.name}: ${cidr} is not an IPv4 CIDR`);
    if (v.prefer.length === 0 || v.prefer.some((set) => set.length === 0)) problems.push(`view ${v.name}: an empty set of candidates`);
    for (const ip of v.prefer.flat()) if (!IPV4.test(ip)) problems.push(`view ${v.name}: ${ip} is not an IPv4 address`);
  }
  return problems;
}

/** Answers of its first choice in a row that make a view's first choice known up (header). */
export const FIRST_CHOICE_SAMPLES = 8;

/** Whether an answer is a view's first choice: addresses of its first set and nothing else. Pure. */
export function answersFirstChoice(answer: readonly string[], view: Pick<PdnsView, 'prefer'>): boolean {
  return answer.length > 0 && answer.every((a) => view.prefer[0]!.includes(a));
}

/**
 * Whether each view, asked from the first address of its first client block, answers its first
 * choice FIRST_CHOICE_SAMPLES times in a row (header: asked once, a pending check passes by chance).
 */
export async function everyViewAnswersFirstChoice(server: { host: string; port: number }, c: PdnsConfig): Promise<boolean> {
  for (const v of c.views) {
    const r = new Resolver({ timeout: 500, tries: 1 });
    r.setServers([`${server.host}:${server.port}`]);
    r.setLocalAddress(firstHost(v.clients[0]!));
    for (let i = 0; i < FIRST_CHOICE_SAMPLES; i++) if (!answersFirstChoice(await r.resolve4(`${c.name}.${c.zone}`), v)) return false;
  }
  return true;
}

/** The first host address of an IPv4 CIDR (a source address a test or probe can bind). Pure. */
export function firstHost(cidr: string): string {
  const m = CIDR.exec(cidr);
  if (!m) throw new Error(`${cidr} is not an IPv4 CIDR`);
  const ip = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const bits = Number(m[5]);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const first = (((ip & mask) >>> 0) + (bits >= 31 ? 0 : 1)) >>> 0;
  return [24, 16, 8, 0].map((s) => (first >>> s) & 255).join('.');
}

const luaList = (xs: string[]) => `{${xs.map((x) => `'${x}'`).join(',')}}`;

/** The two sides of the drain's weighted coin: pickwrandom picks among addresses only, and its
 *  answer is compared, never served. */
const COIN = { keep: '0.0.0.1', drain: '0.0.0.0' } as const;

/**
 * Some candidates drained (a region being evacuated): a view that lists one of `addresses`
 * answers by its own preference on `percent` % of the queries (a whole number, 0..100) and on the
 * rest as if those addresses were not candidates. 100 is the record as it was; at 0 they answer
 * nobody, except a view whose every candidate is drained (a view must answer something).
 */
export interface GeoDrain {
  addresses: readonly string[];
  percent: number;
}

/**
 * The LUA record's content (type A): view() over the client subnets, each answering ifurlup over
 * its preference sets; the last view also catches every other client. With a drain, the views that
 * list a drained address pick between their preference and the preference without it (header).
 * Without one (or at 100 %) the text is exactly the undrained record's. Pure.
 */
export function renderGeoLua(c: PdnsConfig, drain?: GeoDrain): string {
  const problems = pdnsConfigProblems(c);
  if (drain) {
    if (!Number.isInteger(drain.percent) || drain.percent < 0 || drain.percent > 100) problems.push(`drain ${drain.percent} % is not a whole percentage`);
    for (const ip of drain.addresses) if (!IPV4.test(ip)) problems.push(`drained ${ip} is not an IPv4 address`);
  }
  if (problems.length) throw new BenchError('internal', `invalid geo DNS config: ${problems.join('; ')}`);
  const url = `http://${c.name}.${c.zone}:${c.health.port}${c.health.path}`;
  const pick = (prefer: string[][]) => `ifurlup('${url}', {${prefer.map(luaList).join(',')}})`;
  const drained = new Set(drain && drain.percent < 100 ? drain.addresses : []);
  const answer = (prefer: string[][]) => {
    if (!prefer.flat().some((a) => drained.has(a))) return pick(prefer);
    const rest = prefer.map((set) => set.filter((a) => !drained.has(a))).filter((set) => set.length > 0);
    if (rest.length === 0) return pick(prefer);
    const p = drain!.percent;
    return p === 0 ? pick(rest) : `(pickwrandom({{${p},'${COIN.keep}'},{${100 - p},'${COIN.drain}'}})=='${COIN.keep}' and ${pick(prefer)} or ${pick(rest)})`;
  };
  const views = c.views.map((v, i) => {
    const clients = i === c.views.length - 1 ? [...v.clients, '0.0.0.0/0'] : v.clients;
    return `{${luaList(clients)}, ${answer(v.prefer)}}`;
  });
  return `A "view({${views.join(',')}})"`;
}

/** pdns.conf for one server. Pure. */
export function renderPdnsConf(input: { ip: string; port: number; dir: string }): string {
  return [
    '# Written by bench (targets/services/pdns.ts).',
    'launch=gsqlite3',
    `gsqlite3-database=${join(input.dir, PDNS_DB_FILE)}`,
    `local-address=${input.ip}`,
    `local-port=${input.port}`,
    'enable-lua-records=yes',
    `lua-health-checks-interval=${PDNS_HEALTH_INTERVAL_S}`,
    // the answer must follow the health checks at once (header)
    'cache-ttl=0',
    'query-cache-ttl=0',
    'negquery-cache-ttl=0',
    'zone-cache-refresh-interval=0',
    `socket-dir=${input.dir}`,
    'guardian=no',
    'daemon=no',
    'write-pid=no',
    'disable-syslog=yes',
    'log-timestamp=yes',
    // 6 keeps the health checks' UP/DOWN lines: when the answer flipped, from the server's side
    'loglevel=6',
    'webserver=no',
    'api=no',
    '',
  ].join('\n');
}

/** The zone's rows for the gsqlite3 backend: SOA, NS and the routed LUA record. Pure. */
export function zoneRecords(c: PdnsConfig): { name: string; type: string; content: string; ttl: number }[] {
  return [
    // the SOA's last field is the negative-answer TTL: short, a name may appear during a run
    { name: c.zone, type: 'SOA', content: `ns.${c.zone} hostmaster.${c.zone} 1 3600 600 86400 5`, ttl: 60 },
    { name: c.zone, type: 'NS', content: `ns.${c.zone}`, ttl: 60 },
    { name: `${c.name}.${c.zone}`, type: 'LUA', content: renderGeoLua(c), ttl: c.ttlSeconds },
  ];
}

/** Writes the backend's SQLite file: Debian's schema, the zone, its records. */
export function writeZoneDb(file: string, c: PdnsConfig, schemaFile = PDNS_SQLITE_SCHEMA): void {
  if (!existsSync(schemaFile)) {
    throw new BenchError('environment', `the PowerDNS SQLite schema ${schemaFile} is missing`, 'install it: apt-get install pdns-backend-sqlite3');
  }
  const db = new Database(file);
  try {
    db.exec(readFileSync(schemaFile, 'utf8'));
    const domain = db.prepare("INSERT INTO domains (name, type) VALUES (?, 'NATIVE')").run(c.zone).lastInsertRowid;
    const insert = db.prepare('INSERT INTO records (domain_id, name, type, content, ttl, disabled, auth) VALUES (?, ?, ?, ?, ?, 0, 1)');
    for (const r of zoneRecords(c)) insert.run(domain, r.name, r.type, r.content, r.ttl);
  } finally {
    db.close();
  }
}

/** Replaces the routed record's content (e.g. a drill stepping a region out: `drain`; without
 *  it, the record as deployed); the server reads it on the next query, since every cache is off.
 *  Throws when the zone has no such record (nothing was changed). */
export function updateGeoRecord(file: string, c: PdnsConfig, drain?: GeoDrain): void {
  const db = new Database(file);
  try {
    const changed = db.prepare("UPDATE records SET content = ?, ttl = ? WHERE type = 'LUA' AND name = ?").run(renderGeoLua(c, drain), c.ttlSeconds, `${c.name}.${c.zone}`).changes;
    if (changed !== 1) throw new BenchError('internal', `the geo DNS's database ${file} holds ${changed} LUA records named ${c.name}.${c.zone}, not one`);
  } finally {
    db.close();
  }
}

/** The routed record's content as the server's database holds it now (null: no such record). */
export function readGeoRecord(file: string, c: PdnsConfig): string | null {
  const db = new Database(file, { readonly: true });
  try {
    const row = db.prepare("SELECT content FROM records WHERE type = 'LUA' AND name = ?").get(`${c.name}.${c.zone}`) as { content: string } | undefined;
    return row?.content ?? null;
  } finally {
    db.close();
  }
}

export const pdnsRecipe: ComponentKind = {
  kind: 'pdns',
  config: pdnsConfig,
  ports: { main: 5300 },
  tier: 'entry',
  requires: [{ binary: 'pdns_server', paths: ['/usr/sbin'], debianPackage: 'pdns-server', doctor: { name: 'PowerDNS', neededFor: 'geo-routing DNS (phase 7)', versionArgs: ['--version'] } }],
  async prepare(ctx) {
    const c = pdnsConfigOf(ctx);
    const db = join(ctx.dir, PDNS_DB_FILE);
    writeZoneDb(db, c);
    // the backend opens it read-write (journal settings): the server's user must own it
    const owner = await lookupUser(PDNS_USER);
    if (owner) await chown(db, owner.uid, owner.gid).catch(() => {});
    await writeFile(join(ctx.dir, 'pdns.conf'), renderPdnsConf({ ip: ctx.service.address.host, port: ctx.service.address.port, dir: ctx.dir }));
  },
  launch(ctx) {
    return { command: ctx.bin('pdns_server'), args: [`--config-dir=${ctx.dir}`], cwd: ctx.dir, user: PDNS_USER };
  },
  async ready(ctx) {
    const c = pdnsConfigOf(ctx);
    const { host, port } = ctx.service.address;
    await waitFor.until(`SOA of ${c.zone} from ${host}:${port}`, async () => {
      const r = new Resolver({ timeout: 500, tries: 1 });
      r.setServers([`${host}:${port}`]);
      await r.resolveSoa(c.zone);
      return true;
    }, { timeoutMs: 15_000, signal: ctx.signal });
    // A candidate counts as down until its first health check: right after the start every view
    // answers a candidate at random (header). Give the checks a few rounds until each view answers
    // its first choice FIRST_CHOICE_SAMPLES times in a row; past that a first choice may really be
    // down, which is not the server's readiness.
    await waitFor
      .until(`every view's first choice from ${host}:${port}`, async () => ((await everyViewAnswersFirstChoice({ host, port }, c)) ? true : undefined), { timeoutMs: 3 * PDNS_HEALTH_INTERVAL_S * 1000 + 1_000, signal: ctx.signal })
      .catch(() => ctx.progress(`${ctx.service.name}: not every view answers its first choice yet (a region may be down)`));
  },
};

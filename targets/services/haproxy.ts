// HAProxy as the load balancer of the stateless fleet (phases 3-5): round robin over the app
// servers with sub-second health checks, retries and redispatch so that a dead app server costs
// (almost) no errors, and its built-in Prometheus exporter on a side port.
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { BenchError } from '../../harness/errors.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { Endpoint, PlannedService } from '../../harness/topology/plan.ts';
import type { ComponentKind } from './types.ts';

/** The stats page and built-in Prometheus exporter: a side port on the balancer's own address. */
export const HAPROXY_STATS_PORT = 8404;

/** The servers it balances over (empty: everything it depends on). */
/** Routes (phase 6's gateway): requests whose path starts with `prefix` go to `backends`, checked on /health. */
const routeSchema = z.object({ name: z.string().regex(/^[a-z][a-z0-9_-]*$/), prefixes: z.array(z.string().regex(/^\/[A-Za-z0-9/_-]*$/)).min(1), backends: z.array(z.string()).min(1) }).strict();
const haproxyConfig = z
  .object({ kind: z.literal('haproxy'), haproxy: z.object({ backends: z.array(z.string()), routes: z.array(routeSchema).optional(), liveness: z.boolean().optional() }).strict() })
  .strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    haproxy: Omit<z.infer<typeof haproxyConfig>, 'kind'>;
  }
}

/** The config file the recipe renders into the service's directory. */
export const HAPROXY_CONFIG_FILE = 'haproxy.cfg';

/** Where the balancer listens, what it balances over, and where its stats and /metrics live. */
export interface HaproxyConfigInput {
  /** the service's own address: the frontend binds exactly this, never 0.0.0.0 */
  listen: Endpoint;
  /** the stats page and Prometheus exporter, on the same IP as `listen` */
  statsPort: number;
  /** one server line per app, at the address the balancer reaches it (its Toxiproxy edge) */
  servers: { name: string; address: Endpoint }[];
  /** connections the process accepts at most; default 4096 */
  maxconn?: number;
  /** path routes tried before the app fleet (phase 6's gateway); their servers answer /health */
  routes?: { name: string; prefixes: string[]; servers: { name: string; address: Endpoint }[] }[];
  /** route LIVENESS_PATH to the fleet checked on it (not on /healthz): the balancer then answers it
   *  200 while it and at least one app process are alive, whatever their database does (phase 7's
   *  geo DNS checks a region with it). Such a balancer, a region's entry behind a geo DNS, can also
   *  be drained (setDrain) */
  liveness?: boolean;
}

/**
 * Draining a region's balancer (a region evacuated through its geo DNS: chaos/drills/region-
 * evacuation.ts): while its map holds `drain`, every answer carries `Connection: close` and the
 * client connection ends after it, so each client's next request opens a new connection and asks
 * the geo DNS again. Without it a client keeps its connection as long as it uses it, and a DNS
 * change never moves it (measured: the geo DNS stepped a region's answers down to 0 %, its clients
 * kept 99-100 % of their requests there). Switched through the admin socket, both files in the
 * balancer's directory (its working directory, so the config names them relatively).
 */
export const DRAIN_MAP_FILE = 'drain.map';
export const ADMIN_SOCKET_FILE = 'admin.sock';
const DRAIN_KEY = 'drain';

/** The app's shallow health (targets/app/app.ts): the process answers, nothing behind it asked. */
export const LIVENESS_PATH = '/livez';

/** Renders haproxy.cfg for the fleet's balancer. Pure. */
export function renderHaproxyConfig(input: HaproxyConfigInput): string {
  if (input.servers.length === 0) throw new Error('renderHaproxyConfig: a balancer needs at least one server');
  const maxconn = input.maxconn ?? 4096;
  const bind = (ip: string, port: number) => `${ip}:${port}`;
  return [
    '# rendered by targets/services/haproxy.ts',
    'global',
    // foreground (-db) and one thread: the host has a fraction of a core, more threads only contend
    `    maxconn ${maxconn}`,
    '    nbthread 1',
    ...(input.liveness ? [`    stats socket unix@${ADMIN_SOCKET_FILE} mode 600 level admin`] : []),
    '',
    'defaults',
    '    mode http',
    '    timeout connect 1s',
    '    timeout client 10s',
    // A server that accepted a request and went silent (SIGSTOP, a long GC pause) is given up on
    // after 2 s and the request is replayed on another server (retry-on response-timeout below):
    // with 10 s it outlived the engine's 5 s timeout, so a hung server became client errors.
    // 2 s is well above a healthy app's latency, also under slow-database's added 100-250 ms, so
    // a merely slow fleet is not hit by a retry storm.
    '    timeout server 2s',
    '    timeout http-keep-alive 10s',
    // A request that hit a server as it died is replayed on another one: measured, this took a
    // SIGKILLed backend from 577 failed requests of 12,272 to 0. A non-idempotent request is not
    // replayed after a response timeout (backend app_once below).
    '    retries 3',
    '    option redispatch 1',
    '    retry-on conn-failure empty-response response-timeout',
    '    option dontlognull',
    '',
    'frontend api',
    `    bind ${bind(input.listen.host, input.listen.port)}`,
    // path routes first: the first use_backend that matches wins
    ...(input.routes ?? []).flatMap((r) => [`    acl route_${r.name} path_beg ${r.prefixes.join(' ')}`, `    use_backend svc_${r.name} if route_${r.name}`]),
    ...(input.liveness
      ? [`    use_backend app_live if { path ${LIVENESS_PATH} }`, `    http-after-response set-header Connection close if { str(${DRAIN_KEY}),map(${DRAIN_MAP_FILE}) -m found }`]
      : []),
    // RFC 9110's idempotent methods go to backend app, which replays a 503; the rest (POST: sign-ups,
    // logins) to app_once, which does not
    '    acl idempotent method GET HEAD PUT DELETE OPTIONS TRACE',
    '    use_backend app_once if !idempotent',
    '    default_backend app',
    '',
    'backend app',
    // An app server cut off from its data tier answers 503 until two failed checks take it out
    // (about a second of its share of the traffic: 2% of a network-partition drill's requests).
    // Those 503s are replayed on another server, but only here, where every method is idempotent:
    // replaying one is safe even when the first attempt did write.
    '    retry-on conn-failure empty-response response-timeout 503',
    // One replay, not the defaults' 3: a 503 that every server gives (a dead shard's users in phase
    // 5) would otherwise be asked 4 times, each as slow as the app's own 503, and shard-outage's
    // p99 went from well under to 2.2 s. One replay on another server is enough when one server is
    // bad, which is what replaying is for.
    '    retries 1',
    '    balance roundrobin',
    '    option httpchk GET /healthz',
    '    http-check expect status 200',
    // checks go through the same edge as traffic, so a drill that cuts lb->app-2 also takes it out
    // of rotation; fastinter: once one check failed, the next comes sooner, so a server that went
    // bad is out ~250 ms earlier, while a healthy one is checked at the calm 500 ms
    ...input.servers.map((s) => `    server ${s.name} ${bind(s.address.host, s.address.port)} check inter 500ms fastinter 250ms fall 2 rise 2`),
    '',
    'backend app_once',
    // A POST's 503 is not replayed: an app that answers 503 because its database went away mid-
    // commit may have written, and a replayed sign-up without an id would create a second user.
    // Nor is a POST whose answer timed out (the defaults' response-timeout): the server had it for
    // 2 s and may well have committed it, so a replay on another server ran it twice (a sign-up then
    // answered 409, seen in cold warm-ups); the client gets the 504 instead. Retried only when the
    // request never reached a server (conn-failure) or the server closed without a byte of answer
    // (empty-response: mostly a keep-alive connection it had just closed, the one case of the two
    // where a crash mid-commit could still have written). The servers track backend app's, so
    // they leave and rejoin rotation together, on one set of health checks.
    '    retry-on conn-failure empty-response',
    '    balance roundrobin',
    ...input.servers.map((s) => `    server ${s.name} ${bind(s.address.host, s.address.port)} track app/${s.name}`),
    '',
    ...(input.liveness
      ? [
          'backend app_live',
          // the fleet as a region-level check sees it: a server is out when its process does not
          // answer, not when its database is away (backend app's /healthz): during a failover of
          // the shared database every region's /healthz fails at once, and a geo DNS that sees every
          // region down answers any of them, the dead one included
          '    balance roundrobin',
          `    option httpchk GET ${LIVENESS_PATH}`,
          '    http-check expect status 200',
          ...input.servers.map((s) => `    server ${s.name} ${bind(s.address.host, s.address.port)} check inter 500ms fastinter 250ms fall 2 rise 2`),
          '',
        ]
      : []),
    'frontend stats',
    `    bind ${bind(input.listen.host, input.statsPort)}`,
    '    http-request use-service prometheus-exporter if { path /metrics }',
    '    stats enable',
    '    stats uri /stats',
    '    stats refresh 5s',
    '',
    ...(input.routes ?? []).flatMap((r) => [
      `backend svc_${r.name}`,
      // phase 6's POSTs carry the client's id and are idempotent by it: a replay after a dead
      // server is safe; a 503 is not replayed (the service answered, its database did not)
      '    balance roundrobin',
      '    option httpchk GET /health',
      '    http-check expect status 200',
      ...r.servers.map((sv) => `    server ${sv.name} ${bind(sv.address.host, sv.address.port)} check inter 500ms fastinter 250ms fall 2 rise 2`),
      '',
    ]),
  ].join('\n');
}

/** The backends of a balancer: its declared backends, else everything it depends on. */
function backendsOf(service: PlannedService): string[] {
  const c = service.config;
  return c.kind === 'haproxy' && c.haproxy.backends.length > 0 ? c.haproxy.backends : service.dependsOn;
}

/** The config of one balancer in a plan: its address, the stats side port, a server per backend. */
export function haproxyInputFor(service: PlannedService, reach: (to: string) => Endpoint): HaproxyConfigInput {
  return {
    listen: service.address,
    statsPort: HAPROXY_STATS_PORT,
    servers: backendsOf(service).map((name) => ({ name, address: reach(name) })),
    ...(service.config.kind === 'haproxy' && service.config.haproxy.liveness ? { liveness: true } : {}),
    ...(service.config.kind === 'haproxy' && service.config.haproxy.routes
      ? { routes: service.config.haproxy.routes.map((r) => ({ name: r.name, prefixes: r.prefixes, servers: r.backends.map((b) => ({ name: b, address: reach(b) })) })) }
      : {}),
  };
}

export const haproxyRecipe: ComponentKind = {
  kind: 'haproxy',
  config: haproxyConfig,
  ports: { main: 8000, side: { stats: HAPROXY_STATS_PORT } },
  tier: 'entry',
  requires: [
    {
      binary: 'haproxy',
      paths: ['/usr/sbin'],
      debianPackage: 'haproxy',
      inImage: '/usr/local/sbin/haproxy',
      doctor: { name: 'HAProxy', neededFor: 'load balancer (phase 3+)', versionArgs: ['-v'] },
    },
  ],
  image: { official: 'haproxy:2.6' },
  scrape: { job: 'haproxy', sidePort: 'stats' },
  async prepare(ctx) {
    if (backendsOf(ctx.service).length === 0) {
      throw new BenchError('internal', `balancer ${ctx.service.name} has no backends`, 'give it dependsOn or haproxy.backends in its phase');
    }
    const input = haproxyInputFor(ctx.service, ctx.reach);
    // the drain's map must exist when the config is read; empty: not draining (also after a restart)
    if (input.liveness) await writeFile(join(ctx.dir, DRAIN_MAP_FILE), '');
    await writeFile(join(ctx.dir, HAPROXY_CONFIG_FILE), renderHaproxyConfig(input));
  },
  launch: (ctx) => ({
    command: ctx.bin('haproxy'),
    // -db: stay in the foreground so the runtime owns the process; SIGTERM stops it at once
    args: ['-db', '-f', join(ctx.dir, HAPROXY_CONFIG_FILE)],
    cwd: ctx.dir,
  }),
  async ready(ctx) {
    const ip = ctx.service.address.host;
    await statsThenPort(ctx.service.address, { host: ip, port: HAPROXY_STATS_PORT }, ctx.signal);
  },
  docker: {
    async ready(ctx) {
      // under Docker the stats side port is published under another number
      await statsThenPort(ctx.service.address, ctx.published(HAPROXY_STATS_PORT), ctx.signal);
    },
  },
};

/**
 * Turns a drainable balancer's draining on or off (see DRAIN_MAP_FILE) through its admin socket in
 * `dir` (the service's directory on this machine). Rejects with HAProxy's answer when it refused.
 */
export async function setDrain(dir: string, on: boolean): Promise<void> {
  const command = on ? `clear map ${DRAIN_MAP_FILE}; add map ${DRAIN_MAP_FILE} ${DRAIN_KEY} 1` : `clear map ${DRAIN_MAP_FILE}`;
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect({ path: join(dir, ADMIN_SOCKET_FILE) });
    let out = '';
    socket.setEncoding('utf8');
    socket.setTimeout(2_000, () => socket.destroy(new Error(`no answer from ${join(dir, ADMIN_SOCKET_FILE)} within 2 s`)));
    socket.on('data', (d: string) => (out += d));
    socket.on('error', reject);
    socket.on('end', () => resolve(out));
    socket.end(`${command}\n`);
  });
  // the CLI answers nothing (blank lines) when every command succeeded
  if (answer.trim() !== '') throw new BenchError('environment', `HAProxy refused "${command}": ${answer.trim()}`, 'is the balancer a drainable one (liveness)?');
}

/** Ready: its /metrics answers (config loaded), then the balanced port accepts connections. */
async function statsThenPort(listen: Endpoint, stats: Endpoint, signal: AbortSignal): Promise<void> {
  await waitFor.http(`http://${stats.host}:${stats.port}/metrics`, { status: 200, timeoutMs: 10_000, signal });
  await waitFor.port(listen, { timeoutMs: 2_000, signal });
}

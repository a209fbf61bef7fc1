// nginx as the CDN edge of phases 4-5: /static/ is cached (proxy_cache) in front of the origin
// (the balancer), marked HIT/MISS in X-Cache-Status, and served stale while the origin is down;
// everything else passes through uncached. Each cached request is logged with its cache status
// so the harness can compute the edge hit ratio after a run (edgeHitRatio).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { BenchError } from '../../harness/errors.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { Endpoint } from '../../harness/topology/plan.ts';
import type { Service } from '../../harness/topology/types.ts';
import type { ComponentKind } from './types.ts';

/** The service static assets are fetched from on a miss (empty: its only dependency). */
const nginxConfig = z.object({ kind: z.literal('nginx'), nginx: z.object({ origin: z.string() }).strict() }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    nginx: Omit<z.infer<typeof nginxConfig>, 'kind'>;
  }
}

/** The config file the recipe renders into the service's directory. */
export const NGINX_CONFIG_FILE = 'nginx.conf';
/** The log of /static/ requests, one line per request with its cache status, in the service's directory. */
export const EDGE_LOG_FILE = 'edge-access.log';
/** nginx's own counters (stub_status): also the readiness probe, as it answers without the origin. */
export const EDGE_STATUS_PATH = '/edge-status';

export interface NginxConfigInput {
  /** the service's directory: pid, cache, temp files and the edge log all stay inside it */
  dir: string;
  /** the service's own address, never 0.0.0.0 */
  listen: Endpoint;
  /** where misses go: the origin (the balancer) through its Toxiproxy edge */
  origin: Endpoint;
  /** the worker user; only meaningful when the master runs as root */
  user?: string;
  /** cache size on disk at most, in MB; default 256 */
  cacheMaxMb?: number;
}

/** Renders nginx.conf for the CDN edge. Pure. */
export function renderNginxConfig(input: NginxConfigInput): string {
  const d = input.dir;
  const o = input.origin;
  return [
    '# rendered by targets/services/nginx.ts',
    ...(input.user ? [`user ${input.user};`] : []),
    'worker_processes 1;',
    `pid ${d}/nginx.pid;`,
    'error_log stderr warn;',
    'events { worker_connections 1024; }',
    'http {',
    `    client_body_temp_path ${d}/tmp/client_body;`,
    `    proxy_temp_path ${d}/tmp/proxy;`,
    `    fastcgi_temp_path ${d}/tmp/fastcgi;`,
    `    uwsgi_temp_path ${d}/tmp/uwsgi;`,
    `    scgi_temp_path ${d}/tmp/scgi;`,
    '    access_log off;',
    // nginx's default, written out: the engine's socket client keeps its idle limit below it
    '    keepalive_timeout 75s;',
    // fields are fixed-position: parseEdgeLog reads the 3rd as the cache status
    "    log_format edge '$msec $status $upstream_cache_status $request_time $request_uri';",
    `    proxy_cache_path ${d}/cache levels=1:2 keys_zone=edge:10m max_size=${input.cacheMaxMb ?? 256}m inactive=10m use_temp_path=off;`,
    '    upstream origin {',
    `        server ${o.host}:${o.port} max_fails=0;`,
    '        keepalive 32;',
    '    }',
    '    server {',
    `        listen ${input.listen.host}:${input.listen.port};`,
    '        server_name _;',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        location /static/ {',
    '            proxy_pass http://origin;',
    '            proxy_cache edge;',
    '            proxy_cache_valid 200 5m;',
    '            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;',
    // one request per asset goes to the origin on a cold cache, the others wait for it
    '            proxy_cache_lock on;',
    // the edge's policy is the 5 minutes above whatever the origin says, and a cached asset must
    // never carry one user's session cookie to another
    '            proxy_ignore_headers Cache-Control Expires Set-Cookie;',
    '            proxy_hide_header Set-Cookie;',
    '            add_header X-Cache-Status $upstream_cache_status always;',
    `            access_log ${d}/${EDGE_LOG_FILE} edge;`,
    '        }',
    `        location = ${EDGE_STATUS_PATH} {`,
    '            stub_status;',
    '        }',
    '        location / {',
    '            proxy_pass http://origin;',
    '        }',
    '    }',
    '}',
    '',
  ].join('\n');
}

/** Requests the edge served from its cache vs fetched from the origin. */
export interface EdgeCacheCounts {
  /** served from the cache: HIT, STALE, UPDATING, REVALIDATED */
  hits: number;
  /** fetched from the origin: MISS, EXPIRED, BYPASS */
  misses: number;
  /** no cache decision ('-'): e.g. a request refused before the cache was consulted */
  other: number;
  /** hits / (hits + misses); null when no cacheable request was seen */
  ratio: number | null;
}

const HIT = new Set(['HIT', 'STALE', 'UPDATING', 'REVALIDATED']);
const MISS = new Set(['MISS', 'EXPIRED', 'BYPASS']);

/** Counts cache statuses in the text of an edge log (format `edge` of renderNginxConfig). Pure. */
export function parseEdgeLog(text: string): EdgeCacheCounts {
  let hits = 0;
  let misses = 0;
  let other = 0;
  for (const line of text.split('\n')) {
    const status = line.split(' ')[2];
    if (status === undefined) continue;
    if (HIT.has(status)) hits++;
    else if (MISS.has(status)) misses++;
    else other++;
  }
  return { hits, misses, other, ratio: hits + misses > 0 ? hits / (hits + misses) : null };
}

/** The edge hit ratio of a run, from the edge's log file (`<service dir>/edge-access.log`). */
export async function edgeHitRatio(logFile: string): Promise<EdgeCacheCounts> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return parseEdgeLog('');
    throw e;
  }
  return parseEdgeLog(text);
}

/** The nginx command line for a config in `dir` (also what `nginx -t` is given, with '-t'). */
export function nginxArgs(dir: string): string[] {
  // -e: the compiled-in error log (/var/log/nginx) is opened before the config is read
  return ['-e', 'stderr', '-p', dir, '-c', join(dir, NGINX_CONFIG_FILE), '-g', 'daemon off;'];
}

/** The origin of an edge service: its nginx.origin, else its only dependency. */
function originOf(service: Service): string {
  const origin = service.config.kind === 'nginx' ? service.config.nginx.origin : undefined;
  if (origin) return origin;
  if (service.dependsOn.length === 1) return service.dependsOn[0]!;
  throw new BenchError('internal', `edge ${service.name} has no origin`, 'give it nginx.origin in its phase');
}

export const nginxRecipe: ComponentKind = {
  kind: 'nginx',
  config: nginxConfig,
  ports: { main: 8081 },
  tier: 'entry',
  requires: [
    {
      binary: 'nginx',
      paths: ['/usr/sbin'],
      debianPackage: 'nginx-light',
      inImage: '/usr/sbin/nginx',
      doctor: { name: 'nginx', neededFor: 'CDN edge (phase 4+)', versionArgs: ['-v'] },
    },
  ],
  image: { official: 'nginx:1.22' },
  async prepare(ctx) {
    await mkdir(join(ctx.dir, 'cache'), { recursive: true });
    await mkdir(join(ctx.dir, 'tmp'), { recursive: true });
    const config = renderNginxConfig({
      dir: ctx.dir,
      listen: ctx.service.address,
      origin: ctx.reach(originOf(ctx.service)),
      // workers run as the harness's own user: the cache and temp files live in the run directory,
      // which that user owns and deletes; nginx's default (nobody) could not write there
      user: process.getuid?.() === 0 ? userInfo().username : undefined,
    });
    await writeFile(join(ctx.dir, NGINX_CONFIG_FILE), config);
  },
  launch: (ctx) => ({ command: ctx.bin('nginx'), args: nginxArgs(ctx.dir), cwd: ctx.dir }),
  async ready(ctx) {
    const a = ctx.service.address;
    await waitFor.http(`http://${a.host}:${a.port}${EDGE_STATUS_PATH}`, { status: 200, timeoutMs: 10_000, signal: ctx.signal });
  },
};

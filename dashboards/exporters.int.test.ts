// The dashboards and rules name exporter metrics (haproxy_*, redis_*, pg_*): this test starts the
// real servers and exporters on a loopback address, scrapes them, and checks that every such
// name the dashboards or rules use is one the exporter really serves. Each part is skipped, with
// the reason, when its binaries are missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboards } from './index.ts';
import { checkExpr } from './promql.ts';
import { KNOWN_METRICS, type MetricSource } from './metrics.ts';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const bins = {
  haproxy: which('haproxy'),
  redis: which('redis-server'),
  redisExporter: which('prometheus-redis-exporter'),
  pgExporter: which('prometheus-postgres-exporter'),
  initdb: existsSync(join(PG_BIN, 'initdb')) ? join(PG_BIN, 'initdb') : '',
};
// A random loopback address so a parallel run elsewhere on the machine does not collide.
const ADDR = `127.${200 + Math.floor(Math.random() * 50)}.${1 + Math.floor(Math.random() * 250)}.1`;
const PORTS = { haproxyFront: 18000, haproxyStats: 18404, redis: 16399, redisExporter: 19121, pg: 15439, pgExporter: 19187 };

/** Exporter metric names the dashboards and rules use, by source. */
function usedBy(source: MetricSource): string[] {
  const exprs = [...buildDashboards().values()].flatMap((d) => [
    ...(d.panels ?? []).flatMap((p) => ((p as { targets?: Array<{ expr?: string }> }).targets ?? []).map((t) => t.expr ?? '')),
  ]);
  const rules = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'rules/bench.rules.yml'), 'utf8');
  exprs.push(...[...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!));
  const names = new Set(exprs.flatMap((e) => checkExpr(e).metrics).map((m) => m.replace(/_(bucket|sum|count)$/, '')));
  return [...names].filter((n) => KNOWN_METRICS[n]?.source === source).sort();
}

/** Metric names present in a Prometheus text exposition. */
const namesIn = (text: string) => new Set([...text.matchAll(/^([a-zA-Z_:][\w:]*)[{ ]/gm)].map((m) => m[1]!));

/** Polls a metrics URL until its body matches `ready`, or fails after `ms`. */
async function scrapeWhen(url: string, ready: RegExp, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = await res.text();
      if (ready.test(last)) return last;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} not ready after ${ms} ms: ${last.slice(0, 200)}`);
}

const children: ChildProcess[] = [];
function start(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  child.stderr?.resume();
  children.push(child);
  return child;
}

let dir = '';
afterAll(async () => {
  for (const c of children.reverse()) {
    if (c.exitCode === null && c.pid) {
      c.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          c.kill('SIGKILL');
          r(null);
        }, 3000);
        c.once('exit', () => {
          clearTimeout(t);
          r(null);
        });
      });
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bench-exporters-'));
});

describe.skipIf(!bins.haproxy)(`HAProxy's exporter${bins.haproxy ? '' : ' — SKIPPED: haproxy not found'}`, () => {
  it('serves every haproxy_* metric the dashboards and rules use', async () => {
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      [
        'global',
        '  maxconn 100',
        'defaults',
        '  mode http',
        '  timeout connect 1s',
        '  timeout client 5s',
        '  timeout server 5s',
        'frontend stats',
        `  bind ${ADDR}:${PORTS.haproxyStats}`,
        '  http-request use-service prometheus-exporter if { path /metrics }',
        'frontend fe',
        `  bind ${ADDR}:${PORTS.haproxyFront}`,
        '  default_backend be_app',
        'backend be_app',
        '  retries 3',
        '  option redispatch 1',
        // Nothing listens there: the servers go DOWN, which is a state the dashboards show too.
        `  server app-1 ${ADDR}:1 check inter 200ms`,
        `  server app-2 ${ADDR}:2 check inter 200ms`,
        '',
      ].join('\n'),
    );
    start(bins.haproxy, ['-db', '-f', cfg]);
    const text = await scrapeWhen(`http://${ADDR}:${PORTS.haproxyStats}/metrics`, /^haproxy_server_status\{/m);
    const used = usedBy('haproxy');
    expect(used.length).toBeGreaterThan(8);
    const served = namesIn(text);
    expect(used.filter((m) => !served.has(m))).toEqual([]);
    expect(text).toMatch(/^haproxy_server_status\{proxy="be_app",server="app-1",state="UP"\} [01]$/m);
    expect(text).toMatch(/^haproxy_backend_http_responses_total\{proxy="be_app",code="5xx"\} \d+$/m);
  });
});

describe.skipIf(!bins.redis || !bins.redisExporter)(
  `redis-exporter${bins.redis && bins.redisExporter ? '' : ' — SKIPPED: redis-server or prometheus-redis-exporter not found'}`,
  () => {
    it('serves every redis_* metric the dashboards and rules use', async () => {
      start(bins.redis, ['--bind', ADDR, '--port', String(PORTS.redis), '--save', '', '--appendonly', 'no']);
      start(bins.redisExporter, [`--redis.addr=redis://${ADDR}:${PORTS.redis}`, `--web.listen-address=${ADDR}:${PORTS.redisExporter}`]);
      // One key, so redis_db_keys has a series.
      const text0 = await scrapeWhen(`http://${ADDR}:${PORTS.redisExporter}/metrics`, /^redis_up 1$/m);
      expect(text0).toContain('redis_up 1');
      const cli = spawnSync('redis-cli', ['-h', ADDR, '-p', String(PORTS.redis), 'SET', 'user_profile_1', 'x'], { encoding: 'utf8', timeout: 5000 });
      if (cli.status !== 0) throw new Error(`redis-cli failed: ${cli.stderr}`);
      const text = await scrapeWhen(`http://${ADDR}:${PORTS.redisExporter}/metrics`, /^redis_db_keys\{/m);
      const used = usedBy('redis-exporter');
      expect(used.length).toBeGreaterThan(6);
      const served = namesIn(text);
      expect(used.filter((m) => !served.has(m))).toEqual([]);
    });
  },
);

describe.skipIf(!bins.initdb || !bins.pgExporter)(
  `postgres-exporter${bins.initdb && bins.pgExporter ? '' : ' — SKIPPED: PostgreSQL 15 or prometheus-postgres-exporter not found'}`,
  () => {
    it('serves every pg_* metric the dashboards and rules use', async () => {
      // initdb refuses root: run PostgreSQL as the postgres user when we are root.
      const asRoot = process.getuid?.() === 0;
      const pgDir = join(dir, 'pg');
      const as = (args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0]!, args.slice(1)]) as [string, string[]];
      spawnSync('mkdir', ['-p', pgDir]);
      if (asRoot) {
        const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
        const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
        chmodSync(dir, 0o755);
        chownSync(pgDir, uid, gid);
      }
      const run = (args: string[]) => {
        const [cmd, rest] = as(args);
        const r = spawnSync(cmd, rest, { encoding: 'utf8', timeout: 30_000 });
        if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
      };
      run([bins.initdb, '-D', join(pgDir, 'data'), '-A', 'trust', '-U', 'postgres']);
      run([
        join(PG_BIN, 'pg_ctl'),
        '-D',
        join(pgDir, 'data'),
        '-o',
        `-c listen_addresses=${ADDR} -c port=${PORTS.pg} -c unix_socket_directories=${pgDir}`,
        '-l',
        join(pgDir, 'log'),
        '-w',
        'start',
      ]);
      try {
        start(bins.pgExporter, [`--web.listen-address=${ADDR}:${PORTS.pgExporter}`], {
          DATA_SOURCE_NAME: `postgresql://postgres@${ADDR}:${PORTS.pg}/postgres?sslmode=disable`,
        });
        const text = await scrapeWhen(`http://${ADDR}:${PORTS.pgExporter}/metrics`, /^pg_up 1$/m);
        const used = usedBy('postgres-exporter');
        expect(used.length).toBeGreaterThan(8);
        const served = namesIn(text);
        expect(used.filter((m) => !served.has(m))).toEqual([]);
      } finally {
        run([join(PG_BIN, 'pg_ctl'), '-D', join(pgDir, 'data'), '-m', 'immediate', '-w', 'stop']);
      }
    });
  },
);

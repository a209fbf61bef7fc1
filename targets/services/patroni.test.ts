// etcd's command line, Patroni's config and wrapper, the pg-router's config; pure (the servers: patroni.int.test.ts).
import { describe, expect, it } from 'vitest';
import type { PlannedService } from '../../harness/topology/plan.ts';
import { etcdArgs } from './etcd.ts';
import { renderPatroniConfig, renderPostgresWrapper } from './patroni.ts';
import { renderPgRouterConfig, uncheckedServers } from './pg-router.ts';

const etcd = (n: number): PlannedService => ({
  name: `etcd-${n}`,
  kind: 'etcd',
  host: `h${n}`,
  role: 'dcs',
  dependsOn: [],
  config: { kind: 'etcd', etcd: { members: ['etcd-1', 'etcd-2'] } },
  address: { host: `127.5.${n}.1`, port: 2379 },
});

const member: PlannedService = {
  name: 'pg-eu',
  kind: 'patroni',
  host: 'db-eu',
  role: 'db',
  dependsOn: ['etcd-1', 'etcd-2'],
  config: { kind: 'patroni', patroni: { scope: 'bench', etcd: ['etcd-1', 'etcd-2'] } },
  address: { host: '127.5.7.1', port: 5432 },
};

describe('etcd', () => {
  it('names every member by its peer URL on loopback, with a per-run token', () => {
    const args = etcdArgs({ runId: 'r1', services: [etcd(1), etcd(2)] }, etcd(2), '/d/data');
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(flag('--initial-cluster')).toBe('etcd-1=http://127.5.1.1:2380,etcd-2=http://127.5.2.1:2380');
    expect(flag('--listen-client-urls')).toBe('http://127.5.2.1:2379');
    expect(flag('--listen-peer-urls')).toBe('http://127.5.2.1:2380');
    expect(flag('--initial-cluster-token')).toBe('bench-r1');
    expect(args.join(' ')).not.toContain('0.0.0.0');
  });
  it('refuses a member the plan does not have', () => {
    expect(() => etcdArgs({ runId: 'r', services: [etcd(1)] }, etcd(1), '/d')).toThrow(/etcd member etcd-2 of etcd-1 is not a service/);
  });
});

describe('patroni', () => {
  const cfg = renderPatroniConfig({ service: member, dir: '/d', etcd: [{ host: '127.5.0.1', port: 20001 }], maxConnections: 120, password: 'pw' }) as any;
  it('binds PostgreSQL and the REST API to the host address and reaches etcd as told', () => {
    expect(cfg.postgresql.listen).toBe('127.5.7.1:5432');
    expect(cfg.restapi.listen).toBe('127.5.7.1:8008');
    expect(cfg.etcd3.hosts).toEqual(['127.5.0.1:20001']);
    // only through these (Toxiproxy's) addresses, never the members' own that etcd would advertise
    expect(cfg.etcd3.use_proxies).toBe(true);
    expect(JSON.stringify(cfg)).not.toContain('0.0.0.0');
  });
  it('fails over on the ttl, within Patroni\'s rule loop_wait + 2 x retry_timeout <= ttl', () => {
    const { ttl, loop_wait, retry_timeout } = cfg.bootstrap.dcs;
    expect(ttl).toBe(10);
    expect(loop_wait + 2 * retry_timeout).toBeLessThanOrEqual(ttl);
    expect(cfg.bootstrap.dcs.postgresql.parameters.max_connections).toBe(120);
    expect(cfg.postgresql.bin_dir).toBe('/d/bin');
  });
  it('advertises its replication proxy to the other members when it has one, else its own address', () => {
    expect(cfg.postgresql.connect_address).toBe('127.5.7.1:5432');
    const proxied = renderPatroniConfig({ service: member, dir: '/d', etcd: [], maxConnections: 100, password: 'pw', connectAddress: { host: '127.5.0.1', port: 34567 } }) as any;
    expect(proxied.postgresql.connect_address).toBe('127.5.0.1:34567');
    expect(proxied.postgresql.listen).toBe('127.5.7.1:5432');
  });
  it('the wrapper execs the real server and kills it once Patroni is gone', () => {
    const w = renderPostgresWrapper('/usr/lib/postgresql/15/bin/postgres');
    expect(w.startsWith('#!/bin/sh\n')).toBe(true);
    expect(w).toContain('kill -0 "$BENCH_PATRONI_PID"');
    expect(w).toContain('kill -KILL "$server"');
    expect(w.trimEnd().endsWith(`exec '/usr/lib/postgresql/15/bin/postgres' "$@"`)).toBe(true);
  });
});

describe('pg-router', () => {
  it('checks each member on its REST API and sends the data through its edge', () => {
    const cfg = renderPgRouterConfig({
      listen: { host: '127.5.9.1', port: 5000 },
      statsPort: 8404,
      route: 'primary',
      members: [{ name: 'pg-eu', data: { host: '127.5.0.1', port: 20003 }, restHost: '127.5.7.1' }],
    });
    expect(cfg).toContain('    bind 127.5.9.1:5000\n');
    expect(cfg).toContain('    mode tcp\n');
    expect(cfg).toContain('    http-check send meth GET uri /primary\n');
    expect(cfg).toContain('on-marked-down shutdown-sessions');
    expect(cfg).toContain('    server pg-eu 127.5.0.1:20003 check addr 127.5.7.1 port 8008\n');
    expect(cfg).toContain('frontend stats\n    mode http\n    bind 127.5.9.1:8404\n');
    expect(cfg).not.toContain('0.0.0.0');
    expect(() => renderPgRouterConfig({ listen: { host: '127.5.9.1', port: 5000 }, statsPort: 8404, route: 'replica', members: [] })).toThrow(/at least one member/);
  });

  // the columns as HAProxy 2.6 writes them (pxname,svname,...,status at 18,...,check_status at 37),
  // cut to what matters; the rows as a router showed them 0.1 s and 0.3 s after its start
  const csv = (b: string) => {
    const cols = Array.from({ length: 40 }, (_, i) => `c${i}`);
    cols[0] = '# pxname';
    cols[1] = 'svname';
    cols[17] = 'status';
    cols[36] = 'check_status';
    const row = (sv: string, status: string, check: string) => Array.from({ length: 40 }, (_, i) => (i === 0 ? 'pg' : i === 1 ? sv : i === 17 ? status : i === 36 ? check : '')).join(',');
    return [cols.join(','), row('FRONTEND', 'OPEN', ''), row('pg-us-east', 'UP', 'L7OK'), row('pg-eu', b.split('|')[0]!, b.split('|')[1]!), row('BACKEND', 'UP', ''), ''].join('\n');
  };
  it("is ready only when every server's first check ran: HAProxy starts them all UP", () => {
    expect(uncheckedServers(csv('UP 1/2|INI'))).toEqual(['pg-eu']);
    expect(uncheckedServers(csv('UP 1/2|* INI'))).toEqual(['pg-eu']);
    expect(uncheckedServers(csv('DOWN|L7STS'))).toEqual([]);
    expect(() => uncheckedServers('<html>not the csv</html>')).toThrow(/check_status/);
  });
});

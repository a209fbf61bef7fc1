import { describe, expect, it } from 'vitest';
import { plan, reach, serviceOf } from '../../harness/topology/plan.ts';
import { phase3 } from '../phases/phase-3.ts';
import { phase7 } from '../phases/phase-7.ts';
import { haproxyInputFor, LIVENESS_PATH, renderHaproxyConfig } from './haproxy.ts';

const p = plan(phase3.topology({ users: 1000, appServers: 3, replicas: 1, shards: 1, shardStrategy: 'range' }), { runId: 'r', slot: 5, proxies: true, prometheus: false });
const lb = serviceOf(p, 'lb');
const cfg = renderHaproxyConfig(haproxyInputFor(lb, (to) => reach(p, 'lb', to)));
const lines = cfg.split('\n').map((l) => l.trim());

describe('renderHaproxyConfig', () => {
  it('binds the balancer and its stats only on its own loopback address', () => {
    expect(lines).toContain(`bind ${lb.address.host}:${lb.address.port}`);
    expect(lines).toContain(`bind ${lb.address.host}:8404`);
    expect(cfg).not.toMatch(/0\.0\.0\.0|\*:/);
    expect(lines.filter((l) => l.startsWith('bind '))).toHaveLength(2);
  });

  it('has one checked server per app, each reached through its Toxiproxy edge', () => {
    const servers = lines.filter((l) => l.startsWith('server '));
    // backend app checks them; backend app_once tracks the same servers without checks of its own
    expect(servers).toHaveLength(6);
    expect(servers.filter((l) => l.includes(' check '))).toHaveLength(3);
    for (const app of ['app-1', 'app-2', 'app-3']) {
      const edge = reach(p, 'lb', app);
      expect(edge.host).toBe(p.controlIp);
      expect(servers).toContain(`server ${app} ${edge.host}:${edge.port} check inter 500ms fastinter 250ms fall 2 rise 2`);
      expect(servers).toContain(`server ${app} ${edge.host}:${edge.port} track app/${app}`);
    }
  });

  it('replays a 503 only for idempotent methods', () => {
    const section = (name: string) => cfg.split(/\n(?=\S)/).find((s) => s.startsWith(`${name}\n`))!.split('\n').map((l) => l.trim());
    expect(section('frontend api')).toEqual(expect.arrayContaining([
      'acl idempotent method GET HEAD PUT DELETE OPTIONS TRACE', 'use_backend app_once if !idempotent', 'default_backend app']));
    expect(section('backend app')).toContain('retry-on conn-failure empty-response response-timeout 503');
    // one replay there: a 503 every server gives (a dead shard) is not asked four times
    expect(section('backend app')).toContain('retries 1');
    expect(section('backend app_once').filter((l) => l.startsWith('retries'))).toEqual([]);
    // app_once retries only what cannot have run: never a 503, never after a response timeout
    expect(section('backend app_once').filter((l) => l.startsWith('retry-on'))).toEqual(['retry-on conn-failure empty-response']);
    expect(section('defaults')).toContain('retry-on conn-failure empty-response response-timeout');
    expect(cfg.match(/^\s*retry-on .*\b503\b/gm)).toHaveLength(1);
    // response-timeout replays only in the defaults and backend app (idempotent methods)
    expect(cfg.match(/^\s*retry-on .*\bresponse-timeout\b/gm)).toHaveLength(2);
  });

  it('retries and redispatches, checks /healthz, and exports Prometheus metrics', () => {
    for (const l of ['mode http', 'timeout connect 1s', 'timeout client 10s', 'timeout server 2s', 'retries 3', 'option redispatch 1',
      'retry-on conn-failure empty-response response-timeout', 'balance roundrobin', 'option httpchk GET /healthz',
      'http-request use-service prometheus-exporter if { path /metrics }', 'stats uri /stats']) {
      expect(lines).toContain(l);
    }
    expect(cfg).not.toMatch(/^\s*daemon/m);
  });

  it('a balancer behind a geo DNS (liveness) can be drained: an admin socket and a map in its directory; no other has either', () => {
    const base = { listen: { host: '127.0.0.5', port: 8000 }, statsPort: 8404, servers: [{ name: 'app-1', address: { host: '127.0.0.6', port: 3000 } }] };
    const drainable = renderHaproxyConfig({ ...base, liveness: true });
    expect(drainable).toContain('    stats socket unix@admin.sock mode 600 level admin\n');
    expect(drainable).toContain('    http-after-response set-header Connection close if { str(drain),map(drain.map) -m found }\n');
    const plain = renderHaproxyConfig(base);
    expect(plain).not.toMatch(/stats socket|drain/);
  });

  it('routes /livez to the fleet checked on its liveness only where the phase asks (phase 7), never on /healthz', () => {
    expect(cfg).not.toMatch(/livez|app_live/);
    const p7 = plan(phase7.topology({ users: 100 }), { runId: 'r7', slot: 6, proxies: true, prometheus: false });
    const lb7 = p7.services.find((s) => s.kind === 'haproxy')!;
    const c7 = renderHaproxyConfig(haproxyInputFor(lb7, (to) => reach(p7, lb7.name, to)));
    const section = (name: string) => c7.split(/\n(?=\S)/).find((x) => x.startsWith(`${name}\n`))!.split('\n').map((l) => l.trim());
    expect(section('frontend api')).toContain(`use_backend app_live if { path ${LIVENESS_PATH} }`);
    const live = section('backend app_live');
    expect(live).toContain(`option httpchk GET ${LIVENESS_PATH}`);
    expect(live.filter((l) => l.startsWith('server ')).length).toBe(section('backend app').filter((l) => l.startsWith('server ')).length);
    expect(section('backend app')).toContain('option httpchk GET /healthz');
  });

  it('refuses a balancer with nothing behind it', () => {
    expect(() => renderHaproxyConfig({ listen: lb.address, statsPort: 8404, servers: [] })).toThrow(/at least one server/);
  });
});

import { describe, expect, it } from 'vitest';
import { plan } from '../../harness/topology/plan.ts';
import { phase2 } from '../phases/phase-2.ts';
import { recipeFor, recipes, registry } from './index.ts';
import { renderPgHba, renderPostgresConf } from './postgres.ts';
import { REDIS_CONFIG_FILE, redisArgs, redisRecipe, renderRedisConfig } from './redis.ts';
import { REDIS_PASSWORD } from '../app/config.ts';
import { proxySpecs } from './toxiproxy.ts';

describe('registry', () => {
  it('holds one recipe per kind and refuses a duplicate', () => {
    for (const kind of ['app', 'postgres', 'redis', 'toxiproxy'] as const) expect(recipeFor(kind).kind).toBe(kind);
    const r = recipes.get('redis')!;
    expect(() => registry([r, r])).toThrow(/redis registered twice/);
    expect(() => recipeFor('worker')).toThrow(/no native recipe for kind worker/);
  });
});

describe('postgres config', () => {
  const conf = renderPostgresConf({ name: 'pg-a', ip: '127.3.2.1', port: 5432, socketDir: '/tmp/bench/runs/r/pg-a' });
  it('listens on its host address only, with its own socket dir and hba file', () => {
    expect(conf).toMatch(/^listen_addresses = '127\.3\.2\.1'$/m);
    expect(conf).not.toMatch(/0\.0\.0\.0|'\*'/);
    expect(conf).toMatch(/^unix_socket_directories = '\/tmp\/bench\/runs\/r\/pg-a'$/m);
    expect(conf).toMatch(/^hba_file = '\/tmp\/bench\/runs\/r\/pg-a\/pg_hba\.conf'$/m);
    // the socket trusts local users: only the server's own user may connect to it
    expect(conf).toMatch(/^unix_socket_permissions = 0700$/m);
  });
  it('waits for ANY 1 replica on each commit only when synchronous (--replication sync)', () => {
    expect(conf).not.toMatch(/synchronous_standby_names/);
    const sync = renderPostgresConf({ name: 'pg-a', ip: '127.3.2.1', port: 5432, socketDir: '/tmp/x', synchronous: true });
    expect(sync).toMatch(/^synchronous_standby_names = 'ANY 1 \(\*\)'$/m);
    expect(sync).toMatch(/^synchronous_commit = on$/m);
  });
  it('is durable and ready for streaming replicas', () => {
    for (const line of ['fsync = on', 'synchronous_commit = on', 'wal_level = replica', 'max_wal_senders = 10', 'hot_standby = on', 'shared_buffers = 64MB', 'max_connections = 100']) {
      expect(conf.split('\n')).toContain(line);
    }
  });
  it('asks bench for a password over TCP and trusts only the local socket', () => {
    const hba = renderPgHba().split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/));
    expect(hba).toEqual([
      ['local', 'all', 'all', 'trust'],
      ['local', 'replication', 'all', 'trust'],
      ['host', 'all', 'bench', '127.0.0.0/8', 'scram-sha-256'],
      ['host', 'replication', 'bench', '127.0.0.0/8', 'scram-sha-256'],
    ]);
  });
});

describe('redis and toxiproxy', () => {
  it('redis binds one address, keeps nothing on disk', () => {
    const a = redisArgs({ host: '127.3.4.1', port: 6379 }, '/d');
    expect(a.slice(0, 4)).toEqual(['--bind', '127.3.4.1', '--port', '6379']);
    expect(a.join(' ')).toMatch(/--save {2}--appendonly no/);
  });
  it('redis asks for the run\'s password from its config file, never from its command line', () => {
    expect(renderRedisConfig('abc_DEF-123')).toContain('requirepass "abc_DEF-123"');
    expect(() => renderRedisConfig('a" b')).toThrow(/base64url/);
    const launch = redisRecipe.launch({ dir: '/d', bin: () => 'redis-server', service: { address: { host: '127.3.4.1', port: 6379 } } } as never);
    expect(launch.args[0]).toBe(`/d/${REDIS_CONFIG_FILE}`);
    expect(JSON.stringify(launch)).not.toContain(REDIS_PASSWORD);
    expect(launch.args).not.toContain('--protected-mode');
  });
  it('toxiproxy gets one proxy per proxied edge, named after it', () => {
    const p = plan(phase2.topology({ users: 1, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' }), { runId: 'r', slot: 5, proxies: true, prometheus: true });
    expect(proxySpecs(p)).toEqual([{ name: 'app->pg-primary', listen: '127.5.0.1:20000', upstream: '127.5.2.1:5432', enabled: true }]);
  });
});

import { describe, expect, it } from 'vitest';
import { plan } from '../../topology/plan.ts';
import { phase2 } from '../../../targets/phases/phase-2.ts';
import { imageFor } from './images.ts';
import { containerUser, launchToProcess, type SpecContext } from './kinds.ts';
import { renderDockerPgHba } from '../../../targets/services/postgres.ts';
import { networkPlan } from './views.ts';

const o = { users: 1000, appServers: 1, replicas: 0, shards: 1, shardStrategy: 'range' as const };
const net = networkPlan(plan(phase2.topology(o), { runId: 'r', slot: 5, proxies: true, prometheus: false }), { gateway: '172.20.0.1' });

function ctx(mode: 'local' | 'official', service = 'pg-primary'): SpecContext {
  return {
    mode,
    runId: 'r',
    network: { name: 'bench-r', subnet: '172.20.0.0/16', gateway: '172.20.0.1' },
    plan: net,
    service: net.services.find((s) => s.name === service)!,
    dir: '/tmp/run/data/pg-primary',
    repoRoot: '/work/main',
    bin: (b) => `/usr/lib/postgresql/15/bin/${b}`,
    image: (k) => imageFor(k, mode),
    hostMounts: ['/usr', '/etc', '/work/main'],
    progress: () => {},
    signal: new AbortController().signal,
  };
}

describe('renderDockerPgHba', () => {
  it("keeps the recipe's rules and admits the run's network (containers and published ports)", () => {
    const hba = renderDockerPgHba('172.20.0.0/16');
    expect(hba).toMatch(/^local\s+all\s+all\s+trust$/m);
    expect(hba).toMatch(/^host\s+all\s+bench\s+127\.0\.0\.0\/8\s+scram-sha-256$/m);
    expect(hba).toMatch(/^host\s+all\s+bench\s+172\.20\.0\.0\/16\s+scram-sha-256$/m);
    expect(hba).toMatch(/^host\s+replication\s+bench\s+172\.20\.0\.0\/16\s+scram-sha-256$/m);
    expect(hba).not.toMatch(/0\.0\.0\.0\/0|trust.*172/);
  });
});

describe('launchToProcess', () => {
  it('local: the host binary from the base image, the user as numbers, /usr and /etc read-only', async () => {
    const u = await containerUser('local', 'root');
    expect(u.user).toBe('0:0');
    const p = await launchToProcess(ctx('local'), 'postgres', { command: '/usr/lib/postgresql/15/bin/postgres', args: ['-D', 'x'], user: 'root', stopSignal: 'SIGINT' });
    expect(p.image).toBe('bench-local/base:1');
    expect(p.user).toBe('0:0');
    expect(p.readOnly).toEqual(['/usr', '/etc', '/work/main']);
    expect(p.env.PATH).toContain('/usr/bin');
    expect(p.stopSignal).toBe('SIGINT');
    expect(p.cwd).toBe('/tmp/run/data/pg-primary');
  });

  it('local: mounts the directory of a binary that lives outside the mounted trees', async () => {
    const p = await launchToProcess(ctx('local'), 'toxiproxy', { command: '/opt/tp/bin/toxiproxy-server', args: [] });
    expect(p.readOnly).toContain('/opt/tp/bin');
    expect(p.user).toBeUndefined();
  });

  it("official: the component's image, its postgres user by number, root otherwise", async () => {
    const pgp = await launchToProcess(ctx('official'), 'postgres', { command: '/usr/lib/postgresql/15/bin/postgres', args: [], user: 'postgres' });
    expect(pgp.image).toBe('postgres:15');
    expect(pgp.user).toBe('999:999');
    expect(pgp.readOnly).toEqual([]);
    const r = await launchToProcess(ctx('official', 'app'), 'redis', { command: '/usr/local/bin/redis-server', args: [] });
    expect(r.user).toBe('0:0');
  });

  it('refuses a user this machine does not have, with what to do', async () => {
    await expect(containerUser('local', 'no-such-user-xyz')).rejects.toThrow(/does not exist on this machine/);
  });
});

import { describe, expect, it } from 'vitest';
import { plan } from '../../topology/plan.ts';
import { phase2 } from '../../../targets/phases/phase-2.ts';
import { imageFor } from './images.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerUser, dockerKinds, launchToProcess, nativeContext, type ContainerProcess, type SpecContext } from './kinds.ts';
import { dataDirStep, renderDockerPgHba } from '../../../targets/services/postgres.ts';
import { kinds } from '../../../targets/services/index.ts';
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

describe("PostgreSQL's container steps are the native ones", () => {
  it('prepare runs the native initdb launch in a one-off container and writes the Docker pg_hba', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-kinds-pg-'));
    try {
      const c = { ...ctx('official'), dir };
      const steps: { step: string; proc: ContainerProcess; timeoutMs: number }[] = [];
      await dockerKinds.postgres!.prepare!(c, async (step, proc, timeoutMs) => {
        steps.push({ step, proc, timeoutMs });
        return '';
      }, kinds.get('postgres')!);
      const native = dataDirStep(nativeContext(c));
      expect(steps.map((s) => s.step)).toEqual(['initdb']);
      // the very command line of the native step, in the image, as the image's postgres user
      expect(steps[0]!.proc).toMatchObject({ image: 'postgres:15', command: native.launch.command, args: native.launch.args, user: '999:999', cwd: dir });
      expect(native.launch.args).toContain('--auth=trust');
      expect(readFileSync(join(dir, 'pg_hba.conf'), 'utf8')).toBe(renderDockerPgHba('172.20.0.0/16'));
      expect(readFileSync(join(dir, 'postgresql.conf'), 'utf8')).toMatch(/^listen_addresses = 'pg-primary'$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a socket path beyond sun_path before any step, as natively', async () => {
    const c = { ...ctx('official'), dir: `/tmp/${'x'.repeat(120)}` };
    const steps: string[] = [];
    await expect(dockerKinds.postgres!.prepare!(c, async (step) => (steps.push(step), ''), kinds.get('postgres')!)).rejects.toThrow(/longer than 107 bytes/);
    expect(steps).toEqual([]);
  });
});

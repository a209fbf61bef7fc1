import { describe, expect, it } from 'vitest';
import { plan } from '../../topology/plan.ts';
import { spawnSync } from 'node:child_process';
import { phase2 } from '../../../targets/phases/phase-2.ts';
import { phase6 } from '../../../targets/phases/phase-6.ts';
import { DOCKER_ADDRESS_PLACEHOLDER, DOCKER_CONF_TEMPLATE, dockerStartPrologue } from '../../../targets/services/rabbitmq.ts';
import { kindsOf } from './preflight.ts';
import { imageFor, OFFICIAL_BINARIES } from './images.ts';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerUser, dockerKinds, launchToProcess, nativeContext, type ContainerProcess, type SpecContext } from './kinds.ts';
import { dataDirStep, renderDockerPgHba } from '../../../targets/services/postgres.ts';
import { kinds } from '../../../targets/services/index.ts';
import { kafkaHome, runClassLaunch } from '../../../targets/services/kafka.ts';
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

describe('phase 6 in containers', () => {
  const p6 = (broker: 'rabbitmq' | 'kafka') => plan(phase6.topology({ ...o, broker }), { runId: 'r6', slot: 5, proxies: true, prometheus: false });
  const net6 = networkPlan(p6('rabbitmq'), { gateway: '172.20.0.1' });
  const ctx6 = (mode: 'local' | 'official', service: string, dir = '/tmp/run/data/x'): SpecContext => ({
    ...ctx(mode),
    plan: net6,
    service: net6.services.find((s) => s.name === service)!,
    dir,
    bin: (b) => `/usr/lib/rabbitmq/bin/${b}`,
  });

  it('runs with RabbitMQ and with Kafka; a kind with no image is still refused in one line', () => {
    expect(kindsOf(p6('rabbitmq'))).toEqual(expect.arrayContaining(['rabbitmq', 'microservice']));
    expect(kindsOf(p6('kafka'))).toEqual(expect.arrayContaining(['kafka', 'microservice']));
    const p = p6('kafka');
    const withPdns = { ...p, services: [...p.services, { ...p.services[0]!, name: 'dns', kind: 'pdns' as const }] };
    expect(() => kindsOf(withPdns)).toThrow(/^the Docker runtime cannot run pdns yet$/);
  });

  it('a worker reaches its database and the broker through the Toxiproxy container, listening on its alias', async () => {
    const env = (p: ContainerProcess) => JSON.parse(p.env.BENCH_MS_CONFIG!) as { listen: { host: string }; db: { host: string }; broker: { host: string; port: number } };
    const local = await dockerKinds.microservice!.process!(ctx6('local', 'worker-1'), kinds.get('microservice')!);
    expect(local.image).toBe('bench-local/base:1');
    expect(local.command).toBe(process.execPath);
    expect(env(local)).toMatchObject({ listen: { host: 'worker-1' }, db: { host: 'toxiproxy' }, broker: { host: 'toxiproxy' } });
    expect(env(local).broker.port).toBe(net6.edges.find((e) => e.name === 'worker-1->broker')!.listen.port);
    const official = await dockerKinds.microservice!.process!(ctx6('official', 'worker-1'), kinds.get('microservice')!);
    expect(official).toMatchObject({ image: 'bench/app:latest', command: 'node', cwd: '/app' });
    expect(env(official)).toEqual(env(local));
  });

  it("the broker's container renders its config from the template with its alias's address", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-kinds-rmq-'));
    try {
      await dockerKinds.rabbitmq!.prepare!(ctx6('local', 'broker', dir), async () => '', kinds.get('rabbitmq')!);
      const tmpl = readFileSync(join(dir, DOCKER_CONF_TEMPLATE), 'utf8');
      expect(tmpl).toContain(`listeners.tcp.default = ${DOCKER_ADDRESS_PLACEHOLDER}:5672`);
      expect(tmpl).not.toMatch(/0\.0\.0\.0/);
      const proc = await dockerKinds.rabbitmq!.process!(ctx6('local', 'broker', dir), kinds.get('rabbitmq')!);
      expect(proc.command).toBe('/bin/sh');
      expect(proc.args[1]).toMatch(/^ip=\$\(getent hosts broker /);
      expect(proc.args[1]).toMatch(/exec "\$2"$/);
      // the prologue itself, run against an alias this machine resolves (localhost)
      const r = spawnSync('/bin/sh', ['-c', `${dockerStartPrologue('localhost')} && echo "$RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"`], { cwd: dir, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/-kernel inet_dist_use_interface \{127,0,0,1\} /);
      expect(readFileSync(join(dir, 'rabbitmq.conf'), 'utf8')).toContain('listeners.tcp.default = 127.0.0.1:5672');
      // an alias that does not resolve stops the start with one line, exit 3
      const bad = spawnSync('/bin/sh', ['-c', dockerStartPrologue('no-such-alias.invalid')], { cwd: dir, encoding: 'utf8' });
      expect(bad.status).toBe(3);
      expect(bad.stderr.trim()).toBe('rabbitmq: no-such-alias.invalid does not resolve in the container');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('Kafka', () => {
    const netK = networkPlan(p6('kafka'), { gateway: '172.20.0.1' });
    const launcher = '/opt/tools/kafka/bin/kafka-java';
    const ctxK = (mode: 'local' | 'official', dir: string, repoRoot = '/work/main'): SpecContext => ({
      ...ctx(mode),
      plan: netK,
      service: netK.services.find((s) => s.name === 'broker')!,
      dir,
      repoRoot,
      bin: (b) => (mode === 'official' ? OFFICIAL_BINARIES[b]! : b === 'kafka-java' ? launcher : `/usr/bin/${b}`),
    });
    const prepared = async (c: SpecContext) => {
      const steps: { step: string; proc: ContainerProcess }[] = [];
      await dockerKinds.kafka!.prepare!(c, async (step, proc) => (steps.push({ step, proc }), ''), kinds.get('kafka')!);
      return steps;
    };

    it("local: the node listens on its alias and advertises it; the format and the broker are the native launches", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bench-kinds-kafka-'));
      try {
        const steps = await prepared(ctxK('local', dir));
        const props = readFileSync(join(dir, 'server.properties'), 'utf8');
        expect(props).toMatch(/^listeners=PLAINTEXT:\/\/broker:9092,CONTROLLER:\/\/broker:9093$/m);
        expect(props).toMatch(/^advertised\.listeners=PLAINTEXT:\/\/broker:9092$/m);
        expect(props).toMatch(/^controller\.quorum\.voters=1@broker:9093$/m);
        expect(props).not.toMatch(/0\.0\.0\.0|127\./);
        // StorageTool's format in a one-off container of the same image and mounts, as root
        expect(steps.map((s) => s.step)).toEqual(['kafka-format']);
        expect(steps[0]!.proc).toMatchObject({ image: 'bench-local/base:1', command: launcher, cwd: dir });
        expect(steps[0]!.proc.args.slice(4)).toEqual(['kafka.tools.StorageTool', 'format', '-t', expect.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/), '-c', join(dir, 'server.properties')]);
        const proc = await dockerKinds.kafka!.process!(ctxK('local', dir), kinds.get('kafka')!);
        expect(proc).toMatchObject({ image: 'bench-local/base:1', command: launcher, cwd: dir });
        // the heap from the host's size (768 MB), the exporter agent on the alias: Docker publishes it
        expect(proc.args).toContain('-Xmx384m');
        expect(proc.args).toContain(`-javaagent:/opt/tools/kafka/agents/jmx_prometheus_javaagent-1.0.1.jar=broker:9404:${join(dir, 'jmx-exporter.yaml')}`);
        expect(proc.args.slice(-2)).toEqual(['kafka.Kafka', join(dir, 'server.properties')]);
        // a launcher outside the mounted trees gets its directory mounted
        expect(proc.readOnly).toContain('/opt/tools/kafka/bin');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("official: Apache's image runs the same class through kafka-run-class.sh, with this machine's exporter agent", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bench-kinds-kafka-'));
      const root = mkdtempSync(join(tmpdir(), 'bench-kinds-kroot-'));
      try {
        // no agent fetched by setup: one line before any step
        await expect(prepared(ctxK('official', dir, root))).rejects.toThrow(/^the Kafka image has no JMX exporter agent, and this machine's .*jmx_prometheus_javaagent-1\.0\.1\.jar is missing$/);
        const agents = join(kafkaHome(root), 'agents');
        mkdirSync(agents, { recursive: true });
        writeFileSync(join(agents, 'jmx_prometheus_javaagent-1.0.1.jar'), '');
        const steps = await prepared(ctxK('official', dir, root));
        expect(steps[0]!.proc).toMatchObject({ image: 'apache/kafka:4.1.1', command: '/opt/kafka/bin/kafka-run-class.sh', user: '0:0', env: { KAFKA_HEAP_OPTS: '-Xmx128m', KAFKA_OPTS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' } });
        expect(steps[0]!.proc.args[0]).toBe('kafka.tools.StorageTool');
        const proc = await dockerKinds.kafka!.process!(ctxK('official', dir, root), kinds.get('kafka')!);
        expect(proc).toMatchObject({ image: 'apache/kafka:4.1.1', command: '/opt/kafka/bin/kafka-run-class.sh', args: ['kafka.Kafka', join(dir, 'server.properties')] });
        expect(proc.env.KAFKA_HEAP_OPTS).toBe('-Xmx384m -Xms128m');
        expect(proc.env.KAFKA_OPTS).toContain(`-javaagent:${join(agents, 'jmx_prometheus_javaagent-1.0.1.jar')}=broker:9404:`);
        expect(proc.env.KAFKA_OPTS).not.toMatch(/-Xm[sx]|log4j\.configuration/);
        expect(proc.readOnly).toEqual([agents]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('runClassLaunch splits the JVM flags from the class and refuses a launch without one', () => {
      const l = runClassLaunch({ command: 'kafka-java', args: ['-Xmx1g', '-XX:+UseG1GC', '-Dlog4j.configuration=file:/x', 'a.B', '-c', 'p'], cwd: '/d' });
      expect(l).toEqual({ command: '/opt/kafka/bin/kafka-run-class.sh', args: ['a.B', '-c', 'p'], cwd: '/d', env: { KAFKA_HEAP_OPTS: '-Xmx1g', KAFKA_OPTS: '-XX:+UseG1GC' } });
      expect(() => runClassLaunch({ command: 'kafka-java', args: ['-Xmx1g'] })).toThrow(/without a main class/);
    });
  });
});

// RabbitMQ as the recipe starts it, through the native runtime: the run's account logs in, guest
// and a wrong password do not, AMQP and Prometheus listen on the host's address only, a quorum
// queue with x-delivery-limit dead-letters a message that is always rejected, and down() leaves
// neither the node nor its epmd (checked by epmd's own pid).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { createNativeRuntime } from '../../harness/runtime/native.ts';
import { procStat } from '../../harness/runtime/process.ts';
import { testRoot, type TestRoot } from '../../harness/runtime/testing/run-helpers.ts';
import type { Deployment } from '../../harness/runtime/types.ts';
import { plan, type DeployPlan, type Endpoint } from '../../harness/topology/plan.ts';
import type { Topology } from '../../harness/topology/types.ts';
import { amqpPing, amqpUrl, EPMD_PORT_FILE, epmdPid, rabbitmqMetricsEndpoint } from './rabbitmq.ts';

const topology: Topology = {
  phase: 0,
  title: 'rabbitmq alone',
  regions: [{ name: 'local', wanLatencyMs: 0 }],
  hosts: [{ name: 'broker-host', size: { cpus: 0.5, memoryMb: 512 }, region: 'local' }],
  services: [{ name: 'broker', kind: 'rabbitmq', host: 'broker-host', role: 'broker', dependsOn: [], config: { kind: 'rabbitmq' } }],
  entry: 'broker',
};

let t: TestRoot;
let p: DeployPlan;
let dep: Deployment | undefined;
let at: Endpoint;
let startSeconds = 0;

/** A live process (a zombie waiting for its parent counts as gone). */
const isAlive = (pid: number) => { const s = procStat(pid); return s !== null && s.state !== 'Z'; };

beforeAll(async () => {
  t = await testRoot('rmq');
  p = plan(topology, { runId: `rmq-${process.pid}`, slot: t.slot, proxies: false, prometheus: false });
  const t0 = performance.now();
  dep = await createNativeRuntime({ stateRoot: t.root }).up(p, { runDir: join(t.root, 'run'), progress: () => {} });
  startSeconds = (performance.now() - t0) / 1000;
  at = p.services.find((s) => s.name === 'broker')!.address;
}, 150_000);

afterAll(async () => {
  await dep?.down();
  await t?.dispose();
});

/** Live processes whose environment holds ERL_EPMD_PORT=<port>: the run's epmd and node, and any
 *  epmd a node started on its own (`epmd -daemon` leaves the process group and outlives it). */
function withEpmdPort(port: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`ERL_EPMD_PORT=${port}`) && isAlive(Number(d))) out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

describe('rabbitmq recipe', () => {
  it('logs in the run account; refuses guest and a wrong password', async () => {
    console.log(`rabbitmq ready in ${startSeconds.toFixed(1)} s`);
    await amqpPing(at);
    await expect(amqp.connect(amqpUrl(at, { user: 'guest', password: 'guest' }), { timeout: 2_000 })).rejects.toThrow(/ACCESS_REFUSED|403/);
    await expect(amqp.connect(amqpUrl(at, { user: 'bench', password: 'wrong' }), { timeout: 2_000 })).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('listens on the host address only (AMQP and Prometheus)', async () => {
    expect(at.host).toMatch(/^127\.\d+\.\d+\.1$/);
    expect(at.host).not.toBe('127.0.0.1');
    await expect(amqpPing({ host: '127.0.0.1', port: at.port }, 1_000)).rejects.toThrow();
    const m = rabbitmqMetricsEndpoint(at);
    const text = await (await fetch(`http://${m.host}:${m.port}/metrics`)).text();
    expect(text).toMatch(/^rabbitmq_connections /m);
    await expect(fetch(`http://127.0.0.1:${m.port}/metrics`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status)).rejects.toThrow();
  });

  it('dead-letters a message rejected x-delivery-limit times (quorum queue)', async () => {
    const conn = await amqp.connect(amqpUrl(at));
    try {
      const ch = await conn.createChannel();
      await ch.assertExchange('dlx', 'fanout', { durable: true });
      await ch.assertQueue('dead', { durable: true });
      await ch.bindQueue('dead', 'dlx', '');
      await ch.assertQueue('work', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2, 'x-dead-letter-exchange': 'dlx' } });
      ch.sendToQueue('work', Buffer.from('poison'), { persistent: true });
      let deliveries = 0;
      await ch.prefetch(1);
      await ch.consume('work', (msg) => {
        if (!msg) return;
        deliveries += 1;
        ch.nack(msg, false, true);
      });
      const deadline = Date.now() + 15_000;
      let dead: amqp.GetMessage | false = false;
      while (!dead && Date.now() < deadline) {
        dead = await ch.get('dead', { noAck: true });
        if (!dead) await new Promise((r) => setTimeout(r, 100));
      }
      expect(dead && dead.content.toString()).toBe('poison');
      // the first delivery plus x-delivery-limit redeliveries, then the dead-letter exchange
      expect(deliveries).toBe(3);
    } finally {
      await conn.close();
    }
  }, 30_000);

  it('a SIGKILL and a restart leave no epmd outside the service: the restarted node uses the epmd its launch started', async () => {
    const svc = dep!.service('broker');
    const dir = svc.dir!;
    const port = readFileSync(join(dir, EPMD_PORT_FILE), 'utf8').trim();
    const before = await epmdPid(dir);
    await svc.signal('SIGKILL');
    await expect.poll(() => svc.isRunning(), { timeout: 10_000 }).toBe(false);
    // the group's SIGKILL took epmd with it
    expect(isAlive(before!)).toBe(false);
    await svc.start();
    await amqpPing(at, 2_000);
    const after = await epmdPid(dir);
    expect(after).not.toBe(before);
    expect(isAlive(after!)).toBe(true);
    // one epmd serves the run's port: the one the launch started and recorded (a node that finds
    // none starts `epmd -daemon`, which leaves the process group and outlives everything)
    const epmds = withEpmdPort(port).filter((pid) => /(^|\/)epmd\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1')));
    expect(epmds).toEqual([after]);
  }, 120_000);

  it('down() stops the node and its epmd, by the pid the launch recorded', async () => {
    const dir = dep!.service('broker').dir!;
    const pid = await epmdPid(dir);
    expect(pid).not.toBeNull();
    expect(isAlive(pid!)).toBe(true);
    const port = readFileSync(join(dir, EPMD_PORT_FILE), 'utf8').trim();
    expect(withEpmdPort(port).length).toBeGreaterThan(1);
    await dep!.down();
    dep = undefined;
    expect(isAlive(pid!)).toBe(false);
    // nothing of the node outlives it, Erlang's port programs in their own process groups
    // (erl_child_setup, inet_gethost, the disk monitor's shell) included: they end with the node
    await expect.poll(() => withEpmdPort(port), { timeout: 5_000 }).toEqual([]);
    await expect(amqpPing(at, 1_000)).rejects.toThrow();
  }, 60_000);
});

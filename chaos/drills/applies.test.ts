// applies() of every drill over the phase topologies: which drills each built phase offers with
// its default options, what an option takes away (--replicas 0, --shards 1, --no-proxies), and
// the reason each drill gives when it does not apply. The table below is written out by hand:
// it is the expectation the derived answer must meet, not a copy of it.
import { describe, expect, it } from 'vitest';
import { plan } from '../../harness/topology/plan.ts';
import { phases } from '../../targets/phases/index.ts';
import { planOf } from '../testing/fakes.ts';
import { drills, drillsByPhase, validateDrill } from './index.ts';
import { usageLine as usage } from '../../harness/testing/usage-error.ts';

const applies = (name: string, p: ReturnType<typeof planOf>) => drills.get(name)!.applies(p);
const reason = (name: string, p: ReturnType<typeof planOf>) => {
  const a = applies(name, p);
  return a.ok ? null : a.reason;
};

/** Per built phase with its defaults: the drills that apply. */
const expected: Record<number, string[]> = {
  1: ['dead-server', 'hung-server'],
  2: ['dead-server', 'hung-server', 'slow-database', 'network-partition'],
  3: ['dead-server', 'hung-server', 'db-primary-failure', 'replica-loss', 'slow-database', 'network-partition'],
  4: ['dead-server', 'hung-server', 'db-primary-failure', 'replica-loss', 'cache-outage', 'cdn-outage', 'slow-database', 'network-partition'],
  5: ['dead-server', 'hung-server', 'db-primary-failure', 'replica-loss', 'cache-outage', 'cdn-outage', 'shard-outage', 'slow-database', 'network-partition'],
  // the user service of phase 6 is a fleet on one primary without replicas (its defaults)
  6: ['dead-server', 'hung-server', 'slow-database', 'network-partition', 'broker-outage', 'worker-crash', 'poison-message', 'service-down', 'backlog-drain', 'slow-consumer'],
  // three regions, each its app on its router; no replica the harness promotes (Patroni does)
  7: ['dead-server', 'hung-server', 'network-partition', 'datacenter-outage', 'region-partition', 'region-evacuation', 'wan-degradation'],
};

describe('drills apply by capability, over the phase topologies', () => {
  for (const [phase, names] of Object.entries(expected)) {
    it(`phase ${phase} with its default options`, () => {
      const p = planOf(Number(phase));
      expect([...drills.values()].filter((d) => d.applies(p).ok).map((d) => d.name)).toEqual(names);
    });
  }

  it('dead-server and hung-server: an app server to break', () => {
    for (const name of ['dead-server', 'hung-server']) {
      for (let phase = 1; phase <= 5; phase++) expect(applies(name, planOf(phase)).ok).toBe(true);
      // a plan whose services include no app server (only the database of phase 2)
      const p2 = planOf(2);
      const noApp = { ...p2, services: p2.services.filter((s) => s.kind !== 'app') };
      expect(reason(name, noApp)).toBe('it breaks an app server, and phase 2 has none');
    }
  });

  it('db-primary-failure: a PostgreSQL primary with a replica to promote', () => {
    expect(reason('db-primary-failure', planOf(1))).toBe('it promotes a PostgreSQL replica, and phase 1 keeps its users in SQLite: there is no PostgreSQL store');
    // phase 2 takes no --replicas: the hint names the phases that do, never a flag phase 2 refuses
    expect(reason('db-primary-failure', planOf(2))).toMatch(/no shard of phase 2 has one \(run phase 3, 4, 5 or 6 with --replicas 1 or more\)$/);
    expect(reason('db-primary-failure', planOf(3, { replicas: 0 }))).toMatch(/\(run with --replicas 1 or more\)$/);
    expect(reason('db-primary-failure', planOf(3, { replicas: 0 }))).toMatch(/no shard of phase 3 has one/);
    expect(applies('db-primary-failure', planOf(3, { replicas: 1 })).ok).toBe(true);
    expect(applies('db-primary-failure', planOf(5, { replicas: 1, shards: 3 })).ok).toBe(true);
  });

  it('replica-loss: a read replica', () => {
    expect(reason('replica-loss', planOf(1))).toMatch(/keeps its users in SQLite/);
    expect(reason('replica-loss', planOf(4, { replicas: 0 }))).toBe('it kills a read replica, and phase 4 has none here (run with --replicas 1 or more)');
    expect(applies('replica-loss', planOf(4, { replicas: 1 })).ok).toBe(true);
  });

  it('cache-outage: a read cache; cdn-outage: a CDN edge (phase 4 on, whatever the options)', () => {
    expect(reason('cache-outage', planOf(3))).toBe('it kills the read cache (Redis cache-aside), and phase 3 has none');
    expect(reason('cdn-outage', planOf(3))).toBe('it breaks the CDN edge, and phase 3 has none');
    for (const o of [{}, { replicas: 0 }, { appServers: 1 }]) {
      expect(applies('cache-outage', planOf(4, o)).ok).toBe(true);
      expect(applies('cdn-outage', planOf(4, o)).ok).toBe(true);
    }
  });

  it('shard-outage: two shards or more', () => {
    expect(reason('shard-outage', planOf(4))).toBe('it kills one of two shards or more and measures the blast radius, and phase 4 has 1 here (run phase 5 with --shards 2 or more)');
    expect(reason('shard-outage', planOf(5, { shards: 1 }))).toMatch(/phase 5 has 1 here \(run with --shards 2 or more\)$/);
    expect(applies('shard-outage', planOf(5, { shards: 2 })).ok).toBe(true);
    expect(applies('shard-outage', planOf(5, { shards: 2, shardStrategy: 'hash' })).ok).toBe(true);
  });

  it('slow-database and network-partition need proxied edges: --no-proxies takes them away, with the reason', () => {
    const def = phases.get(3)!;
    const direct = plan(def.topology({ users: 1000, shardStrategy: 'range', ...def.defaults }), { runId: 'direct', slot: 9, proxies: false, prometheus: false });
    expect(reason('slow-database', direct)).toBe('it slows the app -> PostgreSQL edges through Toxiproxy, and this deployment connects them directly (run without --no-proxies)');
    expect(reason('network-partition', direct)).toBe('it cuts proxied edges through Toxiproxy, and this deployment connects its tiers directly (run without --no-proxies)');
    // the process drills do not need Toxiproxy
    expect(applies('dead-server', direct).ok).toBe(true);
    expect(applies('replica-loss', direct).ok).toBe(true);
    expect(reason('slow-database', planOf(1))).toBe('it slows the app -> PostgreSQL edges, and phase 1 has no PostgreSQL server');
    expect(reason('network-partition', planOf(1))).toBe("it cuts an app server's host from the hosts of its data tier, and in phase 1 no app server depends on another host");
  });

  it('worker-crash, poison-message: workers and a jobs database; service-down: a payment service', () => {
    expect(reason('worker-crash', planOf(5))).toBe('it kills a worker, and phase 5 has no workers');
    expect(reason('poison-message', planOf(5))).toBe('it sends uploads its workers fail on, and phase 5 has no workers');
    expect(reason('service-down', planOf(5))).toBe('it kills the payment service, and phase 5 has none');
    // workers without the uploads API's jobs database: nothing to read the ledger from
    const p6 = planOf(6);
    const noUploads = { ...p6, services: p6.services.filter((s) => !(s.config.kind === 'microservice' && s.config.microservice.role === 'uploads')) };
    expect(reason('worker-crash', noUploads)).toBe('it checks the jobs an uploads API accepted, and phase 6 has none');
    expect(applies('service-down', noUploads).ok).toBe(true);
  });

  it('backlog-drain, slow-consumer: workers, a broker and a jobs database; slow-consumer also proxied worker edges', () => {
    expect(reason('backlog-drain', planOf(5))).toBe('it stops the workers, and phase 5 has no workers');
    expect(reason('slow-consumer', planOf(5))).toBe('it slows its workers, and phase 5 has no workers');
    const p6 = planOf(6);
    const noBroker = { ...p6, services: p6.services.filter((s) => s.kind !== 'rabbitmq') };
    for (const name of ['backlog-drain', 'slow-consumer', 'worker-crash']) expect(reason(name, noBroker)).toMatch(/and phase 6 has no message broker for its workers$/);
    const noUploads = { ...p6, services: p6.services.filter((s) => !(s.config.kind === 'microservice' && s.config.microservice.role === 'uploads')) };
    expect(reason('backlog-drain', noUploads)).toBe('it checks the jobs an uploads API accepted, and phase 6 has none');
    const d6 = phases.get(6)!;
    const direct = plan(d6.topology({ users: 1000, shardStrategy: 'range', ...d6.defaults }), { runId: 'direct', slot: 9, proxies: false, prometheus: false });
    expect(reason('slow-consumer', direct)).toBe('it slows the worker -> database edges through Toxiproxy, and this deployment connects them directly (run without --no-proxies)');
    expect(applies('backlog-drain', direct).ok).toBe(true);
  });

  it('the phase-6 drills apply with either broker', () => {
    const d6 = phases.get(6)!;
    const kafka = plan(d6.topology({ users: 1000, shardStrategy: 'range', ...d6.defaults, broker: 'kafka' }), { runId: 'kafka', slot: 9, proxies: true, prometheus: false });
    expect(kafka.services.find((s) => s.name === 'broker')!.kind).toBe('kafka');
    expect([...drills.values()].filter((d) => d.applies(kafka).ok).map((d) => d.name)).toEqual(expected[6]);
  });

  it('phase 7 --mode active-active: datacenter-outage follows its clusters; the drills built on one cluster say they do not apply', () => {
    const aa = planOf(7, { mode: 'active-active' });
    expect(['datacenter-outage', 'region-partition', 'wan-degradation'].map((d) => [d, applies(d, aa).ok])).toEqual([['datacenter-outage', true], ['region-partition', false], ['wan-degradation', false]]);
    expect(reason('region-partition', aa)).toMatch(/^it follows the one Patroni cluster of --mode active-passive/);
  });

  it('validateDrill refuses with the reason (a usage error: exit 2), and accepts what applies', () => {
    expect(usage(() => validateDrill('cdn-outage', planOf(3)))).toBe('drill cdn-outage does not apply to phase 3: it breaks the CDN edge, and phase 3 has none — drills for phase 3: dead-server, hung-server, db-primary-failure, replica-loss, slow-database, network-partition');
    expect(validateDrill('cdn-outage', planOf(4)).name).toBe('cdn-outage');
  });

  it('the per-phase listing is derived from applies(), and says which phases are not built', () => {
    const listing = drillsByPhase();
    expect(listing.map((p) => p.phase)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const p of listing.filter((x) => x.notBuilt === null)) {
      expect(p.drills.filter((d) => d.applies.ok).map((d) => d.name)).toEqual(expected[p.phase]);
      for (const d of p.drills.filter((x) => !x.applies.ok)) expect(d.applies.ok ? '' : d.applies.reason).toMatch(/^it /);
    }
    // every phase is built now (phase 7 since it deploys): none is listed without its drills
    expect(listing.filter((p) => p.notBuilt !== null).map((p) => [p.phase, p.drills.length])).toEqual([]);
  });
});

// db-primary-failure under --replication sync, on real servers: the hypothesis "no acknowledged
// write is lost" must hold even when one replica lags far behind. Phase 3 with two replicas; the
// first (the one a naive failover would promote) has its replication stream held by a Toxiproxy
// latency toxic, as in write-loss.int.test.ts. With synchronous_standby_names = 'ANY 1 (*)' every
// commit waited for the other replica, and the failover promotes the replica that received the
// most WAL: lost = 0. (write-loss.int.test.ts is the control: async, the held replica promoted,
// lost > 0.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { edgeName } from '../../harness/topology/plan.ts';
import { runDrill } from '../run-drill.ts';
import { deployPhase, type TestDeployment } from '../testing/deploy.ts';

const PRIMARY = 'pg-primary';
const HELD = 'pg-primary-replica-1';
const CURRENT = 'pg-primary-replica-2';

describe('db-primary-failure with synchronous replication: no acknowledged write lost', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-sync', 3, { appServers: 1, replicas: 2, replication: 'sync' }, { users: 1000, rate: 60 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('kills the primary under write load with one replica held back: the current replica is promoted and lost = 0', async () => {
    expect(d.plan.services.find((s) => s.name === PRIMARY)!.config).toEqual({ kind: 'postgres', postgres: { role: 'primary', synchronous: true } });
    const replication = d.plan.edges.find((e) => e.name === edgeName(HELD, PRIMARY));
    expect(replication?.proxied).toBe(true);
    const tp = toxiproxyClient(d.plan.toxiproxy!.api);
    await tp.addToxic(replication!.name, { name: 'hold-replication', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 600_000, jitter: 0 } });

    const out = await runDrill({ deployment: d.deployment, drill: 'db-primary-failure', load: d.load, runId: `sync${process.pid}`, atS: 6, tailS: 8 });
    const r = out.drill;
    const w = out.writes!;
    console.log(`sync-replication failover: ${JSON.stringify({ pass: r.pass, writes: { ...w, lostIds: w.lostIds.slice(0, 20), undecidedIds: w.undecidedIds.slice(0, 20) }, figures: r.figures, reasons: r.reasons })}`);

    expect(out.faults.map((f) => f.name)).toEqual(['kill', 'failover']);
    // the held replica had received less WAL: the other one is promoted
    expect(r.figures.newPrimary).toBe(CURRENT);
    expect(String(r.figures.replicaLsns)).toContain(HELD);
    // about 6 s of writes at ~40 writes/s before the kill, and more after it: the check has material
    expect(w.acknowledged).toBeGreaterThan(100);
    expect(w.lost).toBe(0);
    expect(w.lostIds).toEqual([]);
    expect(r.writes).toMatchObject({ lost: 0 });
    expect(r.hypothesis).toMatch(/synchronous replication/);
    expect(r.reasons.join('\n')).toMatch(/0 of \d+ acknowledged writes lost/);
  }, 180_000);
});

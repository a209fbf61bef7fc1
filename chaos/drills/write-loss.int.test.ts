// The write checker's negative control: a loss made to happen for real, and found. Phase 3 with an
// asynchronous replica whose replication stream goes through Toxiproxy like every edge; a latency
// toxic on that edge holds the WAL back, so writes the primary acknowledges never reach the
// replica. The db-primary-failure drill then SIGKILLs the primary and the harness's own failover
// (chaos/actions/failover.ts) promotes the replica: every write acknowledged before the kill and
// not written again after it is gone, and the checker must say so, naming the ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { toxiproxyClient } from '../../harness/runtime/toxiproxy-client.ts';
import { edgeName } from '../../harness/topology/plan.ts';
import { PG_CREDENTIALS } from '../../targets/app/config.ts';
import { runDrill } from '../run-drill.ts';
import { deployPhase, type TestDeployment } from '../testing/deploy.ts';

const PRIMARY = 'pg-primary';
const REPLICA = 'pg-primary-replica-1';

describe('write checker negative control: acknowledged writes lost in a failover to a lagging replica', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-wloss', 3, { appServers: 1, replicas: 1 }, { users: 1000, rate: 60 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('finds lost > 0 and names the lost ids', async () => {
    const replication = d.plan.edges.find((e) => e.name === edgeName(REPLICA, PRIMARY));
    // the replica streams from its primary through Toxiproxy: the toxic below is on that stream
    expect(replication?.proxied).toBe(true);
    const tp = toxiproxyClient(d.plan.toxiproxy!.api);
    // WAL flows primary -> replica: downstream on the replica's proxy. Ten minutes of latency holds
    // it for the whole drill (nothing is dropped: it is only late, as on a lagging link).
    await tp.addToxic(replication!.name, { name: 'hold-replication', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 600_000, jitter: 0 } });

    const runId = `wloss${process.pid}`;
    const out = await runDrill({ deployment: d.deployment, drill: 'db-primary-failure', load: d.load, runId, atS: 6, tailS: 8 });
    const r = out.drill;
    const w = out.writes!;
    console.log(`write-loss negative control: ${JSON.stringify({ pass: r.pass, writes: { ...w, lostIds: w.lostIds.slice(0, 20), undecidedIds: w.undecidedIds.slice(0, 20) }, figures: r.figures, reasons: r.reasons })}`);

    expect(out.faults.map((f) => f.name)).toEqual(['kill', 'failover']);
    expect(r.figures.newPrimary).toBe(REPLICA);
    // about 6 s of writes at ~40 writes/s were acknowledged by the old primary alone
    expect(w.lost).toBeGreaterThan(50);
    expect(w.lostIds.length).toBe(Math.min(w.lost, 1000));
    expect(w.acknowledged).toBe(w.present + w.lost + w.undecided);
    // writes resumed on the promoted replica, and those are found
    expect(w.present).toBeGreaterThan(0);
    expect(r.pass).toBe(false);
    expect(r.reasons.join('\n')).toMatch(new RegExp(`${w.lost} of ${w.acknowledged} acknowledged writes lost`));
    expect(r.writes).toMatchObject({ lost: w.lost, lostIds: w.lostIds, indeterminate: w.indeterminate });

    // The ids named are really lost: the promoted replica holds nothing this run wrote for any of them.
    const at = d.plan.services.find((s) => s.name === REPLICA)!.address;
    const c = new pg.Client({ host: at.host, port: at.port, ...PG_CREDENTIALS });
    await c.connect();
    try {
      // bigint: a drill's load signs users up above createdUserId(users, salt, 0), past 2^31
      const rows = (await c.query<{ id: string; name: string }>('SELECT id, name FROM users WHERE id = ANY($1::bigint[])', [w.lostIds])).rows;
      for (const row of rows) expect(row.name).not.toContain(runId);
      // ids the load created before the kill have no row at all on the promoted replica
      const created = w.lostIds.filter((id) => id > d.load.users);
      expect(created.length).toBeGreaterThan(0);
      expect(rows.filter((row) => Number(row.id) > d.load.users)).toEqual([]);
    } finally {
      await c.end();
    }
  }, 180_000);
});

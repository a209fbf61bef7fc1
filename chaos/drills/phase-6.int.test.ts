// Drills on a real phase 6: broker-outage kills RabbitMQ under the microservices load; no payment
// or upload fails (the outboxes hold them), and after the broker is back every accepted job is
// done (counted in the jobs database by the drill's verification).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDrill } from '../run-drill.ts';
import { deployPhase, type TestDeployment } from '../testing/deploy.ts';

describe('phase 6 drills', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await deployPhase('chaos-p6', 6, {}, { users: 2000, rate: 40 });
  }, 240_000);
  afterAll(async () => {
    if (d) expect(await d.dispose()).toEqual([]);
  });

  it('broker-outage: accepts keep succeeding while the broker is dead; every accepted job is done after', async () => {
    // 15 s before the fault: a cold phase 6 (no warm-up here) has a slow first seconds, and the
    // steady state is judged over everything before the fault
    const out = await runDrill({ deployment: d.deployment, drill: 'broker-outage', load: d.load, atS: 15, durationS: 8, tailS: 10 });
    const r = out.drill;
    console.log(`phase 6 broker-outage: ${JSON.stringify({ codes: out.load.results.statusCodes, pass: r.pass, errors: r.errorsDuringFault, p99: [r.latencyBeforeP99, r.latencyDuringP99], figures: r.figures, reasons: r.reasons })}`);
    expect(out.faults[0]).toMatchObject({ name: 'kill', target: 'broker' });
    expect(out.load.results.endpoints.video!.requests).toBeGreaterThan(50);
    expect(r.figures).toMatchObject({ failedPayments: 0, failedUploads: 0, pendingAfterDrain: 0, unsentAfterDrain: 0 });
    expect(r.figures.doneJobs).toBe(r.figures.acceptedJobs);
    expect(d.deployment.service('broker').isRunning()).toBe(true);
    expect(r.pass).toBe(true);
  }, 240_000);
});

import { describe, expect, it } from 'vitest';
import { formatSummary } from './summary.ts';
import { buildResults } from '../../reports/testing/fixture.ts';
import { checkLedger, ledgerSection } from '../../chaos/ledger.ts';

describe('formatSummary', () => {
  it('prints both rates side by side: errors of completed, and the failed share with drops', () => {
    const r = buildResults();
    const text = formatSummary(r, '/out');
    expect(text).toMatch(/ {2}errors {7}26 \(0\.11% of completed\) {3}dropped 15 {3}failed share 0\.18% of offered \(errors \+ dropped\)/);
  });

  it('says INCONCLUSIVE with its reason on its own line', () => {
    const r = buildResults({ fault: null });
    r.verdict = 'inconclusive';
    r.verdictReason = 'no request completed: nothing about the system was measured';
    const lines = formatSummary(r, '/out').split('\n');
    expect(lines).toContain('  verdict      INCONCLUSIVE');
    expect(lines).toContain('  because      no request completed: nothing about the system was measured');
  });

  it('prints unmeasured latency as n/a, never 0', () => {
    const r = buildResults({ fault: null });
    r.load.latencyMs = { p50: null, p90: null, p95: null, p99: null, p999: null, max: null, mean: null };
    const text = formatSummary(r, '/out');
    expect(text).toContain('p50 n/a ms   p90 n/a   p99 n/a   p99.9 n/a   max n/a ms');
  });

  it('says on its own line when host sizes were not enforced', () => {
    const r = buildResults({ fault: null });
    r.topology.hosts[0]!.sizeEnforced = false;
    const lines = formatSummary(r, '/out').split('\n');
    expect(lines.filter((l) => l.startsWith('  SIZES        not enforced on '))).toEqual([
      `  SIZES        not enforced on ${r.topology.hosts[0]!.name}: their CPU/memory quotas were not applied, so the host sizes are nominal only`,
    ]);
    r.topology.hosts[0]!.sizeEnforced = true;
    expect(formatSummary(r, '/out')).not.toContain('SIZES');
  });

  it('shows the planned and achieved scale factors, and labels an estimated machine cap', () => {
    const r = buildResults({ fault: null, scaleFactor: 0.25 });
    r.trafficModel.achievedScaleFactor = 0.2;
    r.trafficModel.machineCapSource = 'estimate';
    r.trafficModel.overridden = false;
    r.trafficModel.targetRps = r.trafficModel.peakRps * 0.25;
    const text = formatSummary(r, '/out');
    expect(text).toMatch(/SCALED {7}planned .* \(scale factor 0\.250\); achieved 0\.200 \(/);
    expect(text).toMatch(/machine cap {2}[\d,]+ req\/s: an estimate: .* not measured here/);
  });

  it('prints the job ledger when the run had one, says so when it was not measured, and nothing otherwise', () => {
    const obs = (effects: Record<string, number>) => ({ effects: new Map(Object.entries(effects)), deadLettered: new Set<string>() });
    const jobs = checkLedger([{ id: 'a', outcome: 'ok' }, { id: 'b', outcome: 'ok' }], obs({ a: 1 }), { idempotent: true });
    const r = buildResults();
    r.ledger = ledgerSection(jobs, null, [10, 20, 400], { seconds: 60, timeoutS: 60, pending: 1, unsent: 0 });
    const lines = formatSummary(r, '/out').split('\n');
    expect(lines).toContain('  ledger       jobs: FAIL accepted 2, done 1, lost 1, duplicated 0, unexpected 0, dead-lettered 0, indeterminate 0');
    expect(lines.find((l) => l.startsWith('  jobs         accept->complete'))).toMatch(/over 3 jobs; drain 60(\.0)? s, gave up with 1 pending and 0 unsent$/);
    r.ledger = null;
    expect(formatSummary(r, '/out')).toContain('  ledger       not measured');
    delete r.ledger;
    expect(formatSummary(r, '/out')).not.toContain('ledger');
  });
});

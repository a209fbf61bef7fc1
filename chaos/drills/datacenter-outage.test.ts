import { describe, expect, it } from 'vitest';
import { planOf } from '../testing/fakes.ts';
import { LatencyHistogram } from '../../harness/load/histogram.ts';
import type { RegionResults, RegionSecond, SeriesPoint } from '../../harness/run/results.ts';
import { datacenterOutage, failedRegion, firstAnswer, HOLD_WAL_DEFAULT_MS, holdWalMs, lagFigures, outageFigures, revertWaves } from './datacenter-outage.ts';
import { newDrillState } from './types.ts';

describe('datacenter-outage', () => {
  const p7 = planOf(7);

  it('takes the named region down as one fault, every host of it but the control host, and reads the writes through a survivor', () => {
    const state = newDrillState();
    const [item, ...rest] = datacenterOutage.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100, target: 'eu' }, state);
    expect(rest).toEqual([]);
    expect([item!.fault.name, item!.fault.target, item!.startS, item!.durationS]).toEqual(['region-down', 'eu', 15, 30]);
    expect(item!.fault.describe()).toBe('region eu down: dcs-eu, db-eu, route-eu, sessions-eu, app-eu-1, lb-eu');
    expect(state.primaries.get('main')).toBe('pg-router-us-east');
    // us-east's hosts exclude the harness's control host, which the plan files under the first region
    expect(datacenterOutage.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100, target: 'us-east' }, newDrillState())[0]!.fault.describe()).toBe(
      'region us-east down: dcs-us-east, db-us-east, route-us-east, sessions-us-east, app-us-east-1, lb-us-east',
    );
    // unnamed: the write region, picked at the fault (the leader moves between deployments)
    const dflt = datacenterOutage.schedule(p7, { atS: 15, durationS: 30, params: [], users: 100 }, newDrillState())[0]!;
    expect([dflt.fault.target, dflt.fault.describe()]).toEqual(['write-region', "the write region (the Patroni leader's) down, every host of it"]);
    expect(datacenterOutage.hypothesis(p7, { atS: 15, durationS: 30, params: [], users: 100 }).text).toMatch(/^every host of the write region \(where the Patroni leader is at the fault\) dies at once/);
  });

  it('active-active: takes every member of the region down and reads each home shard back through a survivor router that follows its cluster', () => {
    const aa = planOf(7, { mode: 'active-active' });
    const state = newDrillState();
    const [item] = datacenterOutage.schedule(aa, { atS: 15, durationS: 30, params: [], users: 1000, target: 'eu' }, state);
    expect(item!.fault.describe()).toBe('region eu down: dcs-eu, db-us-east-in-eu, db-us-west-in-eu, db-eu-in-eu, route-eu, sessions-eu, app-eu-1, lb-eu');
    expect(Object.fromEntries(state.primaries)).toEqual({ 'us-east': 'pg-router-us-east-in-us-east', 'us-west': 'pg-router-us-west-in-us-east', eu: 'pg-router-eu-in-us-east' });
    // us-east down: the read-back of every shard moves to us-west's routers (us-east's are its store's)
    const east = newDrillState();
    datacenterOutage.schedule(aa, { atS: 15, durationS: 30, params: [], users: 1000, target: 'us-east' }, east);
    expect(Object.fromEntries(east.primaries)).toEqual({ 'us-east': 'pg-router-us-east-in-us-west', 'us-west': 'pg-router-us-west-in-us-west', eu: 'pg-router-eu-in-us-west' });
  });

  it("brings a region's hosts back in dependency waves: its Patroni members together", () => {
    const aa = planOf(7, { mode: 'active-active' });
    const hosts = aa.hosts.filter((h) => h.region === 'eu').map((h) => h.name);
    expect(revertWaves(aa, hosts).map((w) => w.map((i) => hosts[i]))).toEqual([
      ['dcs-eu'],
      ['db-us-east-in-eu', 'db-us-west-in-eu', 'db-eu-in-eu'],
      ['route-eu', 'sessions-eu'],
      ['app-eu-1'],
      ['lb-eu'],
    ]);
    // the home member and a replica of its cluster on one list: the replica waits for it
    expect(revertWaves(aa, ['db-eu-in-eu', 'db-eu-in-us-east'])).toEqual([[0], [1]]);
    const ap = p7.hosts.filter((h) => h.region === 'eu').map((h) => h.name);
    expect(revertWaves(p7, ap).map((w) => w.map((i) => ap[i]))).toEqual([['dcs-eu'], ['db-eu'], ['route-eu', 'sessions-eu'], ['app-eu-1'], ['lb-eu']]);
  });

  it('hold-wal: the RPO negative control, in ms, as a duration or true; the hypothesis then expects the loss', () => {
    const t = (params: string[]) => ({ atS: 15, durationS: 30, params, users: 100 });
    expect(holdWalMs(t([]))).toBeNull();
    expect(holdWalMs(t(['hold-wal=false']))).toBeNull();
    expect(holdWalMs(t(['hold-wal=true']))).toBe(HOLD_WAL_DEFAULT_MS);
    expect(holdWalMs(t(['hold-wal']))).toBe(HOLD_WAL_DEFAULT_MS);
    expect(holdWalMs(t(['hold-wal=2500']))).toBe(2500);
    expect(holdWalMs(t(['hold-wal=2s']))).toBe(2000);
    for (const bad of ['hold-wal=0', 'hold-wal=soon', 'hold-wal=61s']) expect(() => holdWalMs(t([bad]))).toThrow(/^datacenter-outage: hold-wal=\S+ is not a duration above 0 and at most 60 s$/);
    // the default run keeps its hypothesis; with the hold it is expected to fail on lost writes
    expect(datacenterOutage.hypothesis(p7, t([])).expectedFailure).toBeUndefined();
    const h = datacenterOutage.hypothesis(p7, t(['hold-wal=3000']));
    expect(h.maxLostWrites).toBe(0);
    expect(h.expectedFailure).toMatch(/^hold-wal: the leader's WAL was held back from its replicas for 3000 ms before the kill/);
    // the region dies after the hold: a hold as long as the fault is refused before anything starts
    expect(() => datacenterOutage.schedule(p7, { ...t(['hold-wal=30s']), durationS: 30 }, newDrillState())).toThrow(/hold-wal=30000 ms does not fit in the fault's 30 s/);
  });

  it('refuses a region the deployment does not have, naming its regions', () => {
    expect(() => failedRegion(p7, { target: 'ap-south' })).toThrow(/ap-south is not a region of this deployment \(drill datacenter-outage\)/);
  });

  it('applies only where regions stand behind a geo DNS', () => {
    expect(datacenterOutage.applies(p7).ok).toBe(true);
    const p5 = datacenterOutage.applies(planOf(5));
    expect(p5.ok ? '' : p5.reason).toMatch(/^it takes a whole region down behind a geo DNS, and phase 5 has no geo DNS \(run phase 7\)$/);
  });

  it("reads convergence and failback off a client region's DNS answer changes", () => {
    const changes = [
      { atS: -0.01, address: '127.1.12.1' },
      { atS: 16.2, address: null },
      { atS: 17.0, address: '127.1.15.1' },
      { atS: 59.8, address: '127.1.12.1' },
    ];
    // a failed lookup is not an answer of another region
    const own = (a: string) => a === '127.1.12.1';
    expect(firstAnswer(changes, 15, own, 'other')).toBe(17.0);
    expect(firstAnswer(changes, 45, own, 'own')).toBe(59.8);
    // a pinned client never moves: no convergence (null, not 0)
    expect(firstAnswer([{ atS: 0, address: '127.1.12.1' }], 15, own, 'other')).toBeNull();
    // another address of the same region (a client listener in front of its balancer) is not a move
    const region = (a: string) => a === '127.1.12.1' || a === '127.1.0.201';
    expect(firstAnswer([{ atS: 16, address: '127.1.0.201' }, { atS: 18, address: '127.1.0.203' }], 15, region, 'other')).toBe(18);
  });

  it('reads shift, RTO, serving regions and per-region percentiles off the load; a region without clients is not measured', () => {
    const hdr = (ms: number, n: number) => {
      const h = new LatencyHistogram(2);
      for (let i = 0; i < n; i++) h.recordMs(ms);
      return h.encode();
    };
    // eu's clients: served by eu at 10 ms until it dies at 3.4 s, all failing in 4, then us-east at 80 ms
    const eu: RegionSecond[] = [
      { t: 0, ok: { eu: 10 }, errors: 0, hdr: hdr(10, 10) },
      { t: 1, ok: { eu: 10 }, errors: 0, hdr: hdr(10, 10) },
      { t: 2, ok: { eu: 10 }, errors: 0, hdr: hdr(10, 10) },
      { t: 3, ok: { eu: 4 }, errors: 6, hdr: hdr(10, 4) },
      { t: 4, ok: {}, errors: 10, hdr: null },
      { t: 5, ok: { 'us-east': 6 }, errors: 4, hdr: hdr(80, 6) },
      { t: 6, ok: { 'us-east': 10 }, errors: 0, hdr: hdr(80, 10) },
      { t: 7, ok: { 'us-east': 10 }, errors: 0, hdr: hdr(80, 10) },
      { t: 8, ok: { eu: 10 }, errors: 0, hdr: hdr(10, 10) },
    ];
    const east: RegionSecond[] = eu.map((s) => ({ t: s.t, ok: { 'us-east': 10 }, errors: 0, hdr: hdr(5, 10) }));
    const region = (seconds: RegionSecond[]) => ({ source: '127.0.0.1', requests: 0, errors: 0, latencyMs: null, dns: { queries: 0, failures: 0, changes: [] }, seconds });
    const regions: RegionResults = { eu: region(eu), 'us-east': region(east) };
    const series: SeriesPoint[] = eu.map((s, i) => ({ t: s.t, requests: 20, errors: s.errors, dropped: 0, targetRate: 20, p50: 5, p95: 50, p99: i === 5 ? 2000 : 80 }));
    const o = { faultAtS: 3.4, untilS: 8 };
    const { figures, notes } = outageFigures(regions, series, 'eu', ['us-east'], o, { maxErrorRate: 0.01, maxP99Ms: 1500 });
    expect(notes).toEqual([]);
    expect(figures.firstSurvivorSuccessS).toBe(1.6);
    expect(figures.shiftTimeS).toBe(2.6);
    expect(figures.rtoS).toBe(2.6);
    // the seconds wholly inside the outage (4..7): eu served none of them
    expect(figures['servedDuring.us-east']).toBe(6 + 10 + 10 + 40);
    expect(figures['servedDuring.eu']).toBeUndefined();
    expect(figures['p99BeforeMs.eu']).toBeCloseTo(10, 0);
    expect(figures['p99DuringMs.eu']).toBeCloseTo(80, 0);
    expect(figures['p50DuringMs.us-east']).toBeCloseTo(5, 0);
    // the region's clients never left it: no shift, no survivor success (null, not 0)
    const stuck = outageFigures({ eu: region(eu.map((s) => ({ ...s, ok: {}, errors: 10, hdr: null }))) }, series, 'eu', ['us-east'], o, { maxErrorRate: 0.01, maxP99Ms: 1500 });
    expect([stuck.figures.shiftTimeS, stuck.figures.firstSurvivorSuccessS, stuck.figures['p99BeforeMs.eu']]).toEqual([null, null, null]);
    const none = outageFigures({ 'us-east': region(east) }, series, 'eu', ['us-east'], o, { maxErrorRate: 0.01, maxP99Ms: 1500 });
    expect([none.figures.shiftTimeS, none.notes]).toEqual([null, ['no client of eu counted by serving region: its traffic shift was not measured']]);
  });

  it('lag figures per pair, with their sample count', () => {
    expect(lagFigures(new Map([['us-east->eu', { ms: [3, 1, 2, 40], bytes: [0, 100, 0, 9000] }]]))).toEqual({
      'lagP50Ms.us-east->eu': 2,
      'lagP99Ms.us-east->eu': 40,
      'lagMaxMs.us-east->eu': 40,
      'lagMaxBytes.us-east->eu': 9000,
      'lagSamples.us-east->eu': 4,
    });
  });
});

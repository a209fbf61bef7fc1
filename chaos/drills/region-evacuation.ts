// region-evacuation: a planned, gradual drain of one region under load, the region staying up (the
// Chaos Kong way). The geo DNS's answers that name the region are stepped down in weight, 100 % ->
// 75 -> 50 -> 25 -> 0 %, one step per period (`--param step=6s`; default the fault's duration over
// five, so 0 % holds for the last two periods), by rewriting the routed LUA record in the geo DNS's
// database (targets/services/pdns.ts GeoDrain: a view that lists the region answers by its own
// preference on `weight` % of the queries and without the region on the rest; its caches are
// off, so the next query reads the new text). Every client region that was routed there is
// drained: the region's own clients and any view that ranks it beside another. The region's
// balancer drains its connections for the fault (targets/services/haproxy.ts setDrain: each answer
// closes its connection), so every client there asks the geo DNS again for its next request: a
// client resolves per new connection only, and one that keeps its connection never moves
// (measured without it: answers at 0 %, the region's clients still served there 99 % of the time).
// Revert stops the draining, writes the deployed record back and reads it back: it must be the
// same text.
//
// Default target: the first data center whose Patroni member does not lead, read at the fault.
// Evacuating the leader's region moves its clients but not its writes (every region's apps write
// to the leader through their router), so a planned evacuation of the write region is a Patroni
// switchover first and this drill second; the switchover is not built. `--target <region>` takes
// any region, the leader's included.
//
// Hypothesis: no request fails (a drain is planned: nothing is down), the region's share of the
// load's completed requests falls with the steps and is under 5 % before the fault ends.
// Figures, per step: its weight and start (load clock), the share of every client region's
// completed requests served by the region (X-Bench-Region; targets/regions/figures.ts) and of its
// own clients', the errors, and the share of the drill's own DNS probe's answers that named it
// (every client region's source address, every DNS_PROBE_EVERY_MS): what the DNS did, apart from
// what the clients did with it (a client resolves per new connection only). Time to drained: the
// first second from which the other regions served >= 95 % of the completed requests until the
// fault's end (shiftTimeS), from the first step.
import { join } from 'node:path';
import { BenchError } from '../../harness/errors.ts';
import { dnsQuery } from '../../harness/load/geo-dns.ts';
import type { RegionResults } from '../../harness/run/results.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import { answerRegions, dataCenters, GEO_DNS, GEO_FQDN, regionFront } from '../../targets/phases/phase-7.ts';
import { mergeServed, shiftTimeS, type ServedSecond } from '../../targets/regions/figures.ts';
import { setDrain } from '../../targets/services/haproxy.ts';
import { PDNS_DB_FILE, readGeoRecord, resolvePdnsConfig, updateGeoRecord, type PdnsConfig } from '../../targets/services/pdns.ts';
import { parseDurationMs } from '../faults/params.ts';
import { once } from '../faults/toxic-fault.ts';
import type { Fault } from '../faults/types.ts';
import { namedRegion } from './lookup.ts';
import { clientSourceOf } from './datacenter-outage.ts';
import { clientRegionFigures, regionsOf, rolesNow } from './region-partition.ts';
import { APPLIES, doesNotApply, type Drill, type DrillState, type DrillTiming } from './types.ts';

/** The weights (%) the region's answers step through, one per period; 100 % before the fault. */
export const STEPS = [75, 50, 25, 0] as const;
/** How often the drill's DNS probe asks, from each client region's source address. */
export const DNS_PROBE_EVERY_MS = 300;
/** The share under which the region counts as drained. */
export const DRAINED_SHARE = 0.05;

/** The fault's target when none is named: a region whose Patroni member does not lead. */
export const REPLICA_REGION = 'replica-region';

/** The region the user named (checked), else null: the first region without the leader, picked at
 *  the fault. */
export function evacuatedRegion(plan: DeployPlan, t: Pick<DrillTiming, 'target'>): string | null {
  return namedRegion(plan, t.target, 'region-evacuation', REPLICA_REGION);
}

/** The step period in seconds: `--param step=6s` (a bare number is seconds), default the fault's
 *  duration over STEPS + 1; every step must start inside the fault. Throws BenchError('usage'). Pure. */
export function stepPeriodS(t: Pick<DrillTiming, 'params' | 'durationS'>): number {
  const raw = t.params.map((p) => p.trim()).find((p) => p.startsWith('step='));
  const periodS = raw === undefined ? t.durationS / (STEPS.length + 1) : (parseDurationMs(raw.slice('step='.length), 's') ?? NaN) / 1000;
  if (!(periodS > 0)) throw new BenchError('usage', `region-evacuation: ${raw} is not a duration above 0`, 'use --param step=6s');
  if (STEPS.length * periodS >= t.durationS) {
    throw new BenchError('usage', `region-evacuation: ${STEPS.length} steps of ${periodS} s do not fit in the fault's ${t.durationS} s (the last, 0 %, must hold a while)`, `use --duration ${Math.ceil((STEPS.length + 1) * periodS)}s or a shorter step`);
  }
  return periodS;
}

/** One step as it happened: its weight and when it took effect (s since the fault's apply). */
export interface Step {
  percent: number;
  atS: number;
}

/** One answer of the drill's DNS probe: s since the fault's apply, the client region, whether the
 *  answer named the evacuated region (null: no answer). */
export interface ProbeAnswer {
  atS: number;
  client: string;
  evacuated: boolean | null;
}

/** What one run's fault recorded, for verify. */
interface Evacuation {
  region: string;
  steps: Step[];
  answers: ProbeAnswer[];
  /** the record's text as deployed, and as read back after the revert */
  deployed: string | null;
  restored: string | null;
  stop(): Promise<void>;
}
const runs = new WeakMap<DrillState, Evacuation>();

const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** `region`'s share of the completed requests (successes plus failures) of `seconds`; null when
 *  none completed. Pure. */
export function servedShare(seconds: readonly ServedSecond[], region: string): number | null {
  const total = sum(seconds.map((s) => sum(Object.values(s.ok)) + s.errors));
  return total === 0 ? null : r3(sum(seconds.map((s) => s.ok[region] ?? 0)) / total);
}

/**
 * The drill's figures from the load's per-region seconds and the probe's answers, with the steps
 * on the load clock (`fromS` the first step, `untilS` the fault's end): per step (and before the
 * first) the evacuated region's share of every client region's completed requests, of its own
 * clients', the errors, and the share of the probe's answers (every client region's, and its own
 * clients') that named it; time to drained. Seconds count where they lie wholly inside a step. Pure.
 */
export function evacuationFigures(
  regions: RegionResults,
  region: string,
  others: readonly string[],
  steps: readonly { percent: number; fromS: number }[],
  untilS: number,
  answers: readonly (ProbeAnswer & { loadS: number })[],
): Record<string, number | null> {
  const all = mergeServed(Object.values(regions).map((x) => x.seconds ?? []));
  const own = regions[region]?.seconds ?? [];
  const windows = [{ key: 'before', fromS: -Infinity, toS: steps[0]?.fromS ?? untilS }, ...steps.map((s, i) => ({ key: String(i + 1), fromS: s.fromS, toS: steps[i + 1]?.fromS ?? untilS }))];
  const out: Record<string, number | null> = {};
  for (const w of windows) {
    const inside = <T extends { t: number }>(xs: readonly T[]) => xs.filter((s) => s.t >= w.fromS && s.t + 1 <= w.toS);
    out[`servedShare.${w.key}`] = servedShare(inside(all), region);
    out[`ownServedShare.${w.key}`] = servedShare(inside(own), region);
    out[`stepErrors.${w.key}`] = sum(inside(all).map((s) => s.errors));
    const asked = answers.filter((a) => a.loadS >= w.fromS && a.loadS < w.toS && a.evacuated !== null);
    const share = (xs: typeof asked) => (xs.length === 0 ? null : r3(xs.filter((a) => a.evacuated).length / xs.length));
    out[`dnsShare.${w.key}`] = share(asked);
    out[`dnsOwnShare.${w.key}`] = share(asked.filter((a) => a.client === region));
  }
  steps.forEach((s, i) => (out[`weight.${i + 1}`] = s.percent));
  out.drainedS = steps.length === 0 ? null : r3(shiftTimeS(all, { faultAtS: steps[0]!.fromS, untilS }, others, 1 - DRAINED_SHARE));
  return out;
}

/**
 * What fails the drill in its figures (evacuationFigures'): a region that served nothing before
 * (nothing was drained: the drill would pass on nothing), one never drained below DRAINED_SHARE, a
 * failed request during the steps, a geo DNS that still answered the region at 0 %. Pure.
 */
export function evacuationProblems(f: Readonly<Record<string, number | string | null>>, region: string): string[] {
  const problems: string[] = [];
  const before = f['servedShare.before'];
  if (before === null || before === undefined || before === 0) {
    problems.push(`${region} served none of the requests before the evacuation: there was nothing to drain (its clients were answered elsewhere: a region counts as down to the geo DNS until its first health check)`);
  }
  if (f.drainedS === null || f.drainedS === undefined) problems.push(`${region} still served ${DRAINED_SHARE * 100} % or more of the requests at the end of the evacuation`);
  const failed = STEPS.reduce<number>((a, _, i) => a + (Number(f[`stepErrors.${i + 1}`]) || 0), 0);
  if (failed > 0) problems.push(`${failed} requests failed during the evacuation: a planned drain must cost none`);
  const lastDns = f[`dnsShare.${STEPS.length}`];
  if (typeof lastDns === 'number' && lastDns > 0) problems.push(`the geo DNS still answered ${region} at 0 % (${lastDns * 100} % of the probe's answers)`);
  return problems;
}

/** The geo DNS's config (with addresses) and its zone database, from the plan and the deployment. */
function geoDns(plan: DeployPlan, dataDir: string): { config: PdnsConfig; file: string } {
  const dns = plan.services.find((s) => s.name === GEO_DNS);
  if (dns?.config.kind !== 'pdns') throw new BenchError('internal', `drill region-evacuation was scheduled without a ${GEO_DNS}: validateDrill() checks applies() first`);
  return { config: resolvePdnsConfig(dns.config.pdns, plan), file: join(dataDir, PDNS_DB_FILE) };
}

/** The addresses the geo DNS answers for `region`: its balancer's. */
// the region's balancer (its own clients' answer) and every client listener into it (the answer
// of a view that routes another region's clients there): each is an address the DNS may name
const answersFor = (plan: DeployPlan, region: string) => [...answerRegions(plan)].filter(([, r]) => r === region).map(([host]) => host);

/** The region drained step by step as one fault (see the file's header); revert writes the
 *  deployed record back. */
function evacuate(plan: DeployPlan, fixed: string | null, periodS: number, state: DrillState): Fault {
  const regions = dataCenters(plan.topology);
  return {
    name: 'region-evacuation',
    target: fixed ?? REPLICA_REGION,
    describe: () => `the geo DNS's answers for ${fixed ?? 'a region without the Patroni leader'} stepped down ${['100', ...STEPS].join(' -> ')} %, every ${periodS} s`,
    async apply(ctx) {
      const t0 = performance.now();
      const since = () => r3((performance.now() - t0) / 1000)!;
      const roles = await rolesNow(plan, regions);
      const leader = regions.find((r) => roles[r] === 'primary') ?? null;
      const region = fixed ?? regions.find((r) => r !== leader)!;
      state.figures.leaderRegionAtFault = leader;
      state.figures.evacuatedRegion = region;
      state.figures.stepPeriodS = periodS;
      const { config, file } = geoDns(plan, ctx.deployment.service(GEO_DNS).dataDir);
      const drained = answersFor(plan, region);
      const deployed = readGeoRecord(file, config);
      const dns = plan.services.find((s) => s.name === GEO_DNS)!.address;
      const asks = regions.flatMap((client) => {
        const source = clientSourceOf(plan, client);
        return source ? [{ client, ask: dnsQuery(dns, source, 500) }] : [];
      });
      const run: Evacuation = { region, steps: [], answers: [], deployed, restored: null, stop: async () => {} };
      runs.set(state, run);
      let stopped = false;
      let wake: () => void = () => {};
      const sleep = (ms: number) => new Promise<void>((res) => {
        const timer = setTimeout(res, ms);
        wake = () => (clearTimeout(timer), res());
      });
      const step = (percent: number) => {
        updateGeoRecord(file, config, { addresses: drained, percent });
        run.steps.push({ percent, atS: since() });
        ctx.progress(`region-evacuation: ${region}'s answers at ${percent} %`);
      };
      step(STEPS[0]);
      const balancer = ctx.deployment.service(regionFront(region).lb).dataDir;
      try {
        await setDrain(balancer, true);
      } catch (err) {
        updateGeoRecord(file, config);
        throw err;
      }
      state.figures.connectionDrainS = since();
      const stepping = (async () => {
        for (let i = 1; i < STEPS.length; i++) {
          await sleep(Math.max(0, t0 + i * periodS * 1000 - performance.now()));
          if (stopped) return;
          step(STEPS[i]!);
        }
      })().catch((e: unknown) => {
        state.problems.push(`region-evacuation: a step failed, the answers stayed at ${run.steps[run.steps.length - 1]?.percent} %: ${(e as Error).message}`);
      });
      const probing = (async () => {
        while (!stopped) {
          const started = performance.now();
          await Promise.all(
            asks.map(async ({ client, ask }) => {
              const atS = since();
              const answer = await ask(GEO_FQDN).then((a) => a[0]?.address ?? null, () => null);
              run.answers.push({ atS, client, evacuated: answer === null ? null : drained.includes(answer) });
            }),
          );
          await new Promise((res) => setTimeout(res, Math.max(0, DNS_PROBE_EVERY_MS - (performance.now() - started))));
        }
      })();
      run.stop = once(async () => {
        stopped = true;
        wake();
        await Promise.all([stepping, probing]);
      });
      return {
        detail: `${region}'s answers (${drained.join(', ')}) at ${STEPS[0]} %, then ${STEPS.slice(1).join(', ')} % every ${periodS} s (leader in ${leader ?? 'no region'})`,
        revert: once(async () => {
          await run.stop();
          updateGeoRecord(file, config);
          run.restored = readGeoRecord(file, config);
          await setDrain(balancer, false);
        }),
      };
    },
  };
}

export const regionEvacuation: Drill = {
  name: 'region-evacuation',
  summary: "a region is drained under load by stepping the geo DNS's answers for it down to 0 % (default a region without the Patroni leader); it stays up, nothing fails",
  applies(plan) {
    const regions = regionsOf(plan);
    if (regions.length < 2) return doesNotApply(`it drains a region's traffic to the others through a geo DNS, and phase ${plan.topology.phase} has ${regions.length === 0 ? 'no geo DNS' : 'one region'} (run phase 7)`);
    return APPLIES;
  },
  defaults: { atS: 10, durationS: 30, tailS: 15 },
  workload: 'mixed',
  hypothesis(plan, t) {
    const r = evacuatedRegion(plan, t) ?? 'a region whose Patroni member does not lead (the first, at the fault)';
    const periodS = stepPeriodS(t);
    return {
      text:
        `the geo DNS's answers for ${r} step down ${['100', ...STEPS].join(' -> ')} %, every ${periodS} s, the region staying up: no request fails, ` +
        `its share of the served requests falls with the steps and is under ${DRAINED_SHARE * 100} % before the fault ends (${t.durationS} s); p99 stays under 1500 ms; ` +
        'the revert restores the DNS record exactly; no acknowledged write is lost',
      // the verdict's rate needs a bound above 0 (drills.test.ts); verify demands 0 failures over the steps
      maxErrorRate: 0.001,
      maxP99Ms: 1500,
      maxLostWrites: 0,
    };
  },
  schedule(plan, t, state) {
    return [{ fault: evacuate(plan, evacuatedRegion(plan, t), stepPeriodS(t), state), startS: t.atS, durationS: t.durationS }];
  },
  // no health probe: the load's API target is the geo name, which only the client regions resolve
  probes: () => [],
  async verify(ctx) {
    const run = runs.get(ctx.state);
    const window = ctx.windows.find((w) => w.name === 'region-evacuation');
    if (!run || !window) return { problems: ['no region was evacuated'] };
    await run.stop();
    const problems: string[] = [];
    const notes: string[] = [];
    const others = dataCenters(ctx.plan.topology).filter((x) => x !== run.region);
    // the fault's end on the load clock: the revert starts then
    const untilS = r3(window.startS + ctx.timing.durationS)!;
    const toLoad = (s: number) => r3(window.startS + s)!;
    const figures: Record<string, number | string | null> = { ...clientRegionFigures(ctx), evacuationEndS: untilS };
    run.steps.forEach((s, i) => (figures[`stepAtS.${i + 1}`] = toLoad(s.atS)));
    const regions = ctx.load.results.regions;
    if (!regions) {
      notes.push('the load had no client regions, so no share was measured');
    } else {
      Object.assign(
        figures,
        evacuationFigures(regions, run.region, others, run.steps.map((s) => ({ percent: s.percent, fromS: toLoad(s.atS) })), untilS, run.answers.map((a) => ({ ...a, loadS: toLoad(a.atS) }))),
      );
    }
    figures.recordRestored = run.restored !== null && run.restored === run.deployed ? 'exact' : 'no';
    if (figures.recordRestored !== 'exact') problems.push(`the geo DNS's record was not restored as deployed: ${run.restored ?? 'no record'}`);
    if (regions) problems.push(...evacuationProblems(figures, run.region));
    const failures = Object.entries(ctx.load.results.statusCodes).filter(([code]) => !/^[23]/.test(code));
    // 401: sessions live in each region's own store, so a client moved elsewhere is not logged in there
    if (failures.length) notes.push(`failed answers over the load by status: ${failures.map(([c, n]) => `${c} x${n}`).join(', ')}${failures.some(([c]) => c === '401') ? ' (401: a client moved to another region is not logged in there, its session lives in its first region\'s store)' : ''}`);
    return { figures, problems, notes };
  },
};

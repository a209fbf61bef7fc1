// `bench ladder`: the capacity search (harness/capacity/run.ts) on each phase in turn, on the same
// workload, users and objective, then the ladder: the sustainable rate per phase, the factor each
// step buys over the previous one, the rate per CPU core the topology was given, and p99 at a rate
// every phase was measured at. One ladder.json and one summary.md for the whole ladder.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { usageError } from '../errors.ts';
import { phases } from '../../targets/phases/index.ts';
import { CONTROL_HOST } from '../topology/plan.ts';
import type { RunIO } from '../run/lifecycle.ts';
import { runCapacity, type CapacityJson, type CapacityOptions } from './run.ts';
import type { LadderJson, Rung } from '../../reports/capacity-schema.ts';
import { renderLadderHtml, saturatedText } from '../../reports/capacity-html.ts';
import { writeAtomic } from '../../reports/index.ts';

/** Parses `--phases 1-5` or `2,3` (or a mix, `1,3-5`): built phases, ascending, at least two. */
export function parsePhases(raw: string): number[] {
  const out = new Set<number>();
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw usageError(`--phases ${JSON.stringify(raw)} is not a list of phases`, 'write it like --phases 1-5 or --phases 2,3');
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw usageError(`--phases ${part.trim()} is a range that shrinks`, 'write it like --phases 1-5');
    for (let p = from; p <= to; p++) {
      const def = phases.get(p);
      if (!def) throw usageError(`--phases: phase ${p} does not exist`, 'choose among 1..5');
      if (def.built === false) throw usageError(`--phases: phase ${p} is not built yet`, 'choose among the built phases, 1..5');
      out.add(p);
    }
  }
  const list = [...out].sort((a, b) => a - b);
  if (list.length < 2) throw usageError(`--phases ${raw} names one phase: a ladder compares at least two`, 'write it like --phases 2,3; bench capacity measures one phase');
  return list;
}

/** One rung and the whole ladder as ladder.json records them (reports/capacity-schema.ts). */
export type { Rung, LadderJson };

/** The rung of one search; factor and p99 at the common rate are filled in by ladderOf. */
export function rungOf(j: CapacityJson, dir: string, totalS: number): Rung {
  const c = j.capacity;
  const cores = round2(j.hosts.filter((h) => h.name !== CONTROL_HOST).reduce((a, h) => a + h.cpus, 0));
  return {
    phase: j.phase,
    title: j.title,
    runId: j.runId,
    dir,
    outcome: c.outcome,
    stoppedBy: c.stoppedBy,
    sustainableRate: c.sustainableRate,
    marginRate: c.marginRate,
    confirmed: c.confirmed,
    lowerBound: c.outcome === 'at-least',
    factor: null,
    cores,
    ratePerCore: c.sustainableRate === null || cores <= 0 ? null : round1(c.sustainableRate / cores),
    p99AtCommonMs: null,
    sizesEnforced: c.steps.every((s) => s.sizesEnforced) && c.stoppedBy !== 'sizes',
    searchS: round1(c.elapsedMs / 1000),
    totalS: round1(totalS),
    steps: c.steps,
    saturatedFirst: c.saturatedFirst,
    knee: c.knee,
  };
}

/** Factors over the previous rung and p99s at the highest rate every rung measured firmly. */
export function ladderOf(searches: Array<{ json: CapacityJson; rung: Rung }>): { rungs: Rung[]; commonRate: number | null } {
  const firmRates = searches.map(({ json }) => new Set(json.capacity.steps.filter((s) => s.verdict !== 'inconclusive' && s.latencyMs.p99 != null).map((s) => s.rate)));
  const common = firmRates.length === 0 ? [] : [...firmRates[0]!].filter((r) => firmRates.every((set) => set.has(r)));
  const commonRate = common.length === 0 ? null : Math.max(...common);
  const rungs = searches.map(({ json, rung }, i) => {
    const prev = i > 0 ? searches[i - 1]!.rung.sustainableRate : null;
    const p99s = commonRate === null ? [] : json.capacity.steps.filter((s) => s.rate === commonRate && s.verdict !== 'inconclusive').map((s) => s.latencyMs.p99 ?? null);
    return {
      ...rung,
      factor: prev !== null && prev > 0 && rung.sustainableRate !== null ? round2(rung.sustainableRate / prev) : null,
      // the first (shortest) measurement there; a confirmation at that rate would be a longer hold
      p99AtCommonMs: p99s.length > 0 ? p99s[0]! : null,
    };
  });
  return { rungs, commonRate };
}

/**
 * `--quick`: short holds and a coarse resolution, for CI (phases 2 and 3 in a few minutes). The
 * warm-up stays the search's (20 s): a fleet behind a balancer splits it between its apps, so a
 * shortened one would leave phase 3 colder than phase 2.
 */
export const QUICK = { settleS: 2, holdS: 4, confirmS: 8, resolution: 0.2 } as const;

export interface LadderOutcome {
  json: LadderJson;
  dir: string;
  /** 0: every rung found a rate; 1: one did not; 3: host sizes were not enforced on a rung */
  exitCode: number;
}

export async function runLadder(options: CapacityOptions, phaseList: number[], quick: boolean, io: RunIO): Promise<LadderOutcome> {
  const startedAt = new Date();
  const base = options.run;
  const dir = resolve(io.cwd, base.out ?? join('.runs', `ladder-${startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`));
  await mkdir(dir, { recursive: true });
  const searches: Array<{ json: CapacityJson; rung: Rung }> = [];
  for (const phase of phaseList) {
    const sub = join(dir, `phase-${phase}`);
    io.progress(`ladder: phase ${phase} (${phaseList.indexOf(phase) + 1} of ${phaseList.length})`);
    const t0 = performance.now();
    const got = await runCapacity({ ...options, run: { ...base, phase, out: sub, options: phaseDefaults(phase) } }, io);
    const rung = rungOf(got.json, sub, (performance.now() - t0) / 1000);
    searches.push({ json: got.json, rung });
    io.progress(`ladder: phase ${phase}: ${rung.outcome}, ${rung.sustainableRate ?? 'no'} req/s in ${rung.totalS} s`);
  }
  const { rungs, commonRate } = ladderOf(searches);
  const notes: string[] = [];
  const unenforced = rungs.filter((r) => !r.sizesEnforced).map((r) => r.phase);
  if (unenforced.length > 0) notes.push(`host sizes were not enforced on phase ${unenforced.join(', ')}: the ladder does not compare capacities`);
  const json: LadderJson = {
    kind: 'bench-ladder',
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    phases: phaseList,
    workload: base.workload,
    users: base.users,
    objective: options.objective.text,
    quick,
    commonRate,
    rungs,
    notes,
  };
  await writeFile(join(dir, 'ladder.json'), JSON.stringify(json, null, 2) + '\n');
  await writeFile(join(dir, 'summary.md'), ladderMarkdown(json));
  await writeAtomic(join(dir, 'report.html'), renderLadderHtml(json));
  const exitCode = unenforced.length > 0 ? 3 : rungs.every((r) => r.sustainableRate !== null) ? 0 : 1;
  return { json, dir, exitCode };
}

/** A phase's own option defaults (app servers, replicas, shards, ...): the ladder runs each as built. */
function phaseDefaults(phase: number) {
  return { ...phases.get(phase)!.defaults };
}

const fmt = (x: number | null, digits = 0) => (x === null ? 'n/a' : x.toLocaleString('en-US', { maximumFractionDigits: digits }));

/** summary.md: the ladder table, then where each rung's search stopped. */
export function ladderMarkdown(j: LadderJson): string {
  const lines = [
    `# Capacity ladder, phases ${j.phases.join(', ')}`,
    '',
    `Objective \`${j.objective}\`, ${j.workload} workload, ${j.users.toLocaleString('en-US')} users${j.quick ? ', --quick (short holds, coarse resolution)' : ''}.`,
    '',
    `| phase | topology | sustainable (req/s) | factor | CPU cores | req/s per core | p99 at ${j.commonRate === null ? 'a common rate' : fmt(j.commonRate) + ' req/s'} (ms) | outcome | time (s) |`,
    '|---:|---|---:|---:|---:|---:|---:|---|---:|',
    ...j.rungs.map(
      (r) =>
        `| ${r.phase} | ${r.title} | ${r.lowerBound ? '≥ ' : ''}${fmt(r.sustainableRate)}${r.marginRate !== null ? ` (+${fmt(r.marginRate)})` : ''} | ${r.factor === null ? '—' : r.factor.toFixed(2) + 'x'} | ${fmt(r.cores, 2)} | ${fmt(r.ratePerCore, 1)} | ${fmt(r.p99AtCommonMs, 1)} | ${r.outcome}${r.confirmed ? ', confirmed' : ''}${r.sizesEnforced ? '' : ', sizes NOT enforced'} | ${fmt(r.totalS, 1)} |`,
    ),
    '',
    j.commonRate === null ? 'No rate was measured firmly on every phase: p99s are not compared.' : `p99 at ${fmt(j.commonRate)} req/s: the highest rate every phase was measured at (a search step, not a confirmation).`,
    'CPU cores: the sum of the topology\'s host quotas (the harness\'s own control host left out); a quota is a ceiling, and the hosts share this machine.',
    '',
  ];
  const saturated = j.rungs.filter((r) => r.saturatedFirst !== undefined);
  if (saturated.length > 0) lines.push('Saturated first (the most throttled host at the lowest rate that failed):', '', ...saturated.map((r) => `- phase ${r.phase}: ${saturatedText(r.saturatedFirst)}`), '');
  if (j.notes.length > 0) lines.push('Notes:', '', ...j.notes.map((n) => `- ${n}`), '');
  lines.push(`Each phase's search: ${j.rungs.map((r) => `phase-${r.phase}/summary.md`).join(', ')}.`, '');
  return lines.join('\n');
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

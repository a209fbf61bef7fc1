// `bench compare` for capacities: a ladder (ladder.json) or a capacity search (results.json with
// a capacity section, or capacity.json) against a stored one. Per phase, a drop of the sustainable
// rate beyond --max-capacity-drop fails. Only a rate the search found (or bounded from below) is a
// capacity: an inconclusive search, or one where no rate held, has none, and a head without a
// capacity where the base had one fails the gate rather than passing on what was not measured.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchError } from '../harness/errors.ts';
import { LadderJson, CapacityAnswer } from './capacity-schema.ts';
import { describeIssues, parseResults, RESULTS_FILE } from './load.ts';
import type { Results } from './schema.ts';
import { fmtChangePct, fmtNum } from './format.ts';
import { mdTable } from './markdown.ts';

/** One phase's capacity as the gate sees it. */
export interface CapacityRung {
  phase: number;
  runId: string;
  outcome: CapacityAnswer['outcome'];
  stoppedBy: CapacityAnswer['stoppedBy'];
  /** the search's sustainable rate; null when it found none */
  rate: number | null;
  lowerBound: boolean;
  sizesEnforced: boolean;
}

/** A ladder or a single search, reduced to its rungs. */
export interface CapacityDoc {
  kind: 'ladder' | 'search';
  /** the run ids, as printed: one per rung */
  runIds: string[];
  rungs: CapacityRung[];
}

/** Either input of `bench compare`: a plain run, or a capacity document. */
export type CompareInput = { kind: 'run'; results: Results } | { kind: 'capacity'; doc: CapacityDoc; file: string };

/** A rate the search stands behind: found or bounded from below, never from an inconclusive search. */
export function capacityOf(r: Pick<CapacityRung, 'outcome' | 'rate'>): number | null {
  return r.outcome === 'found' || r.outcome === 'at-least' ? r.rate : null;
}

/** A ladder.json as rungs. */
export function ladderDoc(j: LadderJson): CapacityDoc {
  return {
    kind: 'ladder',
    runIds: j.rungs.map((r) => r.runId),
    rungs: j.rungs.map((r) => ({ phase: r.phase, runId: r.runId, outcome: r.outcome, stoppedBy: r.stoppedBy, rate: r.sustainableRate, lowerBound: r.lowerBound, sizesEnforced: r.sizesEnforced })),
  };
}

/** A capacity search's results.json as one rung; null when the run has no capacity section. */
export function resultsDoc(r: Results): CapacityDoc | null {
  const c = r.capacity;
  if (!c) return null;
  const sizesEnforced = r.topology.hosts.every((h) => h.sizeEnforced !== false) && c.steps.every((s) => s.sizesEnforced);
  return {
    kind: 'search',
    runIds: [r.runId],
    rungs: [{ phase: r.config.phase, runId: r.runId, outcome: c.outcome, stoppedBy: c.stoppedBy, rate: c.sustainableRate, lowerBound: c.outcome === 'at-least', sizesEnforced }],
  };
}

/** capacity.json (`kind: "bench-capacity"`) as one rung: its answer is checked against the schema. */
function capacityJsonDoc(data: Record<string, unknown>, file: string): CapacityDoc {
  const answer = CapacityAnswer.safeParse(data.capacity);
  if (!answer.success || typeof data.runId !== 'string' || typeof data.phase !== 'number') {
    throw new BenchError('usage', `${file} is not a valid capacity.json${answer.success ? '' : `: ${describeIssues(answer.error.issues)}`}`, 'point at the capacity.json or results.json a bench capacity run wrote');
  }
  const c = answer.data;
  return {
    kind: 'search',
    runIds: [data.runId],
    rungs: [{ phase: data.phase, runId: data.runId, outcome: c.outcome, stoppedBy: c.stoppedBy, rate: c.sustainableRate, lowerBound: c.outcome === 'at-least', sizesEnforced: c.steps.every((s) => s.sizesEnforced) && c.stoppedBy !== 'sizes' }],
  };
}

/**
 * Reads an input of `bench compare`: a results.json (a run, or a capacity search when it carries a
 * capacity section), a ladder.json or a capacity.json; a directory is read for ladder.json, then
 * results.json. Bad input: BenchError('usage'), one line.
 */
export async function readCompareInput(path: string): Promise<CompareInput> {
  let file = path;
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) {
    const ladder = join(path, 'ladder.json');
    file = (await stat(ladder).catch(() => null)) ? ladder : join(path, RESULTS_FILE);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BenchError('usage', `cannot read ${file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // parseResults says what is wrong with it in the words of a results.json
    return { kind: 'run', results: parseResults(text, file) };
  }
  const kind = data !== null && typeof data === 'object' ? (data as Record<string, unknown>).kind : undefined;
  if (kind === 'bench-ladder') {
    const parsed = LadderJson.safeParse(data);
    if (!parsed.success) throw new BenchError('usage', `${file} is not a valid ladder.json: ${describeIssues(parsed.error.issues)}`, 'point at the ladder.json a bench ladder wrote');
    return { kind: 'capacity', doc: ladderDoc(parsed.data), file };
  }
  if (kind === 'bench-capacity') return { kind: 'capacity', doc: capacityJsonDoc(data as Record<string, unknown>, file), file };
  const results = parseResults(text, file);
  const doc = resultsDoc(results);
  return doc ? { kind: 'capacity', doc, file } : { kind: 'run', results };
}

/** One phase of a capacity comparison. */
export interface CapacityRow {
  phase: number;
  base: number | null;
  head: number | null;
  changePct: number | null;
  status: 'pass' | 'fail' | 'info';
  why: string;
}

export interface CapacityComparison {
  markdown: string;
  failures: string[];
  warnings: string[];
  rows: CapacityRow[];
}

/** Parses --max-capacity-drop: a percentage (10%), at most 100%. */
export function parseCapacityDrop(parse: (what: string, value: string) => number, value: string): number {
  const pct = parse('--max-capacity-drop', value);
  if (pct > 100) throw new BenchError('usage', `--max-capacity-drop: ${value} is more than 100%`, 'a drop is at most 100%, e.g. 10%');
  return pct;
}

const rateText = (r: CapacityRung | undefined) =>
  r === undefined ? 'not measured' : capacityOf(r) === null ? `none (${r.outcome}, stopped by ${r.stoppedBy})` : `${r.lowerBound ? '≥ ' : ''}${fmtNum(capacityOf(r)!, 0)} req/s`;

/**
 * Gates head's capacities against base's, phase by phase: a drop beyond `maxDropPct` fails, and so
 * does a phase of the base that the head did not measure or found no capacity for. Runs whose host
 * sizes were not enforced are refused (exit 3) unless allowed: nominal sizes compare nothing.
 */
export function compareCapacity(base: CapacityDoc, head: CapacityDoc, maxDropPct: number, allowUnenforcedSizes = false): CapacityComparison {
  const unenforced = [
    ...base.rungs.filter((r) => !r.sizesEnforced).map((r) => `base ${r.runId}`),
    ...head.rungs.filter((r) => !r.sizesEnforced).map((r) => `head ${r.runId}`),
  ];
  if (unenforced.length > 0 && !allowUnenforcedSizes) {
    throw new BenchError(
      'environment',
      `host sizes were not enforced (${unenforced.join(', ')}): their capacities are not comparable`,
      'run where cgroup quotas can be written, use --runtime docker, or pass --allow-unenforced-sizes to compare anyway',
    );
  }
  if (!base.rungs.some((b) => head.rungs.some((h) => h.phase === b.phase))) {
    throw new BenchError(
      'usage',
      `base (phase ${base.rungs.map((r) => r.phase).join(', ')}) and head (phase ${head.rungs.map((r) => r.phase).join(', ')}) measured no phase in common`,
      'compare a ladder or a capacity search with one of the same phases',
    );
  }
  const failures: string[] = [];
  const warnings: string[] = [];
  const rows: CapacityRow[] = [];
  if (base.kind !== head.kind) warnings.push(`comparing a ${base.kind} with a ${head.kind}: only the phases both measured are gated`);
  for (const b of base.rungs) {
    const h = head.rungs.find((r) => r.phase === b.phase);
    const bc = capacityOf(b);
    const hc = h === undefined ? null : capacityOf(h);
    const row: CapacityRow = { phase: b.phase, base: bc, head: hc, changePct: bc !== null && hc !== null && bc > 0 ? ((hc - bc) / bc) * 100 : null, status: 'pass', why: '' };
    if (bc === null) {
      row.status = 'info';
      row.why = 'the base has no capacity here: nothing to gate';
      warnings.push(`phase ${b.phase}: the base found no capacity (${b.outcome}, stopped by ${b.stoppedBy}); not gated`);
    } else if (h === undefined) {
      if (head.kind === 'ladder') {
        row.status = 'fail';
        row.why = 'not measured in the head';
        failures.push(`phase ${b.phase}: the head did not measure it (base ${fmtNum(bc, 0)} req/s)`);
      } else {
        row.status = 'info';
        row.why = 'not in the head';
      }
    } else if (hc === null) {
      row.status = 'fail';
      row.why = `the head found no capacity (${h.outcome})`;
      failures.push(`phase ${b.phase}: the head found no capacity (${h.outcome}, stopped by ${h.stoppedBy}) where the base sustained ${fmtNum(bc, 0)} req/s`);
    } else {
      const drop = -row.changePct!;
      if (drop > maxDropPct) {
        row.status = 'fail';
        row.why = `dropped ${fmtNum(drop, 1)}%${h.lowerBound ? ' (the head\'s rate is only a lower bound)' : ''}`;
        failures.push(`phase ${b.phase}: capacity dropped ${fmtNum(drop, 1)}% (${fmtNum(bc, 0)} → ${fmtNum(hc, 0)} req/s), more than the ${fmtNum(maxDropPct, 2)}% gate${h.lowerBound ? `; the head's rate is a lower bound (stopped by ${h.stoppedBy})` : ''}`);
      } else if (b.lowerBound) {
        row.why = 'the base is a lower bound';
        warnings.push(`phase ${b.phase}: the base's rate is only a lower bound (stopped by ${b.stoppedBy}): a drop from the real capacity may be hidden`);
      }
    }
    rows.push(row);
  }
  const table = mdTable(
    ['phase', 'base', 'head', 'change', 'gate', 'result'],
    rows.map((r) => {
      const b = base.rungs.find((x) => x.phase === r.phase);
      const h = head.rungs.find((x) => x.phase === r.phase);
      return [
        r.phase,
        rateText(b),
        rateText(h),
        r.changePct === null ? '—' : fmtChangePct(r.changePct),
        `drop ≤ ${fmtNum(maxDropPct, 2)}%`,
        `${r.status === 'fail' ? '❌ fail' : r.status === 'pass' ? '✅ pass' : 'ℹ️ not gated'}${r.why ? ` (${r.why})` : ''}`,
      ];
    }),
    ['r', 'r', 'r', 'r', 'l', 'l'],
  );
  const lines = [
    `### bench compare (capacity): ${failures.length === 0 ? '✅ no gate crossed' : `❌ ${failures.length} gate(s) crossed`}`,
    '',
    `Base: ${base.kind} ${base.runIds.join(', ')}. Head: ${head.kind} ${head.runIds.join(', ')}.`,
    '',
    table,
  ];
  if (warnings.length > 0) lines.push('', ...warnings.map((w) => `> ⚠️ ${w}`));
  return { markdown: lines.join('\n') + '\n', failures, warnings, rows };
}

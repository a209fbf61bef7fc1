// The capacity parts of summary.md, as Markdown tables: a search's answer, knee, which host
// saturated first and its steps (for `bench capacity`'s results and its stdout), and the ladder's
// table with what saturated first on each phase.
import type { CapacityAnswer, CapacityStep, Throttling } from './capacity-schema.ts';
import { mdCell } from './markdown.ts';

const rate = (x: number | null) => (x === null ? 'n/a' : x.toLocaleString('en-US', { maximumFractionDigits: 1 }));
const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(1));

/** The answer in a sentence, with its margin; never a rate the search did not find. */
export function capacityAnswerMarkdown(c: Pick<CapacityAnswer, 'outcome' | 'stoppedBy' | 'sustainableRate' | 'marginRate' | 'firstFailRate' | 'confirmed'>, confirmS: number): string {
  switch (c.outcome) {
    case 'found':
      return `**${rate(c.sustainableRate)} req/s** sustained (+${rate(c.marginRate)} req/s margin: the limit lies below ${rate(c.firstFailRate)} req/s)${c.confirmed ? ', confirmed by a ' + confirmS + ' s hold' : ', not confirmed'}`;
    case 'at-least':
      return `**at least ${rate(c.sustainableRate)} req/s**: the search stopped (${c.stoppedBy}) before the objective failed${c.confirmed ? '; confirmed by a ' + confirmS + ' s hold' : ''}`;
    case 'none':
      return '**none**: the objective failed even at the lowest rate tried';
    case 'unconfirmed':
      return '**no rate confirmed**: every confirmation hold failed';
    default:
      return `**inconclusive**: no step could judge the system (${c.stoppedBy})`;
  }
}

/** The most throttled host of a step, or n/a when throttling was not measured. */
export function throttledCell(t: Throttling | null): string {
  const measured = Object.entries(t ?? {}).filter((e): e is [string, { throttledShare: number }] => e[1].throttledShare !== null);
  if (measured.length === 0) return 'n/a';
  const [host, v] = measured.sort((a, b) => b[1].throttledShare - a[1].throttledShare)[0]!;
  return `${host} ${(v.throttledShare * 100).toFixed(0)}%`;
}

/** A step's row: rate, achieved, p50, p99, errors (with dropped), verdict (and why, when inconclusive), most throttled host. */
function stepRow(s: CapacityStep): string {
  const cells = [
    s.index,
    s.phase,
    rate(s.rate),
    rate(s.achievedRate),
    ms(s.latencyMs.p50),
    ms(s.latencyMs.p99),
    s.errorRate === null ? 'n/a' : (s.errorRate * 100).toFixed(2) + '%',
    `${s.verdict.toUpperCase()}${s.verdict === 'inconclusive' ? ` (${s.reason})` : ''}`,
    throttledCell(s.throttling),
  ];
  return `| ${cells.map((c) => mdCell(c)).join(' | ')} |`;
}

/** The answer, saturation, knee, the search's extent, the steps as a table and the notes. */
export function capacityMarkdownLines(c: CapacityAnswer, confirmS: number): string[] {
  const s = c.saturatedFirst;
  const lines = [
    `Sustainable rate: ${capacityAnswerMarkdown(c, confirmS)}.`,
    s.host !== null
      ? `Saturated first: **${s.host}**, throttled at its CPU quota in ${(s.throttledShare * 100).toFixed(0)}% of its periods at ${rate(s.atRate)} req/s, the lowest rate that failed.`
      : `Saturated first: not found (${s.reason}).`,
    c.knee ? `Knee of the curve: ${rate(c.knee.rate)} req/s (p99 ${ms(c.knee.p99Ms)} ms).` : 'Knee of the curve: not found (too few firm steps, or no bend).',
    `Search: ${c.steps.length} steps in ${Math.round(c.elapsedMs / 1000)} s, stopped by ${c.stoppedBy}.`,
    '',
    '| step | phase | rate (req/s) | done (req/s) | p50 (ms) | p99 (ms) | errors | verdict | most throttled host |',
    '|---:|---|---:|---:|---:|---:|---:|---|---|',
    ...c.steps.map(stepRow),
    '',
  ];
  if (c.notes.length > 0) lines.push('Notes:', '', ...c.notes.map((n) => `- ${n}`), '');
  return lines;
}

// The objective a capacity search holds the system to: `--objective 'p99<250ms,errors<1%'`.
// Parsing is strict (one clear line per mistake) because a silently misread objective would make
// every number the search reports answer a different question from the one the user asked.
import { usageError } from '../errors.ts';

/** The latency percentiles an objective may bound. */
export const PERCENTILES = ['p50', 'p90', 'p95', 'p99', 'p999'] as const;
export type Percentile = (typeof PERCENTILES)[number];

export type Comparison = '<' | '<=';

/** A bound on one latency percentile, in milliseconds. */
export interface LatencyBound {
  kind: 'latency';
  percentile: Percentile;
  op: Comparison;
  limitMs: number;
  /** the clause as the user wrote it, for messages */
  text: string;
}

/** A bound on the error rate (failed + dropped requests over planned ones), as a ratio 0..1. */
export interface ErrorBound {
  kind: 'errors';
  op: Comparison;
  limitRatio: number;
  text: string;
}

export type Bound = LatencyBound | ErrorBound;

/** A parsed objective: every bound must hold for a step to pass. */
export interface Objective {
  bounds: Bound[];
  /** the objective in a normal form (`p99<250ms,errors<1%`), for reports */
  text: string;
}

/** What a step measured, as far as an objective cares. null = not measured (never 0). */
export interface StepFigures {
  /** latency percentiles in ms; a missing or null percentile was not measured */
  latencyMs: Partial<Record<Percentile, number | null>>;
  /** failed + dropped over planned requests, 0..1; null when nothing was planned */
  errorRate: number | null;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** One bound checked against a step. */
export interface BoundCheck {
  bound: Bound;
  /** ms for latency, a ratio for errors; null = not measured */
  measured: number | null;
  verdict: Verdict;
}

/** An objective checked against a step: the verdict and the check of every bound. */
export interface Evaluation {
  verdict: Verdict;
  checks: BoundCheck[];
  /** one line: which bounds failed or were unmeasured, or that all held */
  reason: string;
}

export const DEFAULT_OBJECTIVE = 'p99<250ms,errors<1%';

const EXAMPLE = `write it like --objective 'p99<250ms,errors<1%' (p50, p90, p95, p99, p999 in ms or s; errors in %; < or <=)`;

/** Parses `--objective`: comma-separated clauses, each `pNN<value(ms|s)` or `errors<value%`. */
export function parseObjective(raw: string, flag = '--objective'): Objective {
  const clauses = raw.split(',').map((c) => c.trim());
  if (raw.trim() === '' || clauses.some((c) => c === '')) {
    throw usageError(`${flag} ${JSON.stringify(raw)} has an empty clause`, EXAMPLE);
  }
  const bounds: Bound[] = [];
  const seen = new Set<string>();
  for (const clause of clauses) {
    const bound = parseClause(flag, clause);
    const key = bound.kind === 'latency' ? bound.percentile : 'errors';
    // Two bounds on the same figure are either redundant or contradictory; either way the user
    // meant something else, so say so rather than silently keeping the stricter one.
    if (seen.has(key)) throw usageError(`${flag} bounds ${key} twice`, `keep one clause for ${key}`);
    seen.add(key);
    bounds.push(bound);
  }
  return { bounds, text: bounds.map(formatBound).join(',') };
}

function parseClause(flag: string, clause: string): Bound {
  const m = /^([a-z0-9]+)\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?$/i.exec(clause);
  if (!m) {
    if (/[>=]/.test(clause) && !/<=?/.test(clause)) {
      throw usageError(`${flag} clause ${JSON.stringify(clause)} must be an upper bound`, `use < or <=, as in p99<250ms`);
    }
    throw usageError(`${flag} clause ${JSON.stringify(clause)} is not understood`, EXAMPLE);
  }
  const name = m[1]!.toLowerCase();
  const op = m[2] as Comparison;
  const value = Number(m[3]);
  const unit = m[4]?.toLowerCase();
  if (name === 'errors') {
    if (unit !== '%') throw usageError(`${flag} clause ${JSON.stringify(clause)} needs a % (errors<1%)`, EXAMPLE);
    if (value > 100) throw usageError(`${flag} clause ${JSON.stringify(clause)}: an error rate above 100% cannot occur`, `use a value from 0% to 100%`);
    if (op === '<' && value === 0) throw usageError(`${flag} clause ${JSON.stringify(clause)} can never hold`, `write errors<=0% for "no errors at all"`);
    return { kind: 'errors', op, limitRatio: value / 100, text: clause };
  }
  if (!(PERCENTILES as readonly string[]).includes(name)) {
    throw usageError(`${flag} clause ${JSON.stringify(clause)} bounds ${JSON.stringify(name)}, which is not a known figure`, `bound one of ${PERCENTILES.join(', ')} or errors`);
  }
  if (unit !== 'ms' && unit !== 's') throw usageError(`${flag} clause ${JSON.stringify(clause)} needs a unit (ms or s)`, `for example ${name}<250ms`);
  const limitMs = unit === 's' ? value * 1000 : value;
  if (limitMs <= 0) throw usageError(`${flag} clause ${JSON.stringify(clause)} can never hold`, `give a latency above 0`);
  return { kind: 'latency', percentile: name as Percentile, op, limitMs, text: clause };
}

function formatBound(b: Bound): string {
  return b.kind === 'latency' ? `${b.percentile}${b.op}${b.limitMs}ms` : `errors${b.op}${+(b.limitRatio * 100).toPrecision(12)}%`;
}

/**
 * Checks a step against the objective. A measured violation fails the step even when another
 * figure is unmeasured (the objective is broken whatever the missing figure was); otherwise an
 * unmeasured figure makes the step inconclusive — never a pass, since nothing shows it held.
 */
export function evaluateObjective(objective: Objective, figures: StepFigures): Evaluation {
  const checks: BoundCheck[] = objective.bounds.map((bound) => {
    const measured = bound.kind === 'latency' ? (figures.latencyMs[bound.percentile] ?? null) : figures.errorRate;
    if (measured === null || !Number.isFinite(measured)) return { bound, measured: null, verdict: 'inconclusive' };
    const limit = bound.kind === 'latency' ? bound.limitMs : bound.limitRatio;
    const holds = bound.op === '<' ? measured < limit : measured <= limit;
    return { bound, measured, verdict: holds ? 'pass' : 'fail' };
  });
  const failed = checks.filter((c) => c.verdict === 'fail');
  const unmeasured = checks.filter((c) => c.verdict === 'inconclusive');
  if (failed.length > 0) {
    return { verdict: 'fail', checks, reason: `failed ${failed.map(describeCheck).join(', ')}` };
  }
  if (unmeasured.length > 0) {
    return { verdict: 'inconclusive', checks, reason: `not measured: ${unmeasured.map((c) => boundName(c.bound)).join(', ')}` };
  }
  return { verdict: 'pass', checks, reason: `held ${objective.text}` };
}

function boundName(b: Bound): string {
  return b.kind === 'latency' ? b.percentile : 'errors';
}

function describeCheck(c: BoundCheck): string {
  const b = c.bound;
  if (b.kind === 'latency') return `${b.percentile} ${fmtNumber(c.measured!)}ms (objective ${b.op}${b.limitMs}ms)`;
  return `errors ${fmtNumber(c.measured! * 100)}% (objective ${b.op}${fmtNumber(b.limitRatio * 100)}%)`;
}

function fmtNumber(n: number): string {
  return String(+n.toPrecision(4));
}

// Checks the PromQL in dashboards and rules. Two layers: a light checker here (balanced
// brackets, closed strings, durations in range selectors, known functions, known metric names)
// that always runs, and promtool's real parser (through `promtool check rules`) when promtool is
// installed. Grafana's variables are replaced with plain values first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKnownMetric } from './metrics.ts';

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);
const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'day_of_month', 'day_of_week',
  'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'histogram_quantile', 'histogram_count', 'histogram_sum',
  'histogram_fraction', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'ln', 'log2', 'log10',
  'minute', 'month', 'predict_linear', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt', 'time', 'timestamp',
  'vector', 'year', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'quantile_over_time',
  'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'present_over_time',
]);
/** Keywords followed by a label list in parentheses: the names inside are labels, not metrics. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const OPERATOR_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/** Replaces Grafana's variables with values PromQL accepts: intervals with 1m, others with .* ($1 in label_replace is left alone) */
export function fromGrafana(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '1m')
    .replace(/\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)/g, '.*');
}

interface Token {
  kind: 'ident' | 'number' | 'string' | 'punct' | 'duration';
  text: string;
  at: number;
}

function tokenize(expr: string, problems: string[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += c !== '`' && expr[j] === '\\' ? 2 : 1;
      if (j >= expr.length) {
        problems.push(`unterminated string at ${i}`);
        return out;
      }
      out.push({ kind: 'string', text: expr.slice(i, j + 1), at: i });
      i = j + 1;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(\d+(ms|[smhdwy]))+|^(\d*\.\d+|\d+)(e[+-]?\d+)?/i.exec(expr.slice(i))!;
      const text = m ? m[0] : c;
      out.push({ kind: /[smhdwy]$/.test(text) && /^\d/.test(text) && !/e/i.test(text) ? 'duration' : 'number', text, at: i });
      i += Math.max(1, text.length);
    } else if (/[A-Za-z_:]/.test(c)) {
      const m = /^[A-Za-z_:][\w:]*/.exec(expr.slice(i))!;
      out.push({ kind: 'ident', text: m[0], at: i });
      i += m[0].length;
    } else if ('(){}[],'.includes(c)) {
      out.push({ kind: 'punct', text: c, at: i });
      i++;
    } else if (/[-+*/%^=!<>~]/.test(c)) {
      const m = /^(==|!=|<=|>=|=~|!~|[-+*/%^=<>])/.exec(expr.slice(i));
      if (!m) {
        problems.push(`unexpected '${c}' at ${i}`);
        i++;
      } else {
        out.push({ kind: 'punct', text: m[0], at: i });
        i += m[0].length;
      }
    } else {
      problems.push(`unexpected '${c}' at ${i}`);
      i++;
    }
  }
  return out;
}

/** What checkExpr found. */
export interface ExprCheck {
  problems: string[];
  /** metric names the expression selects */
  metrics: string[];
}

interface Scan {
  problems: string[];
  /** the tokens that name a metric (a series selector), in order */
  metricTokens: Token[];
  tokens: Token[];
}

/** Walks an expression: structure problems, and which identifiers select metrics. */
function scan(expr: string): Scan {
  const problems: string[] = [];
  const metricTokens: Token[] = [];
  const tokens = tokenize(expr, problems);
  const stack: Token[] = [];
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const next = tokens[k + 1];
    const inBraces = stack.some((s) => s.text === '{');
    if (t.kind === 'punct' && '({['.includes(t.text)) {
      stack.push(t);
      if (t.text === '[') {
        // A range or subquery: [5m] or [5m:1m]
        const d = tokens[k + 1];
        if (!d || d.kind !== 'duration') problems.push(`range at ${t.at} needs a duration, e.g. [5m]`);
      }
    } else if (t.kind === 'punct' && ')}]'.includes(t.text)) {
      const open = stack.pop();
      if (!open || open.text !== pairs[t.text]) problems.push(`unbalanced '${t.text}' at ${t.at}`);
    } else if (t.kind === 'ident' && !inBraces && !stack.some((s) => s.text === '[')) {
      if (AGGREGATIONS.has(t.text) && (next?.text === 'by' || next?.text === 'without')) continue;
      if (LABEL_LIST_KEYWORDS.has(t.text)) {
        // A label list: ( [name {, name}] )
        if (next?.text !== '(') {
          problems.push(`'${t.text}' at ${t.at} needs a label list in parentheses`);
          continue;
        }
        let j = k + 2;
        while (j < tokens.length && tokens[j]!.kind === 'ident' && (tokens[j + 1]?.text === ',' || tokens[j + 1]?.text === ')')) {
          j += tokens[j + 1]!.text === ',' ? 2 : 1;
        }
        if (tokens[j]?.text !== ')') {
          problems.push(`label list after '${t.text}' at ${t.at} must hold only label names`);
          continue;
        }
        k = j;
        continue;
      }
      if (OPERATOR_WORDS.has(t.text.toLowerCase())) continue;
      if (next?.text === '(') {
        if (!AGGREGATIONS.has(t.text) && !FUNCTIONS.has(t.text)) problems.push(`unknown function ${t.text} at ${t.at}`);
        continue;
      }
      metricTokens.push(t);
    } else if (t.kind === 'ident' && inBraces) {
      // Inside a selector: label name, matcher, value.
      const op = tokens[k + 1];
      const value = tokens[k + 2];
      if (!op || !['=', '!=', '=~', '!~'].includes(op.text) || !value || value.kind !== 'string') {
        problems.push(`bad label matcher at ${t.at}`);
      } else {
        k += 2;
      }
    }
  }
  for (const open of stack) problems.push(`unclosed '${open.text}' at ${open.at}`);
  return { problems, metricTokens, tokens };
}

/** The light check: structure, functions and metric names. An empty `problems` means it looks sound. */
export function checkExpr(raw: string): ExprCheck {
  const expr = fromGrafana(raw);
  if (expr.trim() === '') return { problems: ['empty expression'], metrics: [] };
  const { problems, metricTokens } = scan(expr);
  const metrics = metricTokens.map((t) => t.text);
  for (const m of metrics) {
    if (!isKnownMetric(m)) problems.push(`unknown metric ${m} (add it to dashboards/metrics.ts if it is real)`);
  }
  return { problems, metrics };
}

/**
 * Adds a label matcher to every series selector of an expression:
 * addMatcher('rate(x{a="1"}[5m]) / y', 'run=~"$run"') -> 'rate(x{run=~"$run", a="1"}[5m]) / y{run=~"$run"}'.
 */
export function addMatcher(expr: string, matcher: string): string {
  const { metricTokens, tokens } = scan(expr);
  const edits: Array<{ at: number; text: string }> = [];
  for (const t of metricTokens) {
    const i = tokens.indexOf(t);
    const next = tokens[i + 1];
    if (next?.text === '{') {
      const empty = tokens[i + 2]?.text === '}';
      edits.push({ at: next.at + 1, text: empty ? matcher : `${matcher}, ` });
    } else {
      edits.push({ at: t.at + t.text.length, text: `{${matcher}}` });
    }
  }
  let out = expr;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

/** True when promtool is on the PATH. */
export function havePromtool(): boolean {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}

/**
 * Parses expressions with promtool's real PromQL parser by checking them as recording rules.
 * Returns null when promtool is missing, else promtool's verdict and output.
 */
export function promtoolCheckExprs(exprs: readonly string[]): { ok: boolean; output: string } | null {
  if (!havePromtool()) return null;
  const dir = mkdtempSync(join(tmpdir(), 'bench-promql-'));
  try {
    const file = join(dir, 'exprs.rules.yml');
    // JSON strings are valid YAML double-quoted scalars: no escaping rules of our own.
    const rules = exprs.map((e, i) => `      - record: bench_check:expr_${i}\n        expr: ${JSON.stringify(fromGrafana(e))}`).join('\n');
    writeFileSync(file, `groups:\n  - name: dashboard-expressions\n    rules:\n${rules}\n`);
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

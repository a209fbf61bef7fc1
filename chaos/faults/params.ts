// Fault parameters: declared by each fault kind, parsed from the schedule's text ("200ms",
// "64KB", "jitter=50ms") or given as values by a drill, and normalised to one unit per type.
import { BenchError } from '../../harness/errors.ts';

/**
 * Parameter types and the unit their parsed value is in:
 * duration -> ms, bytes -> bytes, rate -> KB/s (1 KB = 1000 bytes, Toxiproxy's unit),
 * fraction -> 0..1, int -> integer, stream -> 'upstream' | 'downstream' | 'both', bool -> boolean.
 */
export type ParamType = 'duration' | 'bytes' | 'rate' | 'fraction' | 'int' | 'stream' | 'bool';

export interface ParamSpec {
  name: string;
  type: ParamType;
  /** the default, already in the parsed unit */
  default: number | string | boolean;
  description: string;
}

export type ParamValues = Record<string, number | string | boolean>;

/** What a schedule entry or a drill passes: raw text values, or values already in the unit. */
export type RawParams = Array<string> | Record<string, string | number | boolean>;

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses "200ms", "1.5s", "2m", "1m30s" into milliseconds. A bare number is allowed only when
 * `bareUnit` says what it means (schedule times: seconds); null when the text is not a duration.
 */
export function parseDurationMs(text: string, bareUnit: 'ms' | 's' | null = null): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return bareUnit === null ? null : Number(t) * DURATION_MS[bareUnit]!;
  if (t === '') return null;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(t);
    if (!m || m.index !== pos) return null;
    total += Number(m[1]) * DURATION_MS[m[2]!]!;
    pos = DURATION_PART.lastIndex;
  }
  return total;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1_048_576, gb: 1e9 };

/** Parses "512", "64KB", "1MiB" into bytes; null when malformed. */
export function parseBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!m) return null;
  const unit = (m[2] || 'b').toLowerCase();
  const factor = BYTE_UNITS[unit];
  return factor === undefined ? null : Math.round(Number(m[1]) * factor);
}

/** Parses "100KB/s", "2MB/s", "500kb" (per second implied) into KB/s; null when malformed. */
export function parseRateKBps(text: string): number | null {
  const t = text.trim().replace(/\/s$/i, '');
  if (/^\d+(\.\d+)?$/.test(t)) return null; // a unit is required: 100 what?
  const bytes = parseBytes(t);
  return bytes === null ? null : bytes / 1000;
}

function parseOne(spec: ParamSpec, raw: string | number | boolean, fault: string): number | string | boolean {
  const bad = (expected: string) =>
    new BenchError('usage', `fault ${fault}: ${spec.name}=${String(raw)} is not ${expected}`, `${spec.name}: ${spec.description}`);
  switch (spec.type) {
    case 'duration': {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDurationMs(raw) : null;
      if (v === null || !(v >= 0)) throw bad('a duration with a unit (200ms, 2s, 1m)');
      return v;
    }
    case 'bytes': {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseBytes(raw) : null;
      if (v === null || !(v >= 0)) throw bad('a size (512, 64KB, 1MB)');
      return Math.round(v);
    }
    case 'rate': {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseRateKBps(raw) : null;
      if (v === null || !(v > 0)) throw bad('a positive rate with a unit (100KB/s, 2MB/s)');
      return v;
    }
    case 'fraction': {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.endsWith('%') ? Number(raw.slice(0, -1)) / 100 : raw) : NaN;
      if (!(v >= 0 && v <= 1)) throw bad('a fraction between 0 and 1 (0.5 or 50%)');
      return v;
    }
    case 'int': {
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(v) || v < 0) throw bad('a non-negative integer');
      return v;
    }
    case 'stream': {
      const v = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      const map: Record<string, string> = { up: 'upstream', upstream: 'upstream', down: 'downstream', downstream: 'downstream', both: 'both' };
      if (!map[v]) throw bad('a stream (upstream, downstream or both)');
      return map[v]!;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const v = String(raw).trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return true;
      if (['false', 'no', 'off', '0'].includes(v)) return false;
      throw bad('true or false');
    }
  }
}

/**
 * Fills every declared parameter: positional values first (in declared order), then `name=value`
 * pairs, then defaults. Throws BenchError('usage') on an unknown name, a duplicate, or a bad value.
 */
export function parseParams(fault: string, specs: readonly ParamSpec[], raw: RawParams = []): ParamValues {
  const given = new Map<string, string | number | boolean>();
  const known = specs.map((s) => s.name).join(', ') || 'none';
  const put = (name: string, value: string | number | boolean) => {
    if (!specs.some((s) => s.name === name)) {
      throw new BenchError('usage', `fault ${fault} has no parameter ${name}`, `its parameters: ${known}`);
    }
    if (given.has(name)) throw new BenchError('usage', `fault ${fault}: parameter ${name} given twice`, 'give each parameter once');
    given.set(name, value);
  };
  if (Array.isArray(raw)) {
    let position = 0;
    for (const item of raw) {
      const eq = item.indexOf('=');
      if (eq > 0) {
        put(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
      } else {
        const spec = specs[position++];
        if (!spec) {
          throw new BenchError('usage', `fault ${fault}: too many parameters (${raw.join(':')})`, `its parameters, in order: ${known}`);
        }
        put(spec.name, item.trim());
      }
    }
  } else {
    for (const [k, v] of Object.entries(raw)) put(k, v);
  }
  const out: ParamValues = {};
  for (const spec of specs) {
    const v = given.get(spec.name);
    out[spec.name] = v === undefined ? spec.default : parseOne(spec, v, fault);
  }
  return out;
}

/** "latency=200ms jitter=0ms" style text for a parameter list, in the schedule's units. */
export function formatParam(spec: ParamSpec, value: number | string | boolean): string {
  if (typeof value !== 'number') return String(value);
  switch (spec.type) {
    case 'duration':
      return value % 1000 === 0 && value >= 1000 ? `${value / 1000}s` : `${value}ms`;
    case 'bytes':
      return `${value}B`;
    case 'rate':
      return `${value}KB/s`;
    default:
      return String(value);
  }
}

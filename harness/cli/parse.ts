// Parsers for flag values. Each throws a usage BenchError whose message names the flag, the bad
// value and an example of a good one, so a typo costs one line, not a stack trace.
import { usageError } from '../errors.ts';

const SUFFIX: Record<string, number> = { k: 1e3, K: 1e3, m: 1e6, M: 1e6, b: 1e9, B: 1e9, g: 1e9, G: 1e9 };

/** A count of users: 1e6, 1000000, 1_000_000, 1,000,000, 1M, 2.5k. */
export function parseCount(flag: string, raw: string, { min = 1, max = 1e12 } = {}): number {
  const text = raw.trim().replace(/[_,]/g, '');
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmMbBgG]?)$/.exec(text);
  const value = m ? Number(m[1]) * (m[2] ? SUFFIX[m[2]]! : 1) : Number.NaN;
  if (!Number.isFinite(value) || !Number.isInteger(value)) {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a whole number`, `write it like 1e6, 1000000, 1_000_000 or 1M`);
  }
  if (value < min || value > max) {
    throw usageError(`${flag} ${raw} is out of range`, `use a value from ${fmt(min)} to ${fmt(max)}`);
  }
  return value;
}

/** An integer flag with bounds: --app-servers 3, --replicas 0. */
export function parseInteger(flag: string, raw: string, { min = 0, max = 1_000_000 } = {}): number {
  const text = raw.trim();
  if (!/^-?\d+$/.test(text)) throw usageError(`${flag} ${JSON.stringify(raw)} is not a whole number`, `for example ${flag} ${Math.max(min, 1)}`);
  const value = Number(text);
  if (value < min || value > max) throw usageError(`${flag} ${raw} is out of range`, `use a value from ${min} to ${max}`);
  return value;
}

/** A positive number with an optional unit suffix: --rate 250, --rate 1.5k. */
export function parseRate(flag: string, raw: string): number {
  const text = raw.trim().replace(/[_,]/g, '').replace(/\/s$/, '');
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(text);
  const value = m ? Number(m[1]) * (m[2] ? SUFFIX[m[2]]! : 1) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0) {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a positive rate`, `write requests per second, like ${flag} 200 or ${flag} 1.5k`);
  }
  if (value > 1e6) throw usageError(`${flag} ${raw} is more than one machine can drive`, `use at most 1M requests per second`);
  return value;
}

/** A duration: 90 (seconds), 30s, 2m, 1h, 1m30s. Returns seconds. */
export function parseDuration(flag: string, raw: string, { min = 1, max = 24 * 3600 } = {}): number {
  const text = raw.trim();
  let seconds: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    seconds = Number(text);
  } else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
    seconds = 0;
    for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
      const n = Number(part[1]);
      seconds += part[2] === 'ms' ? n / 1000 : part[2] === 's' ? n : part[2] === 'm' ? n * 60 : n * 3600;
    }
  } else {
    throw usageError(`${flag} ${JSON.stringify(raw)} is not a duration`, `write it like 30s, 2m, 1m30s or a number of seconds`);
  }
  if (seconds < min || seconds > max) {
    throw usageError(`${flag} ${raw} is out of range`, `use a duration from ${min}s to ${max}s`);
  }
  return seconds;
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw usageError(`${flag} ${JSON.stringify(raw)} is not one of ${choices.join(', ')}`, `for example ${flag} ${choices[0]}`);
}

function fmt(n: number): string {
  return n >= 1e9 ? `${n / 1e9}B` : n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}

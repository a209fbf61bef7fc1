// Reads a results.json back: the one door through which `bench report` and `bench compare` get
// their input. Every failure is one line naming the file and what is wrong with it.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { BenchError } from '../harness/errors.ts';
import { Results, SCHEMA_VERSION } from './schema.ts';

/** The file name of a run's results inside its run directory. */
export const RESULTS_FILE = 'results.json';

/**
 * Reads and validates a results.json. `path` may also be a run directory (its results.json is
 * read). Throws BenchError('usage') with one line: missing file, not JSON, another schema
 * version, or the first invalid fields by path.
 */
export async function readResults(path: string): Promise<Results> {
  const file = await resolveFile(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BenchError('usage', `cannot read ${file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return parseResults(text, file);
}

/** Validates results.json text; `file` names it in messages. Exported for callers holding text. */
export function parseResults(text: string, file = RESULTS_FILE): Results {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BenchError(
      'usage',
      `${file} is not valid JSON (${firstLine((err as Error).message)})`,
      'it may be truncated: render it again from the run, or point at another results.json',
      { cause: err },
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new BenchError('usage', `${file} does not hold a JSON object`, 'point at the results.json a bench run wrote');
  }
  const version = (data as Record<string, unknown>).schemaVersion;
  if (version === undefined) {
    throw new BenchError('usage', `${file} has no schemaVersion`, 'it was not written by bench: point at a run\'s results.json');
  }
  if (version !== SCHEMA_VERSION) {
    throw new BenchError(
      'usage',
      `${file} has schemaVersion ${JSON.stringify(version)}, this bench reads ${SCHEMA_VERSION}`,
      're-render with the bench that wrote it',
    );
  }
  const parsed = Results.safeParse(data);
  if (!parsed.success) {
    throw new BenchError('usage', `${file} is invalid: ${describeIssues(parsed.error.issues)}`, 'fix or regenerate the file');
  }
  return parsed.data;
}

/** The first few schema issues as "field.path: what is wrong; ...", for a one-line message. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], max = 3): string {
  const parts = issues.slice(0, max).map((i) => `${formatPath(i.path)}: ${describeIssue(i)}`);
  const more = issues.length > max ? ` (and ${issues.length - max} more)` : '';
  return parts.join('; ') + more;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (/received undefined$/.test(issue.message)) return `missing (expected ${issue.expected})`;
    return issue.message.replace(/^Invalid input: /, '');
  }
  return issue.message.replace(/^Invalid (input|option): /, '');
}

/** ["load", "endpoints", "GET /x", "latencyMs"] -> load.endpoints["GET /x"].latencyMs */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

async function resolveFile(path: string): Promise<string> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) {
      const inside = join(path, RESULTS_FILE);
      try {
        await stat(inside);
      } catch {
        throw new BenchError('usage', `${path} has no ${RESULTS_FILE}`, 'point at a run directory that finished, or at a results.json');
      }
      return inside;
    }
    return path;
  } catch (err) {
    if (err instanceof BenchError) throw err;
    throw new BenchError('usage', `results file not found: ${path}`, 'check the path, or run `bench run` to produce one', {
      cause: err,
    });
  }
}

const firstLine = (s: string) => s.split('\n')[0]!;

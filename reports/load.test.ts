import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from '../harness/errors.ts';
import { readResults, parseResults, formatPath } from './load.ts';
import { buildResults } from './testing/fixture.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bench-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeJson(name: string, data: unknown): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
}

/** Runs fn, expects a usage BenchError, returns its one-line text. */
async function usageError(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BenchError);
    const e = err as BenchError;
    expect(e.code).toBe('usage');
    expect(e.oneLine()).not.toContain('\n');
    return e.oneLine();
  }
  throw new Error('expected a BenchError');
}

describe('readResults', () => {
  it('reads back a valid results.json, and a run directory holding one', async () => {
    const r = buildResults();
    const p = await writeJson('ok.json', r);
    expect(await readResults(p)).toEqual(r);
    const runDir = join(dir, 'run-a');
    await mkdir(runDir);
    await writeFile(join(runDir, 'results.json'), JSON.stringify(r));
    expect((await readResults(runDir)).runId).toBe(r.runId);
  });

  it('fills the prometheus default when an older writer left it out', async () => {
    const r = buildResults() as Record<string, unknown>;
    delete r.prometheus;
    const back = await readResults(await writeJson('noprom.json', r));
    expect(back.prometheus).toEqual({});
  });

  it('says when the file is missing', async () => {
    const msg = await usageError(() => readResults(join(dir, 'nope.json')));
    expect(msg).toMatch(/^results file not found: .*nope\.json — /);
  });

  it('says when a run directory has no results.json', async () => {
    const empty = join(dir, 'empty-run');
    await mkdir(empty);
    expect(await usageError(() => readResults(empty))).toMatch(/empty-run has no results\.json/);
  });

  it('says when the file is not JSON', async () => {
    const p = await writeJson('trunc.json', '{"schemaVersion": 1, "runId": ');
    expect(await usageError(() => readResults(p))).toMatch(/trunc\.json is not valid JSON \(.+\) — /);
  });

  it('says when the JSON is not an object', async () => {
    const p = await writeJson('array.json', '[1,2]');
    expect(await usageError(() => readResults(p))).toMatch(/array\.json does not hold a JSON object/);
  });

  it('refuses another schema version with the re-render hint', async () => {
    const r = { ...buildResults(), schemaVersion: 2 };
    const p = await writeJson('v2.json', r);
    expect(await usageError(() => readResults(p))).toBe(
      `${p} has schemaVersion 2, this bench reads 1 — re-render with the bench that wrote it`,
    );
  });

  it('says when there is no schema version at all', async () => {
    const r = buildResults() as Record<string, unknown>;
    delete r.schemaVersion;
    const p = await writeJson('nov.json', r);
    expect(await usageError(() => readResults(p))).toMatch(/nov\.json has no schemaVersion/);
  });

  it('names the path of a missing field', async () => {
    const r = buildResults();
    delete (r.load.latencyMs as Partial<typeof r.load.latencyMs>).p99;
    const msg = await usageError(() => readResults(writeJsonSync('missing.json', r)));
    expect(msg).toMatch(/missing\.json is invalid: load\.latencyMs\.p99: missing \(expected number\)/);
  });

  it('names the path of a field of the wrong type, quoting keys that are not identifiers', async () => {
    const r = buildResults() as unknown as { runId: unknown; load: { endpoints: Record<string, { requests: unknown }> } };
    r.load.endpoints['GET /api/users/:id']!.requests = 'many';
    const msg = await usageError(() => readResults(writeJsonSync('badtype.json', r)));
    expect(msg).toContain('load.endpoints["GET /api/users/:id"].requests: expected number, received string');
  });

  it('lists the first three problems and counts the rest', async () => {
    const r = buildResults() as unknown as Record<string, unknown>;
    delete r.runId;
    delete r.startedAt;
    delete r.finishedAt;
    delete r.verdict;
    delete r.notes;
    const msg = await usageError(() => readResults(writeJsonSync('many.json', r)));
    expect(msg).toMatch(/runId: missing.*; startedAt: missing.*; finishedAt: missing.* \(and 2 more\)/);
  });

  it('rejects a bad enum value with the allowed options', () => {
    const r = { ...buildResults(), verdict: 'maybe' };
    expect(() => parseResults(JSON.stringify(r), 'x.json')).toThrow(/x\.json is invalid: verdict: expected one of "pass"\|"fail"/);
  });
});

describe('formatPath', () => {
  it('writes identifiers with dots, indexes and odd keys in brackets', () => {
    expect(formatPath(['load', 'series', 3, 'p99'])).toBe('load.series[3].p99');
    expect(formatPath(['tiers', 'lb', 'app-1 share'])).toBe('tiers.lb["app-1 share"]');
    expect(formatPath([])).toBe('(top level)');
  });
});

// Files written synchronously inside an async arrow keep the test bodies short.
function writeJsonSync(name: string, data: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(data));
  return p;
}

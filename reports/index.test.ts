import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from '../harness/errors.ts';
import { readResults, writeReports, writeAtomic } from './index.ts';
import { buildResults } from './testing/fixture.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bench-reports-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeReports', () => {
  it('writes the four files into a new run directory, results.json reading back the same', async () => {
    const runDir = join(dir, 'runs', 'r1');
    const r = buildResults();
    const paths = await writeReports(runDir, r);
    expect(paths).toEqual({
      json: join(runDir, 'results.json'),
      html: join(runDir, 'report.html'),
      markdown: join(runDir, 'summary.md'),
      junit: join(runDir, 'junit.xml'),
    });
    expect((await readdir(runDir)).sort()).toEqual(['junit.xml', 'report.html', 'results.json', 'summary.md']);
    expect(await readResults(runDir)).toEqual(r);
    expect(await readFile(paths.markdown, 'utf8')).toMatch(/^### ❌ bench phase 3/);
    expect(await readFile(paths.junit, 'utf8')).toMatch(/^<\?xml version="1.0"/);
    expect(await readFile(paths.html, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('replaces earlier reports and leaves no temp files', async () => {
    const runDir = join(dir, 'r2');
    await writeReports(runDir, buildResults());
    const r = buildResults({ fault: null });
    await writeReports(runDir, r);
    expect((await readdir(runDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await readResults(runDir)).verdict).toBe('pass');
  });

  it('refuses results that break the schema, keeping them as results.invalid.json', async () => {
    const runDir = join(dir, 'r3');
    const r = buildResults();
    r.load.totals.errorRate = NaN;
    const err = await writeReports(runDir, r).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('internal');
    expect((err as BenchError).message).toContain('load.totals.errorRate: expected number, received NaN');
    expect(await readdir(runDir)).toEqual(['results.invalid.json']);
  });
});

describe('writeAtomic', () => {
  it('never leaves the target half-written when the write fails', async () => {
    const target = join(dir, 'keep.txt');
    await writeFile(target, 'old');
    // A write into a missing directory fails before anything is renamed.
    await expect(writeAtomic(join(dir, 'missing-dir', 'x.txt'), 'new')).rejects.toThrow();
    await writeAtomic(target, 'new');
    expect(await readFile(target, 'utf8')).toBe('new');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

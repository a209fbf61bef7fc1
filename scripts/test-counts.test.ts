// scripts/test-counts.js against crafted vitest JSON reports (the shapes vitest 4 writes, checked
// against real runs with a hook that throws, an unhandled error and skipped tests): the closing
// line and the exit code, passing and failing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = new URL('./test-counts.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'test-counts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Assertion {
  title: string;
  ancestorTitles?: string[];
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
}
interface FileResult {
  name: string;
  status: 'passed' | 'failed';
  message?: string;
  assertionResults: Assertion[];
}

/** A vitest JSON report whose totals agree with its files, as vitest writes them. */
function report(files: FileResult[], success?: boolean) {
  const all = files.flatMap((f) => f.assertionResults);
  const n = (s: string) => all.filter((a) => a.status === s).length;
  const failedFiles = files.filter((f) => f.status === 'failed').length;
  return {
    numTotalTests: all.length,
    numPassedTests: n('passed'),
    numFailedTests: n('failed'),
    numPendingTests: n('skipped') + n('pending'),
    numTodoTests: n('todo'),
    numFailedTestSuites: failedFiles,
    success: success ?? (failedFiles === 0 && n('failed') === 0),
    testResults: files.map((f) => ({ ...f, assertionResults: f.assertionResults.map((a) => ({ ancestorTitles: [], fullName: [...(a.ancestorTitles ?? []), a.title].join(' '), ...a })) })),
  };
}

let seq = 0;
function counts(rep: unknown, o: { checks?: [number, number]; extras?: unknown; ci?: boolean; noReport?: boolean } = {}) {
  const file = join(dir, `r${++seq}.json`);
  if (!o.noReport) writeFileSync(file, JSON.stringify(rep));
  const args = [SCRIPT, file, String(o.checks?.[0] ?? 0), String(o.checks?.[1] ?? 0)];
  if (o.extras !== undefined) {
    const extras = join(dir, `e${seq}.json`);
    writeFileSync(extras, JSON.stringify(o.extras));
    args.push(extras);
  }
  const env = { ...process.env };
  delete env.CI;
  if (o.ci) env.CI = 'true';
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  return { line: r.stdout.trim().split('\n').pop(), code: r.status, stderr: r.stderr };
}

const pass = (title: string, ancestorTitles: string[] = []): Assertion => ({ title, ancestorTitles, status: 'passed' });
const skip = (title: string, ancestorTitles: string[] = []): Assertion => ({ title, ancestorTitles, status: 'skipped' });
const noExtras = { unhandledErrors: 0, errors: [], skipped: [] };

describe('test-counts.js', () => {
  it('a clean run passes, with the type-checks counted and the skipped shown', () => {
    const rep = report([{ name: '/a.test.ts', status: 'passed', assertionResults: [pass('x'), pass('y'), skip('z')] }]);
    expect(counts(rep, { checks: [2, 0], extras: noExtras })).toMatchObject({ line: '4 passed, 0 failed, 1 skipped', code: 0 });
  });

  it('a failed test and a failed type-check fail the run', () => {
    const rep = report([{ name: '/a.test.ts', status: 'failed', assertionResults: [pass('x'), { title: 'y', status: 'failed' }] }]);
    expect(counts(rep, { checks: [1, 1], extras: noExtras })).toMatchObject({ line: '2 passed, 2 failed, 0 skipped', code: 1 });
  });

  it('a file whose beforeAll threw (its tests skipped) or whose afterAll threw (its tests passed) counts as failed', () => {
    const rep = report([
      { name: '/before.test.ts', status: 'failed', assertionResults: [skip('t1', ['ba'])] },
      { name: '/after.test.ts', status: 'failed', assertionResults: [pass('t1', ['aa'])] },
      { name: '/ok.test.ts', status: 'passed', assertionResults: [pass('t')] },
    ]);
    const r = counts(rep, { extras: noExtras });
    expect(r).toMatchObject({ line: '2 passed, 2 failed, 1 skipped', code: 1 });
    expect(r.stderr).toMatch(/before\.test\.ts: failed outside any test/);
    // in CI the beforeAll file's skipped test is not counted a second time
    expect(counts(rep, { extras: noExtras, ci: true })).toMatchObject({ line: '2 passed, 2 failed, 1 skipped', code: 1 });
  });

  it('a file that did not load (no test at all) counts as failed', () => {
    const rep = report([{ name: '/broken.test.ts', status: 'failed', message: 'SyntaxError: x', assertionResults: [] }]);
    expect(counts(rep, { checks: [2, 0], extras: noExtras })).toMatchObject({ line: '2 passed, 1 failed, 0 skipped', code: 1 });
  });

  it('unhandled errors count as failed, each; without the extras, a run vitest calls failed counts one', () => {
    const rep = report([{ name: '/a.test.ts', status: 'passed', assertionResults: [pass('x')] }], false);
    const r = counts(rep, { extras: { unhandledErrors: 2, errors: ['boom', 'bang'], skipped: [] } });
    expect(r).toMatchObject({ line: '1 passed, 2 failed, 0 skipped', code: 1 });
    expect(r.stderr).toMatch(/unhandled error: boom/);
    expect(counts(rep)).toMatchObject({ line: '1 passed, 1 failed, 0 skipped', code: 1 });
  });

  it('with CI=true a skipped test fails the run unless the allow-list names what it lacks (a k6 binary)', () => {
    const rep = report([
      { name: '/k6.int.test.ts', status: 'passed', assertionResults: [skip('sends the mix', ['k6 driver (skipped: no k6 binary on PATH)'])] },
      { name: '/docker.int.test.ts', status: 'passed', assertionResults: [pass('x'), skip('phase 3')] },
      { name: '/noted.test.ts', status: 'passed', assertionResults: [skip('runtime skip')] },
    ]);
    const extras = { unhandledErrors: 0, errors: [], skipped: [{ file: '/noted.test.ts', name: 'runtime skip', note: 'no k6 binary' }] };
    // outside CI a skip is only shown
    expect(counts(rep, { extras })).toMatchObject({ line: '1 passed, 0 failed, 3 skipped', code: 0 });
    const ci = counts(rep, { extras, ci: true });
    // the k6 ones are allowed (by the describe's title, and by ctx.skip's note); docker's is not
    expect(ci).toMatchObject({ line: '1 passed, 1 failed, 3 skipped', code: 1 });
    expect(ci.stderr).toMatch(/skipped in CI: phase 3/);
    expect(ci.stderr).not.toMatch(/sends the mix|runtime skip/);
  });

  it('no report (vitest could not start) or no test run at all fails', () => {
    expect(counts(null, { noReport: true, checks: [2, 0] })).toMatchObject({ line: '0 passed, 1 failed, 0 skipped', code: 1 });
    expect(counts(report([]), { extras: noExtras })).toMatchObject({ line: '0 passed, 0 failed, 0 skipped', code: 1 });
  });
});

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkExpr, havePromtool } from './promql.ts';
import { RECORDED_METRICS } from './metrics.ts';

const RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'rules');
const rulesText = readFileSync(join(RULES_DIR, 'bench.rules.yml'), 'utf8');
const promtool = havePromtool();
const why = promtool ? '' : ' — SKIPPED: promtool not found (apt-get install prometheus)';

const run = (...args: string[]) => spawnSync('promtool', args, { cwd: RULES_DIR, encoding: 'utf8', timeout: 60_000 });

describe('dashboards/rules/bench.rules.yml', () => {
  it.skipIf(!promtool)(`passes promtool check rules${why}`, () => {
    const r = run('check', 'rules', 'bench.rules.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 15 rules found/);
  });

  it.skipIf(!promtool)(`passes its unit tests (promtool test rules)${why}`, () => {
    const r = run('test', 'rules', 'bench.rules.test.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('uses only known metrics, and records what metrics.ts says it records', () => {
    const exprs = [...rulesText.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
    expect(exprs.length).toBe(15);
    for (const e of exprs) expect(checkExpr(e).problems, e).toEqual([]);
    const recorded = [...rulesText.matchAll(/^\s+- record: (\S+)$/gm)].map((m) => m[1]);
    expect(recorded).toEqual([...RECORDED_METRICS]);
  });
});

// bench capacity end to end on the real servers of phase 2 (app + PostgreSQL), with short steps:
// one deployment, a search that grows, bisects and confirms, capacity.json and summary.md that
// agree with the objective, nothing left running; and a negative control whose objective no
// system can hold, which must end without a sustainable rate and exit 1.
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBench, usePrivateRoots } from '../testing/cli.ts';
import { listRuns } from '../runtime/state.ts';
import { processesMentioning } from '../runtime/testing/run-helpers.ts';
import { evaluateObjective, parseObjective } from './objective.ts';
import type { CapacityJson } from './run.ts';
import { readResults } from '../../reports/load.ts';

// a private state root: nothing here can touch another engineer's runs
const roots = usePrivateRoots('b-cap');

const bench = (args: string[]) => runBench(args);

const common = ['--phase', '2', '--users', '1000', '--no-prometheus', '--settle', '1s', '--hold', '3s'];

describe('bench capacity --phase 2', () => {
  it('searches (and confirms unless a budget ran out), writes capacity.json and summary.md, and tears down', async () => {
    const out = join(roots.outRoot(), 'search');
    const maxTimeS = 50;
    const got = await bench(['capacity', ...common, '--warmup', '2s', '--confirm', '4s', '--start-rate', '40', '--resolution', '20%', '--max-time', `${maxTimeS}s`, '--out', out]);
    const json = JSON.parse(await readFile(join(out, 'capacity.json'), 'utf8')) as CapacityJson;
    const c = json.capacity;
    expect(got.err).toMatch(/deploying phase 2/);
    expect(got.err.match(/deploying phase/g)).toHaveLength(1); // deployed once for every step
    expect(got.err).toMatch(/step 1 \(grow\): 40 req\/s -> (PASS|FAIL|INCONCLUSIVE)/); // live progress
    // warmed up once, after the deployment, at the start rate; each step only settles
    expect(got.err.match(/warm-up: 2s/g)).toHaveLength(1);
    expect(json.warmup).toMatchObject({ rate: 40 });
    expect(json.warmup!.requests).toBeGreaterThan(0);

    expect(['found', 'at-least']).toContain(c.outcome);
    expect(got.code).toBe(0);
    expect(c.sustainableRate).toBeGreaterThan(0);
    expect(c.elapsedMs).toBeLessThanOrEqual(maxTimeS * 1000);
    expect(c.steps.length).toBeGreaterThanOrEqual(2);
    // every step measured the real system: requests completed, figures recorded
    for (const s of c.steps) {
      expect(s.requests).toBeGreaterThan(0);
      expect(s.sizesEnforced).toBe(true);
      expect(s.latencyMs.p99).toBeGreaterThan(0);
      if (s.verdict !== 'inconclusive') {
        // the verdict is the objective's on the recorded figures: the file can be re-checked
        const again = evaluateObjective(parseObjective(json.config.objective), { latencyMs: s.latencyMs, errorRate: s.errorRate });
        expect(again.verdict).toBe(s.verdict);
      }
    }
    const firm = (verdict: string) => c.steps.filter((s) => s.verdict === verdict).map((s) => s.rate);
    expect(firm('pass')).toContain(c.sustainableRate);
    // a search that was not cut short by a budget ends with a confirmation hold
    if (c.stoppedBy === 'resolved') expect(c.steps.at(-1)!.phase).toBe('confirm');
    if (c.outcome === 'found') {
      expect(c.firstFailRate!).toBeGreaterThan(c.sustainableRate!);
      expect(firm('fail')).toContain(c.firstFailRate);
    }
    const md = await readFile(join(out, 'summary.md'), 'utf8');
    expect(md).toMatch(/^# Capacity of phase 2/);
    expect(md).toContain('| step | phase | rate (req/s) |');
    expect(got.out).toContain('Sustainable rate:');
    // results.json carries the capacity section; its load is the sustainable rate's drive
    const results = await readResults(out);
    expect(results.capacity!.sustainableRate).toBe(c.sustainableRate);
    expect(results.capacity!.steps).toEqual(c.steps);
    const loadStep = c.steps.find((s) => s.index === results.capacity!.loadStep)!;
    expect(loadStep.rate).toBe(c.sustainableRate);
    expect(loadStep.verdict).toBe('pass');
    expect(results.load.totals.requests).toBeGreaterThan(0);
    expect(results.verdict).toBe('pass');
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg id="capacity-curve"');
    expect(html.match(/<g class="step /g)).toHaveLength(c.steps.length);

    expect(processesMentioning(json.runId)).toEqual([]);
    expect(await listRuns()).toEqual([]);
  }, 150_000);

  it('negative control: an objective no system holds gives no sustainable rate and exit 1', async () => {
    const out = join(roots.outRoot(), 'impossible');
    const got = await bench(['capacity', ...common, '--objective', 'p50<0.001ms', '--start-rate', '20', '--max-steps', '2', '--out', out]);
    const json = JSON.parse(await readFile(join(out, 'capacity.json'), 'utf8')) as CapacityJson;
    expect(json.capacity.outcome).toBe('none');
    expect(json.capacity.sustainableRate).toBeNull();
    expect(json.capacity.steps.map((s) => s.verdict)).toEqual(['fail', 'fail']);
    expect(got.code).toBe(1);
    const results = await readResults(out);
    expect(results.verdict).toBe('fail');
    expect(results.capacity!.loadStep).toBeNull();
    expect(results.load.latencyMs.p99).toBeNull();
    expect(await listRuns()).toEqual([]);
  }, 90_000);
});

// `bench compare` in-process: both run ids printed, drops gated, unenforced sizes refused (exit 3)
// unless --allow-unenforced-sizes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../testing/cli.ts';
import { buildResults } from '../../reports/testing/fixture.ts';
import type { Results } from '../../reports/schema.ts';
import { capacityResults, ladderJson } from '../../reports/testing/capacity-fixture.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b-compare-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bench = (args: string[]) => runBench(args, { cwd: dir });

async function write(name: string, r: Results | object): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, JSON.stringify(r));
  return p;
}

function pair() {
  const base = buildResults({ fault: null });
  const head = buildResults({ fault: null });
  base.runId = 'base-run-1';
  head.runId = 'head-run-2';
  return { base, head };
}

describe('bench compare', () => {
  it('prints both runs\' ids, and exits 0 within the gates', async () => {
    const { base, head } = pair();
    const r = await bench(['compare', await write('b.json', base), await write('h.json', head)]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('`base-run-1`');
    expect(r.out).toContain('`head-run-2`');
    expect(r.err).toBe('bench: base base-run-1, head head-run-2: no gate crossed\n');
  });

  it('names the one input it cannot read, base before head', async () => {
    const { base } = pair();
    const b = await write('b-only.json', base);
    const missingHead = await bench(['compare', b, join(dir, 'no-head.json')]);
    expect(missingHead.code).toBe(2);
    expect(missingHead.err).toMatch(/no-head\.json/);
    const both = await bench(['compare', join(dir, 'no-base.json'), join(dir, 'no-head.json')]);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/no-base\.json/);
    expect(both.err).not.toMatch(/no-head\.json/);
  });

  it('fails on dropped requests (exit 1) unless --max-dropped allows them', async () => {
    const { base, head } = pair();
    head.load.totals.dropped = 3;
    const b = await write('b2.json', base);
    const h = await write('h2.json', head);
    const r = await bench(['compare', b, h]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bench: base base-run-1, head head-run-2: 1 regression gate\(s\) crossed: the head dropped 3 requests/);
    expect((await bench(['compare', b, h, '--max-dropped', '3'])).code).toBe(0);
    const bad = await bench(['compare', b, h, '--max-dropped', 'lots']);
    expect(bad.code).toBe(2);
  });

  it('refuses runs whose host sizes were not enforced (exit 3), unless --allow-unenforced-sizes', async () => {
    const { base, head } = pair();
    base.topology.hosts[1]!.sizeEnforced = false;
    const b = await write('b3.json', base);
    const h = await write('h3.json', head);
    const r = await bench(['compare', b, h]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/host sizes were not enforced \(base base-run-1: /);
    expect((await bench(['compare', b, h, '--allow-unenforced-sizes'])).code).toBe(0);
  });
});

describe('bench compare, capacities', () => {
  it('gates a ladder against a stored one: a drop beyond --max-capacity-drop fails and names both ladders\' runs', async () => {
    const base = await write('ladder-base.json', ladderJson(375, 700));
    const same = await write('ladder-same.json', ladderJson(360, 690));
    const dropped = await write('ladder-drop.json', ladderJson(375, 500));
    const ok = await bench(['compare', base, same]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('bench compare (capacity)');
    expect(ok.err).toBe('bench: base p2-20261203-213237-abcd + p3-20261203-213237-abcd, head p2-20261203-213237-abcd + p3-20261203-213237-abcd: no gate crossed\n');
    const r = await bench(['compare', base, dropped]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('phase 3: capacity dropped 28.6% (700 → 500 req/s), more than the 10% gate');
    expect((await bench(['compare', base, dropped, '--max-capacity-drop', '30%'])).code).toBe(0);
    expect((await bench(['compare', base, dropped, '--max-capacity-drop', '130%'])).code).toBe(2);
  });

  it('an inconclusive head is not a capacity: the gate fails rather than pass on it', async () => {
    const head = ladderJson(375, 700);
    head.rungs[1]!.outcome = 'inconclusive';
    head.rungs[1]!.stoppedBy = 'generator';
    const r = await bench(['compare', await write('l-b2.json', ladderJson()), await write('l-h2.json', head)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('phase 3: the head found no capacity (inconclusive, stopped by generator)');
  });

  it('gates a capacity search\'s results.json by its capacity section, and refuses to compare it with a plain run', async () => {
    const base = capacityResults();
    const head = capacityResults();
    base.runId = 'cap-base';
    head.runId = 'cap-head';
    head.capacity!.sustainableRate = 300;
    const b = await write('cap-b.json', base);
    const r = await bench(['compare', b, await write('cap-h.json', head)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bench: base cap-base, head cap-head: 1 regression gate\(s\) crossed: phase 3: capacity dropped 20%/);
    const plain = buildResults({ fault: null });
    const mixed = await bench(['compare', b, await write('plain.json', plain)]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toContain('not comparable');
  });
});

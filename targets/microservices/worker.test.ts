import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { crashAfterEffectsAtStart } from './worker.ts';

describe('a worker start reads its crash switch (the worker-crash drill)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-worker-'));
  const file = join(dir, 'crash-after-effects');
  const logged: string[] = [];
  const log = (l: string) => logged.push(l);
  afterEach(() => rmSync(file, { force: true }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no file: no crash; the number in the file: this start crashes after that many effects', () => {
    expect(crashAfterEffectsAtStart({ crashAfterEffects: null, crashFile: file }, log)).toBeNull();
    writeFileSync(file, '2\n');
    expect(crashAfterEffectsAtStart({ crashAfterEffects: null, crashFile: file }, log)).toBe(2);
    expect(logged.at(-1)).toMatch(/after 2 side effect\(s\), before their ack/);
  });

  it('the config wins over the file, and no switch file means none is read', () => {
    writeFileSync(file, '2\n');
    expect(crashAfterEffectsAtStart({ crashAfterEffects: 5, crashFile: file }, log)).toBe(5);
    expect(crashAfterEffectsAtStart({ crashAfterEffects: null, crashFile: null }, log)).toBeNull();
  });

  it('a file that does not hold a positive integer fails the start', () => {
    for (const bad of ['0', '-1', 'x', '1.5', '']) {
      writeFileSync(file, bad);
      expect(() => crashAfterEffectsAtStart({ crashAfterEffects: null, crashFile: file }, log)).toThrow(/not a positive integer/);
    }
  });
});

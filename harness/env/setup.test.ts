// setup's policy-rc.d for an apt-get install: written only when the machine has none, removed
// afterwards only when setup wrote it (a machine's own policy is never touched).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forbidServiceStarts } from './setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('forbidServiceStarts', () => {
  it('writes an executable policy that exits 101, and removes it afterwards', () => {
    const path = join(dir, 'policy-rc.d');
    const restore = forbidServiceStarts(path);
    expect(readFileSync(path, 'utf8')).toMatch(/\nexit 101\n$/);
    expect(statSync(path).mode & 0o777).toBe(0o755);
    restore();
    expect(existsSync(path)).toBe(false);
  });

  it("leaves the machine's own policy in place, before and after", () => {
    const path = join(dir, 'own-policy-rc.d');
    writeFileSync(path, '#!/bin/sh\nexit 0\n');
    const restore = forbidServiceStarts(path);
    restore();
    expect(readFileSync(path, 'utf8')).toBe('#!/bin/sh\nexit 0\n');
  });
});

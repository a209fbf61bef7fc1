import { describe, expect, it } from 'vitest';
import { isRemovableDataDir } from './reap.ts';

describe('isRemovableDataDir', () => {
  it('accepts a run data directory and refuses what a bad label could point at', () => {
    expect(isRemovableDataDir('/work/main/.runs/p2-x/data')).toBe(true);
    expect(isRemovableDataDir('/tmp/r/data')).toBe(true);
    expect(isRemovableDataDir('/data')).toBe(false);
    expect(isRemovableDataDir('/srv/data')).toBe(false);
    expect(isRemovableDataDir('relative/run/data')).toBe(false);
    expect(isRemovableDataDir('/tmp/../etc/x/data')).toBe(false);
    expect(isRemovableDataDir('/tmp/r/logs')).toBe(false);
    expect(isRemovableDataDir(null)).toBe(false);
  });
});

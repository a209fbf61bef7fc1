import { describe, expect, it } from 'vitest';
import { testHost } from './fixture-util.ts';

describe('testHost', () => {
  it("gives each vitest worker its own loopback address, outside every run's slot (127.0.x.y)", () => {
    expect(testHost({ VITEST_POOL_ID: '1' })).toBe('127.0.1.1');
    expect(testHost({ VITEST_POOL_ID: '2' })).toBe('127.0.2.1');
    expect(testHost({ VITEST_POOL_ID: '254' })).toBe('127.0.254.1');
  });

  it('is 127.0.0.1 outside vitest or for an id that is not an address octet', () => {
    expect(testHost({})).toBe('127.0.0.1');
    for (const id of ['0', '255', '1.5', 'x', '']) expect(testHost({ VITEST_POOL_ID: id })).toBe('127.0.0.1');
  });
});

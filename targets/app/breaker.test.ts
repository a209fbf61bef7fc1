import { describe, expect, it } from 'vitest';
import { Breaker } from './breaker.ts';

describe('Breaker', () => {
  it('opens for openMs after a failure and closes on success', () => {
    let now = 0;
    const b = new Breaker(500, () => now);
    expect(b.isOpen()).toBe(false);
    b.fail();
    expect(b.isOpen()).toBe(true);
    now = 499;
    expect(b.isOpen()).toBe(true);
    now = 500;
    expect(b.isOpen()).toBe(false);
    b.fail();
    b.succeed();
    expect(b.isOpen()).toBe(false);
    expect(b.failures).toBe(2);
  });
});

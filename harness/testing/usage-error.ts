// Test helper: run `fn`, expect a usage BenchError, and hand back its one-line message.
import { expect } from 'vitest';
import { BenchError } from '../errors.ts';

/** The BenchError('usage') that `fn` throws; fails the test when it throws none. */
export function usageError(fn: () => unknown): BenchError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BenchError);
    expect((e as BenchError).code).toBe('usage');
    return e as BenchError;
  }
  throw new Error('expected a usage error');
}

/** The one-line message of the usage error `fn` throws. */
export const usageLine = (fn: () => unknown): string => usageError(fn).oneLine();

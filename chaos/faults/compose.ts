// One fault made of several (the same toxic on nine edges): one window in the report, applied
// together, reverted together; a partial apply is undone before the error is rethrown.
import type { AppliedFault, Fault } from './types.ts';
import { once } from './toxic-fault.ts';

/** A fault that applies every part in order and reverts them in reverse. */
export function allOf(name: string, target: string, parts: readonly Fault[], description?: string): Fault {
  return {
    name,
    target,
    describe: () => description ?? `${name} on ${target}: ${parts.map((p) => p.describe()).join('; ')}`,
    async apply(ctx) {
      const applied: AppliedFault[] = [];
      try {
        for (const p of parts) applied.push(await p.apply(ctx));
      } catch (err) {
        await Promise.allSettled([...applied].reverse().map((a) => a.revert()));
        throw err;
      }
      return {
        detail: applied.map((a) => a.detail).join('; '),
        revert: once(async () => {
          const errors: unknown[] = [];
          for (const a of [...applied].reverse()) await a.revert().catch((e: unknown) => errors.push(e));
          if (errors.length > 0) throw errors[0];
        }),
      };
    },
  };
}

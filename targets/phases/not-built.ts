import { BenchError } from '../../harness/errors.ts';

/** Thrown by the topology of a phase that is described but not deployable yet. */
export function notBuilt(phase: number): never {
  throw new BenchError(
    'usage',
    `phase ${phase} is not built yet`,
    'phases 1 to 5 run today; see docs/PHASES.md for what each phase will deploy',
  );
}

import { BenchError } from '../../harness/errors.ts';

/** Thrown by the topology of a phase that is described but not deployable yet. */
export function notBuilt(phase: number): never {
  throw new BenchError(
    'usage',
    `phase ${phase} is not built yet`,
    'phases 1 and 2 run today; see README.md (The ladder) for what each phase will deploy',
  );
}

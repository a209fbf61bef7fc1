// Taking proxies down and bringing them back, reference-counted through FaultContext.holds so
// overlapping faults (a partition and a host-down sharing an edge) compose.
import { BenchError } from '../../harness/errors.ts';
import type { FaultContext } from './types.ts';
import { once } from './toxic-fault.ts';

/** Disables every named proxy not already held down; the returned function brings them back. */
export async function disableEdges(ctx: FaultContext, fault: string, edges: readonly string[]): Promise<() => Promise<void>> {
  const api = ctx.toxiproxy;
  if (!api) throw new BenchError('usage', `fault ${fault} needs Toxiproxy and this run has none`, 'run with Toxiproxy (the default)');
  const taken: string[] = [];
  try {
    for (const e of edges) {
      const first = ctx.holds.acquire(`edge:${e}`);
      taken.push(e);
      if (first) await api.setEnabled(e, false);
    }
  } catch (err) {
    await restore(ctx, taken);
    throw err;
  }
  return once(() => restore(ctx, taken));
}

async function restore(ctx: FaultContext, edges: readonly string[]): Promise<void> {
  const last = edges.filter((e) => ctx.holds.release(`edge:${e}`));
  const results = await Promise.allSettled(last.map((e) => ctx.toxiproxy!.setEnabled(e, true)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

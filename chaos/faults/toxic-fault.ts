// The shared shape of the seven toxic faults: a Toxiproxy toxic added to every matching edge,
// removed on revert. Each toxic fault file only declares its toxic type, parameters and attributes.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan } from '../../harness/topology/plan.ts';
import type { ParamSpec, ParamValues } from './params.ts';
import { resolveEdges } from './targets.ts';
import type { AppliedFault, Fault, FaultContext, FaultKind, ToxicStream, ToxicType, ToxiproxyApi } from './types.ts';

/** Every toxic the harness adds is named with this prefix, so a sweep can tell its own from others. */
export const TOXIC_PREFIX = 'bench.';

let sequence = 0;

/** Parameters every toxic fault accepts after its own. */
export const commonToxicParams = (defaultStream: 'upstream' | 'downstream' | 'both'): ParamSpec[] => [
  { name: 'stream', type: 'stream', default: defaultStream, description: 'the direction it acts on: upstream (client to server), downstream, or both' },
  { name: 'toxicity', type: 'fraction', default: 1, description: 'the share of connections it applies to, 0..1' },
];

export interface ToxicFaultDefinition {
  name: string;
  summary: string;
  toxic: ToxicType;
  /** the fault's own parameters, before stream and toxicity */
  params: ParamSpec[];
  defaultStream: 'upstream' | 'downstream' | 'both';
  /** the toxic's attributes, in Toxiproxy's units, from the parsed parameters */
  attributes(p: ParamValues): Record<string, number>;
  /** "200 ms ± 50 ms" */
  describe(p: ParamValues): string;
  /** extra checks on the parsed parameters; return a problem sentence or null */
  check?(p: ParamValues): string | null;
}

/** Adds toxics; on a partial failure removes what it added and rethrows. */
async function addAll(api: ToxiproxyApi, items: Array<{ proxy: string; name: string; stream: ToxicStream }>, type: ToxicType, toxicity: number, attributes: Record<string, number>) {
  const added: typeof items = [];
  try {
    for (const it of items) {
      await api.addToxic(it.proxy, { name: it.name, type, stream: it.stream, toxicity, attributes });
      added.push(it);
    }
  } catch (err) {
    await Promise.allSettled(added.map((it) => api.removeToxic(it.proxy, it.name)));
    throw err;
  }
}

/** Reverts run once, however many times they are called. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => (done ??= fn());
}

/** Builds the FaultKind of a toxic fault. */
export function toxicFault(def: ToxicFaultDefinition): FaultKind {
  const params = [...def.params, ...commonToxicParams(def.defaultStream)];
  return {
    name: def.name,
    summary: def.summary,
    target: 'edge',
    params,
    create(target: string | undefined, p: ParamValues, plan: DeployPlan): Fault {
      const edges = resolveEdges(plan, def.name, target);
      const problem = def.check?.(p) ?? null;
      if (problem) throw new BenchError('usage', `fault ${def.name}: ${problem}`, params.map((s) => `${s.name}: ${s.description}`).join('; '));
      const streams: ToxicStream[] = p.stream === 'both' ? ['upstream', 'downstream'] : [p.stream as ToxicStream];
      const attributes = def.attributes(p);
      const toxicity = p.toxicity as number;
      const label = edges.length === 1 ? edges[0]!.name : `${edges.length} edges (${target})`;
      const text = `${def.name} ${def.describe(p)} on ${label}${p.stream === def.defaultStream ? '' : `, ${p.stream}`}${toxicity < 1 ? `, toxicity ${toxicity}` : ''}`;
      return {
        name: def.name,
        target: target!,
        describe: () => text,
        async apply(ctx: FaultContext): Promise<AppliedFault> {
          const api = ctx.toxiproxy;
          if (!api) throw new BenchError('usage', `fault ${def.name} needs Toxiproxy and this run has none`, 'run with Toxiproxy (the default)');
          const id = `${TOXIC_PREFIX}${def.name}.${++sequence}`;
          const items = edges.flatMap((e) => streams.map((stream) => ({ proxy: e.name, name: `${id}.${stream}`, stream })));
          await addAll(api, items, def.toxic, toxicity, attributes);
          return {
            detail: `toxic ${def.toxic} ${JSON.stringify(attributes)} on ${items.length} proxy stream${items.length === 1 ? '' : 's'}`,
            revert: once(async () => {
              const results = await Promise.allSettled(items.map((it) => api.removeToxic(it.proxy, it.name)));
              const failed = results.find((r) => r.status === 'rejected');
              if (failed) throw (failed as PromiseRejectedResult).reason;
            }),
          };
        },
      };
    },
  };
}

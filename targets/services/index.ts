// Every component kind the native runtime can start, as a plain list: add a recipe file, then
// one entry here. A kind listed twice is an error at load time.
import { BenchError } from '../../harness/errors.ts';
import type { ServiceKind } from '../../harness/topology/types.ts';
import { appRecipe } from './app.ts';
import { haproxyRecipe } from './haproxy.ts';
import { nginxRecipe } from './nginx.ts';
import { postgresExporter } from './postgres-exporter.ts';
import { postgresRecipe } from './postgres.ts';
import { prometheus } from './prometheus.ts';
import { rabbitmqRecipe } from './rabbitmq.ts';
import { redisExporter } from './redis-exporter.ts';
import { redisRecipe } from './redis.ts';
import { toxiproxyRecipe } from './toxiproxy.ts';
import type { ServiceRecipe } from './types.ts';

const all: ServiceRecipe[] = [
  toxiproxyRecipe,
  appRecipe,
  postgresRecipe,
  redisRecipe,
  haproxyRecipe,
  nginxRecipe,
  prometheus,
  postgresExporter,
  redisExporter,
  rabbitmqRecipe,
];

/** Builds the registry; a kind listed twice is an error. */
export function registry(list: readonly ServiceRecipe[]): ReadonlyMap<ServiceKind, ServiceRecipe> {
  const map = new Map<ServiceKind, ServiceRecipe>();
  for (const r of list) {
    if (map.has(r.kind)) throw new Error(`recipe for kind ${r.kind} registered twice`);
    map.set(r.kind, r);
  }
  return map;
}

/** Every registered recipe, by kind. */
export const recipes: ReadonlyMap<ServiceKind, ServiceRecipe> = registry(all);

/** The recipe of a kind; a kind without one is a bug in the harness, not the user's doing. */
export function recipeFor(kind: ServiceKind): ServiceRecipe {
  const r = recipes.get(kind);
  if (!r) throw new BenchError('internal', `no native recipe for kind ${kind}`, `add targets/services/${kind}.ts and list it in targets/services/index.ts`);
  return r;
}

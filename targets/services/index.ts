// Every component kind, as a plain list: a kind is one module in this folder plus one line in
// `all` below. A kind listed twice is an error. Everything else that knows kinds (plan ports,
// doctor/setup, images, scrape jobs, the report's tiers) reads this registry.
//
// The list is read on first use, not when this file loads: kind modules import harness code
// (plan.ts, prometheus-config.ts) that imports this registry back, and an eager list would read a
// kind's binding before its module finished loading.
import { BenchError } from '../../harness/errors.ts';
import { appRecipe } from './app.ts';
import { etcdRecipe } from './etcd.ts';
import { haproxyRecipe } from './haproxy.ts';
import { kafkaRecipe } from './kafka.ts';
import { nginxRecipe } from './nginx.ts';
import { patroniRecipe } from './patroni.ts';
import { pdnsRecipe } from './pdns.ts';
import { pgRouterRecipe } from './pg-router.ts';
import { postgresExporter } from './postgres-exporter.ts';
import { postgresRecipe } from './postgres.ts';
import { prometheus } from './prometheus.ts';
import { microserviceRecipe } from './microservice.ts';
import { rabbitmqRecipe } from './rabbitmq.ts';
import { redisExporter } from './redis-exporter.ts';
import { redisRecipe } from './redis.ts';
import { toxiproxyRecipe } from './toxiproxy.ts';
import type { ServiceKind } from '../../harness/topology/types.ts';
import type { ComponentKind } from './types.ts';

/** The kinds, in the order doctor lists their binaries and Prometheus gets their jobs. */
const all = (): ComponentKind[] => [
  appRecipe,
  postgresRecipe,
  redisRecipe,
  haproxyRecipe,
  nginxRecipe,
  prometheus,
  postgresExporter,
  redisExporter,
  toxiproxyRecipe,
  etcdRecipe,
  patroniRecipe,
  pgRouterRecipe,
  pdnsRecipe,
  rabbitmqRecipe,
  kafkaRecipe,
  microserviceRecipe,
];

/** The kinds by name, in list order; read-only. */
export type KindRegistry = ReadonlyMap<ServiceKind, ComponentKind>;

/** Builds a registry from a list; a kind listed twice is an error. */
export function registry(list: readonly ComponentKind[]): KindRegistry {
  const map = new Map<ServiceKind, ComponentKind>();
  for (const r of list) {
    if (map.has(r.kind)) throw new Error(`recipe for kind ${r.kind} registered twice`);
    map.set(r.kind, r);
  }
  return map;
}

/** A registry built from `list()` on first use (see the top of this file). */
class LazyRegistry implements KindRegistry {
  private built: KindRegistry | undefined;
  constructor(private readonly list: () => readonly ComponentKind[]) {}
  private get map(): KindRegistry {
    return (this.built ??= registry(this.list()));
  }
  get size() {
    return this.map.size;
  }
  get(kind: ServiceKind) {
    return this.map.get(kind);
  }
  has(kind: ServiceKind) {
    return this.map.has(kind);
  }
  forEach(f: (value: ComponentKind, key: ServiceKind, map: KindRegistry) => void) {
    this.map.forEach((v, k) => f(v, k, this));
  }
  entries() {
    return this.map.entries();
  }
  keys() {
    return this.map.keys();
  }
  values() {
    return this.map.values();
  }
  [Symbol.iterator]() {
    return this.map[Symbol.iterator]();
  }
}

/** Every registered kind, by name. */
export const recipes: KindRegistry = new LazyRegistry(all);
/** The same registry, under the name the derived tables use. */
export const kinds = recipes;

/** The module of a kind; a kind without one is a bug in the harness, not the user's doing. */
export function recipeFor(kind: string, from: KindRegistry = recipes): ComponentKind {
  // a name from outside the type system (a results file, a test) may name no kind at all
  const r = from.get(kind as ServiceKind);
  if (!r) throw new BenchError('internal', `no native recipe for kind ${kind}`, `add targets/services/${kind}.ts and list it in targets/services/index.ts`);
  return r;
}

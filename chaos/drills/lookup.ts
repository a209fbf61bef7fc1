// What the drills look up in a plan: the app servers, the shards and their databases (the
// topology's 'users' store), the cache, the CDN edge. Phases are data: a drill finds its victims by kind and config, never by name.
import { BenchError } from '../../harness/errors.ts';
import type { DeployPlan, PlannedService } from '../../harness/topology/plan.ts';
import { storeOf } from '../../harness/topology/stores.ts';
import type { AppConfig, ShardSpec } from '../../harness/topology/types.ts';
import type { ShardMap } from '../../harness/load/types.ts';
import { createShardRouter } from '../../targets/app/store/shard-router.ts';
import { targetServices } from '../faults/targets.ts';
import { dataCenters } from '../../targets/phases/phase-7.ts';

/** The app servers, in plan order. */
export function appServers(plan: DeployPlan): PlannedService[] {
  return targetServices(plan).filter((s) => s.kind === 'app');
}

/** The app configuration (every app server of a phase shares it). */
export function appConfig(plan: DeployPlan): AppConfig | null {
  const app = appServers(plan)[0];
  return app && app.config.kind === 'app' ? app.config.app : null;
}

/** The shards of the users store, empty for SQLite. */
export function shards(plan: DeployPlan): ShardSpec[] {
  const s = storeOf(plan, 'users');
  return s && s.kind === 'postgres' ? s.shards : [];
}

/** The users store's shard strategy, 'range' when there is no sharded store. */
export function shardStrategy(plan: DeployPlan): 'range' | 'hash' {
  const s = storeOf(plan, 'users');
  return s && s.kind === 'postgres' ? s.strategy : 'range';
}

/** The shard named `target` (its name or its primary's service name); default: the first matching `pick`. */
export function resolveShard(plan: DeployPlan, drill: string, target: string | undefined, pick: (s: ShardSpec) => boolean = () => true): ShardSpec {
  const all = shards(plan).filter(pick);
  const valid = `shards in phase ${plan.topology.phase}: ${all.map((s) => `${s.name} (primary ${s.primary})`).join(', ') || '(none)'}`;
  if (all.length === 0) throw new BenchError('usage', `drill ${drill} needs a sharded PostgreSQL store with what it breaks, and phase ${plan.topology.phase} has none`, valid);
  if (!target) return all[0]!;
  const s = all.find((x) => x.name === target || x.primary === target);
  if (!s) throw new BenchError('usage', `no shard ${target} for drill ${drill} in phase ${plan.topology.phase}`, valid);
  return s;
}

/** "1–500000", "500001–…": the ids a shard owns under range sharding, for messages. */
export function rangeText(s: ShardSpec): string {
  return `${s.range[0]}–${s.range[1] ?? '…'}`;
}

/** A seeded id (1..users) the shard owns, as cold as possible: the top of its range. */
export function coldIdOf(plan: DeployPlan, shard: ShardSpec, users: number): number | null {
  const all = shards(plan);
  const index = all.findIndex((s) => s.name === shard.name);
  const router = createShardRouter(shardStrategy(plan), all);
  const top = shardStrategy(plan) === 'range' ? Math.min(users, shard.range[1] ?? users) : users;
  for (let id = top, tries = 0; id >= 1 && tries < 10_000; id--, tries++) if (router.indexFor(id) === index) return id;
  return null;
}

/** The app's shard map for the load engine (failures counted per shard), or undefined without shards. */
export function shardMapOf(plan: DeployPlan): ShardMap | undefined {
  const all = shards(plan);
  if (all.length === 0) return undefined;
  const router = createShardRouter(shardStrategy(plan), all);
  return { names: all.map((s) => s.name), indexFor: (id) => router.indexFor(id) };
}

/** The Redis the app uses as its cache (phase 4+), or null. */
export function cacheService(plan: DeployPlan): PlannedService | null {
  const name = appConfig(plan)?.cache?.service;
  return name ? targetServices(plan).find((s) => s.name === name) ?? null : null;
}

/** The CDN edge (the static entry when it is an nginx), or null. */
export function cdnService(plan: DeployPlan): PlannedService | null {
  const name = plan.topology.staticEntry;
  const s = name ? targetServices(plan).find((x) => x.name === name) : undefined;
  return s && s.kind === 'nginx' ? s : (targetServices(plan).find((x) => x.kind === 'nginx') ?? null);
}

/** An app server named by `target`, default the last one (app-1 often sits first in every list). */
export function resolveAppServer(plan: DeployPlan, drill: string, target: string | undefined): PlannedService {
  const apps = appServers(plan);
  const valid = `app servers in phase ${plan.topology.phase}: ${apps.map((a) => a.name).join(', ') || '(none)'}`;
  if (apps.length === 0) throw new BenchError('usage', `drill ${drill} needs an app server and phase ${plan.topology.phase} has none`, valid);
  if (!target) return apps[apps.length - 1]!;
  const a = apps.find((x) => x.name === target);
  if (!a) throw new BenchError('usage', `${target} is not an app server (drill ${drill})`, valid);
  return a;
}

/** The region a regional drill was given (`--target`, checked against the deployment's data
 *  centers), else null: `dflt` (or no target), the drill's own choice, made at the fault. */
export function namedRegion(plan: DeployPlan, target: string | undefined, drill: string, dflt: string): string | null {
  if (target === undefined || target === dflt) return null;
  const regions = dataCenters(plan.topology);
  if (!regions.includes(target)) throw new BenchError('usage', `${target} is not a region of this deployment (drill ${drill})`, `its regions: ${regions.join(', ')}, or ${dflt} (the default)`);
  return target;
}

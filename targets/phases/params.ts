// The options phases declare, as parameter specs, and the one place their values are checked.
// A phase lists the specs it takes (with its own defaults); the CLI flags, the parsing of their
// text (harness/run/config.ts), results.json's config.options and the report's option table are
// derived from those lists, so a new option (phase 6's --workers) is a declaration here and in
// its phase, nothing else.
import { BenchError } from '../../harness/errors.ts';
import type { OptionValue, PhaseDefinition, PhaseOptions, PhaseParam, Topology } from '../../harness/topology/types.ts';

/** App servers behind the balancer. The CLI caps them at 32; more hosts than a run holds is checkHostCount's. */
export const appServersParam = {
  name: 'appServers',
  flag: '--app-servers',
  type: 'int',
  default: 3,
  min: 1,
  max: 32,
  help: 'app servers behind the load balancer',
  rule: 'phase {phase} needs a whole number of at least 1 app server',
  hint: 'use --app-servers 3',
} as const satisfies PhaseParam;

/** Read replicas per primary. */
export const replicasParam = {
  name: 'replicas',
  flag: '--replicas',
  type: 'int',
  default: 2,
  min: 0,
  max: 8,
  help: 'read replicas per database',
  rule: 'the replica count is a whole number, 0 or more',
  hint: 'use --replicas 0 for primaries alone, or --replicas 2',
} as const satisfies PhaseParam;

/**
 * How a primary's commits wait for its replicas. 'async' (PostgreSQL's default): a commit is
 * acknowledged once the primary has flushed it, so a failover loses what the promoted replica had
 * not received yet (RPO > 0). 'sync': a commit waits until ANY 1 replica has flushed it too, so a
 * failover to the most advanced replica loses no acknowledged write; the price is a round trip per
 * commit, and with a single replica, writes block while it is down.
 */
export const replicationParam = {
  name: 'replication',
  flag: '--replication',
  type: 'choice',
  default: 'async',
  choices: ['async', 'sync'],
  help: 'streaming replication: async (RPO > 0) or sync (ANY 1 replica flushed each commit)',
  rule: 'unknown replication mode',
  hint: 'use --replication async or --replication sync (sync needs --replicas 1 or more)',
} as const satisfies PhaseParam;

/** Database shards. Every shard needs at least one seeded user: the shard map splits 1..users. */
export const shardsParam = {
  name: 'shards',
  flag: '--shards',
  type: 'int',
  default: 2,
  min: 1,
  max: 26,
  atMostUsers: 'more shards than users leaves shards with no user',
  help: 'database shards',
  rule: 'a sharded phase needs a whole number of at least 1 shard',
  hint: 'use --shards 2',
} as const satisfies PhaseParam;

/** How user ids map to shards. */
export const shardStrategyParam = {
  name: 'shardStrategy',
  flag: '--shard-strategy',
  type: 'choice',
  default: 'range',
  choices: ['range', 'hash'],
  help: 'how user ids map to shards',
  rule: 'unknown strategy',
  hint: 'use --shard-strategy range or --shard-strategy hash',
} as const satisfies PhaseParam;

/** --users as a spec, for the same one-line errors when a phase's option depends on it. */
const usersParam = {
  name: 'users',
  flag: '--users',
  type: 'int',
  default: 1,
  min: 1,
  max: 1e10,
  help: 'users to seed',
  rule: 'phase {phase} needs a whole number of at least 1 user',
  hint: 'use --users 1e6',
} as const satisfies PhaseParam;

/** A spec with another default: phase 5 keeps one replica per shard. */
export const withDefault = (p: PhaseParam, value: OptionValue): PhaseParam => ({ ...p, default: value }) as PhaseParam;

const fail = (phase: number, p: PhaseParam, value: unknown): BenchError =>
  new BenchError('usage', `${p.flag} ${String(value)}: ${p.rule.replace('{phase}', String(phase))}`, p.hint);

/**
 * The options a phase's topology gets: every declared param filled (given value, else its
 * default) and checked. Throws the first bad value as a one-line usage error naming the flag.
 * Extra names a caller passes are kept and ignored by the phase.
 */
export function checkPhaseOptions(phase: number, params: readonly PhaseParam[], given: PhaseOptions): PhaseOptions {
  const o: PhaseOptions = { ...given };
  for (const p of params) if (o[p.name] === undefined) o[p.name] = p.default;
  if (params.some((p) => p.type === 'int' && p.atMostUsers) && !(Number.isInteger(o.users) && o.users >= 1)) throw fail(phase, usersParam, o.users);
  for (const p of params) {
    const v = o[p.name];
    if (p.type === 'choice') {
      if (typeof v !== 'string' || !p.choices.includes(v)) throw fail(phase, p, v);
      continue;
    }
    if (p.type === 'text') {
      if (typeof v !== 'string') throw fail(phase, p, v);
      // its own grammar: the spec's check names what is wrong in one line
      p.check(v);
      continue;
    }
    // no upper bound here: a fleet too big for one run is checkHostCount's error, with the host count
    if (typeof v !== 'number' || !Number.isInteger(v) || v < p.min) throw fail(phase, p, v);
    if (p.atMostUsers && v > o.users) {
      throw new BenchError('usage', `${p.flag} ${v} is more than --users ${o.users}: ${p.atMostUsers}`, `use ${p.flag} ${o.users} or fewer, or more --users`);
    }
  }
  return o;
}

/** A declared option's value as a number (checkPhaseOptions has made sure). */
export const intOf = (o: PhaseOptions, p: { name: string; type: 'int' }): number => o[p.name] as number;
/** A declared text option's value (checkPhaseOptions has checked it). */
export const textOf = (o: PhaseOptions, p: { name: string; type: 'text' }): string => o[p.name] as string;
/** A declared choice's value (checkPhaseOptions has made sure it is one of the choices). */
export const choiceOf = <C extends string>(o: PhaseOptions, p: { name: string; type: 'choice'; choices: readonly C[] }): C => o[p.name] as C;

/** What a phase file declares; definePhase derives the defaults and wraps the check around build. */
export interface PhaseDeclaration extends Omit<PhaseDefinition, 'defaults' | 'topology'> {
  /** builds the topology from options that checkPhaseOptions has filled and checked */
  build(options: PhaseOptions): Topology;
}

/** A PhaseDefinition from its declaration: defaults from the params, options checked before build. */
export function definePhase(d: PhaseDeclaration): PhaseDefinition {
  const { build, ...rest } = d;
  const defaults: Record<string, OptionValue> = Object.fromEntries(d.params.map((p) => [p.name, p.default]));
  return { ...rest, defaults, topology: (o) => build(checkPhaseOptions(d.phase, d.params, o)) };
}

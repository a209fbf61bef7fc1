import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { resolvePhaseOptions, resolveRunConfig } from '../../harness/run/config.ts';
import { phaseOptionFlags } from '../../harness/cli/run-options.ts';
import { usageLine } from '../../harness/testing/usage-error.ts';
import type { PhaseParam, PhaseOptions, Topology } from '../../harness/topology/types.ts';
import { Results } from '../../reports/schema.ts';
import { phaseParams, phases, PHASE_NUMBERS, registerParams } from './index.ts';
import { appServersParam, checkPhaseOptions, definePhase, replicasParam, shardsParam, withDefault } from './params.ts';
import { phase1 } from './phase-1.ts';
import { phase3 } from './phase-3.ts';
import { phase5 } from './phase-5.ts';
import { phase7 } from './phase-7.ts';

// A phase that declares two options no phase has today, the way phase 6 will: nothing but this
// declaration is written for them.
const workers = {
  name: 'workers',
  flag: '--workers',
  type: 'int',
  default: 2,
  min: 1,
  max: 16,
  help: 'background workers',
  rule: 'phase {phase} needs at least 1 worker',
  hint: 'use --workers 2',
} as const satisfies PhaseParam;
const broker = {
  name: 'broker',
  flag: '--broker',
  type: 'choice',
  default: 'rabbitmq',
  choices: ['rabbitmq', 'kafka'],
  help: 'the message queue',
  rule: 'unknown broker',
  hint: 'use --broker rabbitmq or --broker kafka',
} as const satisfies PhaseParam;
let built: PhaseOptions | null = null;
const phase9 = definePhase({
  phase: 9,
  title: 'Queues',
  usersRange: [1, 10],
  architecture: 'a test phase',
  shows: 'that an option is a declaration',
  built: true,
  params: [appServersParam, workers, broker],
  build: (o) => {
    built = o;
    return phase1.topology({ users: o.users });
  },
});
const registry = registerParams([...phases.values(), phase9]);

/** What commander hands resolveRunConfig for `args`, with the flags the registry derives. */
function flagsOf(args: string[]): Record<string, unknown> {
  const cmd = phaseOptionFlags(new Command().exitOverride().option('-u, --users <n>'), registry);
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

describe('a phase declaring a new option', () => {
  it('gets a CLI flag with its help and the phases that take it', () => {
    const help = phaseOptionFlags(new Command().configureHelp({ helpWidth: 200 }), registry).helpInformation();
    expect(help).toMatch(/--workers <n>\s+workers consuming the jobs queue \(phases 6, 9\)/);
    expect(help).toMatch(/--broker <rabbitmq\|kafka>\s+the message broker: rabbitmq \(quorum queues\) or kafka \(KRaft, one node\) \(phases 6, 9\)/);
    expect(help).toMatch(/--app-servers <n>\s+app servers behind the load balancer \(phases 3, 4, 5, 6, 7, 9\)/);
  });

  it('parses the flags into the options its topology gets, defaults filling the rest', () => {
    expect(resolvePhaseOptions(phase9, flagsOf(['--workers', '4', '--broker', 'kafka']), 100, registry)).toEqual({ appServers: 3, workers: 4, broker: 'kafka' });
    expect(resolvePhaseOptions(phase9, flagsOf([]), 100, registry)).toEqual({ appServers: 3, workers: 2, broker: 'rabbitmq' });
    phase9.topology({ users: 5, workers: 7 });
    expect(built).toMatchObject({ users: 5, workers: 7, broker: 'rabbitmq', appServers: 3 });
  });

  it('validates them with one line each', () => {
    expect(usageLine(() => resolvePhaseOptions(phase9, flagsOf(['--workers', '0']), 100, registry))).toBe('--workers 0 is out of range — use a value from 1 to 16');
    expect(usageLine(() => resolvePhaseOptions(phase9, flagsOf(['--broker', 'sqs']), 100, registry))).toBe('--broker "sqs" is not one of rabbitmq, kafka — for example --broker rabbitmq');
    expect(usageLine(() => phase9.topology({ users: 5, workers: 0 }))).toBe('--workers 0: phase 9 needs at least 1 worker — use --workers 2');
    expect(usageLine(() => phase9.topology({ users: 5, broker: 'sqs' }))).toBe('--broker sqs: unknown broker — use --broker rabbitmq or --broker kafka');
    // a phase that does not declare it refuses the flag instead of ignoring it
    expect(usageLine(() => resolvePhaseOptions(phase3, flagsOf(['--workers', '4']), 100, registry))).toBe('--workers: phase 3 has no such option — --workers is an option of phase 6, 9');
  });

  it('lands in results.json as an entry of config.options', () => {
    const options = resolvePhaseOptions(phase9, flagsOf(['--workers', '4']), 100, registry);
    const config = Results.shape.config.parse({ phase: 9, users: 100, durationS: 10, rate: null, seed: 1, runtime: 'native', options, chaos: [] });
    expect(config.options).toEqual({ appServers: 3, workers: 4, broker: 'rabbitmq' });
  });
});

describe('the registry of options', () => {
  it('one name is one flag: phases must agree on all but the default', () => {
    const base = { phase: 8, title: 't', usersRange: [1, 2] as [number, number], architecture: 'a', shows: 's', built: false, build: (): Topology => { throw new Error('unused'); } };
    expect(() => registerParams([phase3, definePhase({ ...base, params: [{ ...replicasParam, max: 9 }] })])).toThrow(/phase 8 declares option replicas unlike phase 3/);
    expect(() => registerParams([definePhase({ ...base, params: [{ ...workers, flag: '--worker-count' }] })])).toThrow(/option workers has flag --worker-count, whose key is workerCount/);
    expect(registerParams([phase3, definePhase({ ...base, params: [withDefault(replicasParam, 0)] })]).get('replicas')!.phases).toEqual([3, 8]);
  });

  it('the ladder declares --app-servers on phases 3-7, --replicas on 3-6, sharding on 5 only, replication on 3-5, workers, broker and worker idempotence on 6, regions, clients and the WAN on 7', () => {
    expect(Object.fromEntries([...phaseParams].map(([n, p]) => [n, p.phases]))).toEqual({
      appServers: [3, 4, 5, 6, 7],
      replicas: [3, 4, 5, 6],
      shards: [5],
      shardStrategy: [5],
      replication: [3, 4, 5],
      workers: [6],
      broker: [6],
      idempotentWorkers: [6],
      regions: [7],
      clientMix: [7],
      dnsCache: [7],
      wanLatency: [7],
      mode: [7],
    });
    expect(PHASE_NUMBERS).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(phase5.defaults).toEqual({ appServers: 3, replicas: 1, shards: 2, shardStrategy: 'range', replication: 'async' });
    expect(phase1.defaults).toEqual({});
  });
});

describe('resolveRunConfig and the phase options', () => {
  it('records exactly the chosen phase options, defaults included', () => {
    expect(resolveRunConfig({ phase: '5', users: '1000', shards: '3' }).options).toEqual({ appServers: 3, replicas: 1, shards: 3, shardStrategy: 'range', replication: 'async' });
    expect(resolveRunConfig({ phase: '2' }).options).toEqual({});
  });

  it('checks the shard limit in one place, for the CLI and a direct caller alike', () => {
    const cli = usageLine(() => resolveRunConfig({ phase: '5', users: '3', shards: '4' }));
    const direct = usageLine(() => phase5.topology({ users: 3, shards: 4 }));
    expect(cli).toBe(direct);
    expect(cli).toBe('--shards 4 is more than --users 3: more shards than users leaves shards with no user — use --shards 3 or fewer, or more --users');
    expect(usageLine(() => resolveRunConfig({ phase: '5', shards: '27' }))).toBe(`--shards 27 is out of range — use a value from 1 to ${shardsParam.max}`);
    expect(() => checkPhaseOptions(5, phase5.params, { users: 3, shards: 3 })).not.toThrow();
  });

  it("a text option (phase 7's --wan-latency) keeps its text, checked by its own grammar for the CLI and a direct caller alike", () => {
    expect(resolveRunConfig({ phase: '7', wanLatency: 'us-east:eu=45ms' }).options.wanLatency).toBe('us-east:eu=45ms');
    expect(resolveRunConfig({ phase: '7' }).options.wanLatency).toBe('us-east:us-west=30ms,eu:us-east=40ms,eu:us-west=40ms');
    const cli = usageLine(() => resolveRunConfig({ phase: '7', wanLatency: 'us-east:eu' }));
    expect(cli).toBe(usageLine(() => phase7.topology({ users: 100, wanLatency: 'us-east:eu' })));
    expect(cli).toMatch(/^--wan-latency us-east:eu is not <region>:<region>=<ms>/);
    expect(usageLine(() => checkPhaseOptions(7, phase7.params, { users: 1, wanLatency: 45 }))).toMatch(/^--wan-latency 45: the WAN latency table is a list/);
  });
});

describe('--replication sync', () => {
  const pgConf = (t: Topology, name: string) => t.services.find((s) => s.name === name)!.config;
  it('makes every primary synchronous, never a replica, on phases 3-5; async is the default', () => {
    const t3 = phase3.topology({ users: 1000, replication: 'sync' });
    expect(pgConf(t3, 'pg-primary')).toEqual({ kind: 'postgres', postgres: { role: 'primary', synchronous: true } });
    expect(pgConf(t3, 'pg-primary-replica-1')).toEqual({ kind: 'postgres', postgres: { role: 'replica', primary: 'pg-primary' } });
    expect(pgConf(phase3.topology({ users: 1000 }), 'pg-primary')).toEqual({ kind: 'postgres', postgres: { role: 'primary' } });
    const t5 = phase5.topology({ users: 1000, replication: 'sync' });
    const primaries = t5.services.filter((s) => s.config.kind === 'postgres' && s.config.postgres.role === 'primary');
    expect(primaries.map((s) => [s.name, s.config.kind === 'postgres' && s.config.postgres.synchronous])).toEqual([['pg-shard-a', true], ['pg-shard-b', true]]);
    expect(resolveRunConfig({ phase: '4', replication: 'sync' }).options).toMatchObject({ replication: 'sync' });
  });
  it('refuses a primary with no replica to wait for, and an unknown mode, in one line', () => {
    expect(usageLine(() => phase3.topology({ users: 1000, replicas: 0, replication: 'sync' }))).toBe(
      "--replication sync: shard main's primary pg-primary has no replica to wait for — use --replicas 1 or more with --replication sync",
    );
    expect(usageLine(() => resolveRunConfig({ phase: '3', replication: 'semi' }))).toBe('--replication "semi" is not one of async, sync — for example --replication async');
  });
});

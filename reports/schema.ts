// results.json: the single source every renderer (HTML, Markdown, JUnit) and `bench compare` read.
// Versioned: a breaking change bumps SCHEMA_VERSION, and readers refuse other versions clearly.
import { z } from 'zod';
import { CapacitySection } from './capacity-schema.ts';

export const SCHEMA_VERSION = 1;

// The producer's parts live with the results (harness/run/results.ts); re-exported for readers.
import { Latency, SeriesPoint, EndpointStats, Stage, TrafficModel, LoadResults, FaultWindow, Objective, WriteCheck, DrillResult, LedgerSection, QueueSection, BurstSpec } from '../harness/run/results.ts';
export { Latency, SeriesPoint, EndpointStats, Stage, TrafficModel, LoadResults, FaultWindow, Objective, WriteCheck, DrillResult, LedgerSection, QueueSection, BurstSpec };

export const Results = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.literal('bench'), version: z.string() }),
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  config: z.object({
    phase: z.number(),
    users: z.number(),
    durationS: z.number(),
    rate: z.number().nullable(),
    seed: z.number(),
    runtime: z.enum(['native', 'docker']),
    /** the phase's declared options (targets/phases/params.ts), by name: { appServers: 3, shardStrategy: 'range' } */
    options: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
    /** results written before options were declared per phase carry these three instead */
    appServers: z.number().optional(),
    replicas: z.number().optional(),
    shards: z.number().optional(),
    chaos: z.array(z.string()),
    /** --burst (5x@20s+10s -> {factor 5, startS 20, lengthS 10}); null or absent: none */
    burst: BurstSpec.nullable().optional(),
  }),
  topology: z.object({
    phase: z.number(),
    title: z.string(),
    hosts: z.array(
      z.object({
        name: z.string(),
        ip: z.string(),
        cpus: z.number(),
        memoryMb: z.number(),
        region: z.string(),
        /**
         * the host's CPU/memory quota was enforced (native: the cgroup write succeeded; docker:
         * always); false: the size is nominal only; absent: not recorded (older results)
         */
        sizeEnforced: z.boolean().optional(),
      }),
    ),
    services: z.array(z.object({ name: z.string(), kind: z.string(), host: z.string(), role: z.string(), address: z.string() })),
    edges: z.array(z.object({ name: z.string(), proxied: z.boolean() })),
  }),
  trafficModel: TrafficModel,
  /** the measured load; objectives, drills and `bench compare` read only this */
  load: LoadResults,
  /** the warm-up before the measured load (its own counts, latency and series, t from its own
   *  start); null or absent when the run had none. Never judged, never compared. */
  warmup: LoadResults.nullable().optional(),
  /** true: written when the load ended, before collection and teardown (or on Ctrl-C); the final
   *  results of a run that completed say false. Absent in results written before this field. */
  partial: z.boolean().optional(),
  /** the servers' own view: e.g. app request counts from /metrics */
  server: z.object({ appRequests: z.number().nullable() }),
  /** figures a phase adds: backend distribution, hit ratios, per-shard rates, replica lag */
  tiers: z.record(z.string(), z.record(z.string(), z.number())),
  /** series from Prometheus for the report's per-tier panels: name -> [[t, value], ...] */
  prometheus: z.record(z.string(), z.array(z.tuple([z.number(), z.number()]))).default({}),
  faults: z.array(FaultWindow),
  drills: z.array(DrillResult),
  /** the job ledger (asynchronous topologies): null when the run took no async work or it was not read; absent in older results */
  ledger: LedgerSection.nullable().optional(),
  /** the broker's backlog (topologies with a broker): depth and ack rate over time, drain after a
   *  --burst, slope; null when the run has no broker or it was not sampled; absent in older results */
  queue: QueueSection.nullable().optional(),
  objectives: z.array(Objective),
  /** seconds each step of the run took: deploy, seed, load, collect, teardown */
  timings: z.record(z.string(), z.number()),
  notes: z.array(z.string()),
  /** inconclusive: the run could not judge the system (generator limited, nothing completed);
   *  interrupted: Ctrl-C (or SIGTERM) stopped the run; its figures cover what ran until then */
  verdict: z.enum(['pass', 'fail', 'inconclusive', 'interrupted']),
  /** the verdict's reason on one line (set for inconclusive and fail) */
  verdictReason: z.string().optional(),
  /** `bench capacity`: the search's steps and answer (reports/capacity-schema.ts); absent in a run's results */
  capacity: CapacitySection.optional(),
});
export type Verdict = Results['verdict'];
export type Results = z.infer<typeof Results>;

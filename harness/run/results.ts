// What a run produces, as zod schemas and their types: the load's figures (LoadResults, built by
// the engine and the k6 driver), fault windows, objectives, drill results. The producers (harness/,
// chaos/) import them from here; reports/schema.ts composes them into results.json's schema.
import { z } from 'zod';

/** Milliseconds. null: nothing was measured (no response in that window); renderers print "n/a". */
const ms = z.number().nullable();

export const Latency = z.object({
  p50: ms,
  p90: ms,
  p95: ms,
  p99: ms,
  p999: ms,
  max: ms,
  mean: ms,
});
export type Latency = z.infer<typeof Latency>;

export const SeriesPoint = z.object({
  /** seconds since the load started */
  t: z.number(),
  /** requests completed in this second */
  requests: z.number(),
  errors: z.number(),
  /** requests due but not sent (in-flight cap reached) */
  dropped: z.number(),
  /**
   * requests sent this second on a connection the server had already closed (stale_keepalive):
   * not in requests or errors; absent where the driver does not tell them apart
   */
  staleKeepalive: z.number().optional(),
  /** the arrival rate the schedule asked for */
  targetRate: z.number(),
  /** this second's percentiles of the requests that got a response; null when none did */
  p50: ms,
  p95: ms,
  p99: ms,
  /** the exact largest latency of the second */
  max: ms.optional(),
  /**
   * the second's latency histogram (LatencyHistogram.encode(): "<maxUs>:<HDR compressed base64>"),
   * so a figure over any window merges the window's seconds exactly instead of averaging percentiles
   */
  hdr: z.string().nullable().optional(),
  /** per shard (when the engine knows the shard map): requests completed and failed this second */
  shards: z.record(z.string(), z.object({ requests: z.number(), errors: z.number() })).optional(),
});
export type SeriesPoint = z.infer<typeof SeriesPoint>;

export const EndpointStats = z.object({
  requests: z.number(),
  errors: z.number(),
  latencyMs: Latency,
  /** failed with no response (timeout, refused, reset) */
  noResponse: z.number().optional(),
});

export const Stage = z.object({ durationS: z.number(), targetRate: z.number() });
export type Stage = z.infer<typeof Stage>;

export const TrafficModel = z.object({
  users: z.number(),
  dailyActiveShare: z.number(),
  requestsPerActiveUserPerDay: z.number(),
  peakToAverage: z.number(),
  averageRps: z.number(),
  peakRps: z.number(),
  /**
   * the ceiling the run was planned under (req/s); how it was obtained is machineCapSource. An
   * 'estimate' is a rule of thumb from the core count, not a capacity of this machine.
   */
  machineCapRps: z.number(),
  /** 'estimate': cores x a per-core figure; 'flag': --max-rate; 'measured': measured on this machine */
  machineCapSource: z.enum(['estimate', 'flag', 'measured']).optional(),
  /** the rate actually driven at steady state */
  targetRps: z.number(),
  /** the planned scale factor: targetRps / peakRps (1 when the plan drives the full model) */
  scaleFactor: z.number(),
  /**
   * the achieved scale factor: requests completed ÷ requests the model would have sent over the
   * same schedule (its due count ÷ scaleFactor); equal to scaleFactor when the planned load was
   * all completed. null before the load or when nothing completed
   */
  achievedScaleFactor: z.number().nullable().optional(),
  /** true when --rate overrode the model */
  overridden: z.boolean(),
  derivation: z.array(z.string()),
});
export type TrafficModel = z.infer<typeof TrafficModel>;

/** One second of a client region (t: seconds since the load started): its successes by the region
 *  that served them (the app's X-Bench-Region; '(unnamed)' when the answer named none), its
 *  errors, and its successes' latency histogram (LatencyHistogram.encode(); null when none). */
export const RegionSecond = z.object({ t: z.number(), ok: z.record(z.string(), z.number()), errors: z.number(), hdr: z.string().nullable() });
export type RegionSecond = z.infer<typeof RegionSecond>;

/** A load's counts per client region: where it sent from, what it got, and when its DNS answer
 *  changed (seconds since the load started; address null: the lookup failed). */
export const RegionResults = z.record(
  z.string(),
  z.object({
    source: z.string(),
    requests: z.number(),
    errors: z.number(),
    /** the successes' latency from the intended send time; null when none succeeded */
    latencyMs: Latency.nullable(),
    dns: z.object({ queries: z.number(), failures: z.number(), changes: z.array(z.object({ atS: z.number(), address: z.string().nullable() })) }),
    /** per second; absent in results written before serving regions were counted */
    seconds: z.array(RegionSecond).optional(),
  }),
);
export type RegionResults = z.infer<typeof RegionResults>;

export const LoadResults = z.object({
  driver: z.enum(['embedded', 'k6']),
  workload: z.string(),
  /** the load's sign-up salt (loadtests/lib/identity.ts): with the seed, it reproduces the load's
   *  requests; absent in results written before salts, null when a generator did not say */
  salt: z.number().int().min(0).nullable().optional(),
  stages: z.array(Stage),
  durationS: z.number(),
  totals: z.object({
    requests: z.number(),
    ok: z.number(),
    errors: z.number(),
    dropped: z.number(),
    /**
     * requests sent on a reused connection the server had already closed before any byte of the
     * answer, and not retried (a GET is retried once on a fresh connection; anything else is not
     * sent twice). The generator's connection, not the system: kept out of requests, errors,
     * errorRate and failRate; above STALE_KEEPALIVE_MAX_SHARE of sent the run is INCONCLUSIVE.
     * null or absent where the driver does not tell them apart (k6).
     */
    staleKeepalive: z.number().nullable().optional(),
    throughputRps: z.number(),
    /** errors / requests completed: the failed share of what was sent */
    errorRate: z.number(),
    /**
     * (errors + dropped) / (requests + dropped): the share of the offered load not served. A request
     * dropped at the in-flight cap is the system's failure (it did not answer in time); objectives
     * use this rate. null when nothing was offered.
     */
    failRate: z.number().nullable().optional(),
  }),
  /** latency of the requests that got a response (any status), from the intended send time */
  latencyMs: Latency,
  /** time to failure of the requests that got no response (timeout, refused, reset) */
  failureMs: Latency.optional(),
  /** per shard (when the engine knows the shard map): requests completed and failed */
  shards: z.record(z.string(), z.object({ requests: z.number(), errors: z.number() })).optional(),
  /** per client region (phase 7: harness/load/client-regions.ts); null or absent where the load
   *  has no client regions */
  regions: RegionResults.nullable().optional(),
  endpoints: z.record(z.string(), EndpointStats),
  statusCodes: z.record(z.string(), z.number()),
  errorKinds: z.record(z.string(), z.number()),
  series: z.array(SeriesPoint),
  generator: z.object({
    /** the engine fell behind its schedule: results understate the offered load */
    saturated: z.boolean(),
    /**
     * the generator itself was the limit: its schedule lag grew (sustained) while it still had
     * free in-flight slots, so its own CPU, not the system, held the load back => INCONCLUSIVE
     */
    limited: z.boolean().optional(),
    maxLagMs: z.number(),
    peakRssMb: z.number(),
    /** embedded engine: the generator threads that sent the load (--generator-threads); absent
     *  in results written before threads, and for k6 */
    threads: z.number().int().min(1).optional(),
  }),
});
export type LoadResults = z.infer<typeof LoadResults>;

export const FaultWindow = z.object({
  name: z.string(),
  target: z.string(),
  /** seconds since the load started */
  startS: z.number(),
  endS: z.number().nullable(),
  detail: z.string().optional(),
});
export type FaultWindow = z.infer<typeof FaultWindow>;

export const Objective = z.object({
  name: z.string(),
  /** e.g. "p99 < 250 ms" */
  description: z.string(),
  threshold: z.number(),
  /** null: not measured (e.g. no request got a response) */
  actual: z.number().nullable(),
  pass: z.boolean(),
});
export type Objective = z.infer<typeof Objective>;

export const WriteCheck = z.object({
  acknowledged: z.number(),
  present: z.number(),
  lost: z.number(),
  unacknowledgedPresent: z.number(),
  lostIds: z.array(z.number()),
  /** writes sent that got no answer (or a 5xx): they may or may not have taken effect, so they are
   *  neither acknowledged nor lost (absent in results written before it was recorded) */
  indeterminate: z.number().optional(),
});

export const DrillResult = z.object({
  name: z.string(),
  hypothesis: z.string(),
  timeToDetectS: z.number().nullable(),
  timeToRecoverS: z.number().nullable(),
  errorsDuringFault: z.number(),
  /** p99 of the window (merged histograms); null when no request got a response in it */
  latencyBeforeP99: z.number().nullable(),
  latencyDuringP99: z.number().nullable(),
  writes: WriteCheck.nullable(),
  figures: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
  pass: z.boolean(),
  /** pass / fail, or inconclusive: the load could not judge it (generator limited, nothing completed) */
  verdict: z.enum(['pass', 'fail', 'inconclusive']).optional(),
  reasons: z.array(z.string()),
});
export type DrillResult = z.infer<typeof DrillResult>;

/** One ledger's counts (chaos/ledger.ts): the client's history checked against the databases. */
export const LedgerCounts = z.object({
  accepted: z.number(),
  done: z.number(),
  lost: z.number(),
  duplicated: z.number(),
  unexpected: z.number(),
  recovered: z.number(),
  deadLettered: z.number(),
  indeterminate: z.number(),
  failed: z.number(),
  verdict: z.enum(['PASS', 'FAIL']),
  reasons: z.array(z.string()),
});

/**
 * The job ledger of a run whose topology takes work asynchronously (phase 6): jobs and payments
 * vs notifications, the accept->complete latency of the done jobs (one HDR histogram, never an
 * average of percentiles) and how long the bounded drain took. null in results.json: not measured.
 */
export const LedgerSection = z.object({
  jobs: LedgerCounts.nullable(),
  payments: LedgerCounts.nullable(),
  /** ms from the 202 (accepted_at) to the side effect (done_at); null values: no job done */
  acceptToCompleteMs: z.object({ p50: ms, p99: ms, max: ms, count: z.number() }),
  /** ms from an outbox row's write to the broker's confirm (its sent_at), jobs' and payments'
   *  outboxes in one histogram, rows of this load that were sent; absent in older results */
  publishMs: z.object({ p50: ms, p99: ms, max: ms, count: z.number() }).optional(),
  /** seconds the drain waited; backlog left when it gave up (0/0: drained) */
  drain: z.object({ seconds: z.number(), timeoutS: z.number(), pending: z.number(), unsent: z.number() }),
});
export type LedgerSection = z.infer<typeof LedgerSection>;

/** A --burst: the planned rate × factor from startS of the measured load for lengthS seconds. */
export const BurstSpec = z.object({ factor: z.number(), startS: z.number(), lengthS: z.number() });

/** One sample of the broker's jobs queue (harness/run/queue-sampler.ts); null: not measured that second. */
export const QueueSample = z.object({
  /** seconds since the measured load started (past the load's duration: the drain after it) */
  t: z.number(),
  /** messages ready (a passive declare on the queue: the broker's count at that instant) */
  ready: z.number().nullable(),
  /** messages delivered, not yet acked (the broker's per-queue metric, refreshed at each quorum-queue tick: 1 s as bench starts RabbitMQ) */
  unacked: z.number().nullable(),
  /** ready + unacked: the backlog */
  depth: z.number().nullable(),
  /** acks per second since the previous sample (the broker's counter of acks on its quorum queues) */
  ackRate: z.number().nullable(),
});
export type QueueSample = z.infer<typeof QueueSample>;

/**
 * The backlog of a run whose topology has a broker: the jobs queue's depth and the consumers' ack
 * rate once a second during the load and after it until the queue drained (bounded), the peak, the
 * drain time after a --burst and the slope of the depth over the load's last seconds. null in
 * results.json: no broker, or not measured.
 */
export const QueueSection = z.object({
  queue: z.string(),
  /** where the figures came from, in words */
  source: z.string(),
  series: z.array(QueueSample),
  /** the largest depth sampled (during the load or the drain after it); null: no depth measured */
  peakDepth: z.number().nullable(),
  peakAtS: z.number().nullable(),
  /** the --burst the load carried; null: none */
  burst: BurstSpec.nullable(),
  /** the level the drain is measured back to: the largest depth of the 5 s before the burst (0 when it starts at t=0) */
  preBurstDepth: z.number().nullable(),
  /** seconds from the burst's end until the depth was back to preBurstDepth (or 0); null: see drainNote */
  drainS: z.number().nullable(),
  /** why drainS is null (no burst, never drained within the bound, no samples); null when measured */
  drainNote: z.string().nullable(),
  /** least-squares slope of the depth over the load's last windowS seconds */
  slope: z.object({
    windowS: z.number(),
    /** messages per second; null: fewer than 3 depth samples in the window */
    perS: z.number().nullable(),
    /** the fitted depth rises over the window by more than max(5 messages, 10% of its mean depth); null: no slope */
    growing: z.boolean().nullable(),
    samples: z.number(),
  }),
  /** how long the sampler waited after the load for the queue to empty, and whether it did */
  afterLoad: z.object({ boundS: z.number(), sampledS: z.number(), drained: z.boolean() }),
});
export type QueueSection = z.infer<typeof QueueSection>;

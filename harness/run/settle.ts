// Steady state after seeding. A COPY of 500,000 rows leaves a deployment that is not the
// architecture yet: replicas replay seconds of WAL (4.4 s behind on phase 5 at 1e6 users), the
// planner has no statistics for the new rows and the seed's dirty pages wait for a checkpoint that
// would land in the middle of the load. Settling does, per PostgreSQL primary: ANALYZE the seeded
// table, CHECKPOINT, read the primary's WAL position; then it waits until every replica has
// replayed up to that position, and CHECKPOINTs the replicas (a restartpoint) too. The wait is
// bounded: a replica that never catches up fails the run with one line, before any load.
import pg from 'pg';
import { BenchError, envError } from '../errors.ts';
import type { Deployment, Progress } from '../runtime/types.ts';
import type { DeployPlan, Endpoint } from '../topology/plan.ts';
import { serviceOf } from '../topology/plan.ts';
import { pgConnection } from '../../targets/app/store/postgres.ts';
import { socketClientConfig } from '../../targets/services/postgres.ts';
import { storeOf } from './seed.ts';
import { sleep } from '../runtime/wait.ts';

/** A PostgreSQL primary of the plan and the replicas that replay its WAL (directly or in a chain). */
export interface SettleGroup {
  primary: string;
  replicas: string[];
  /** tables the seed filled on this primary: ANALYZEd */
  tables: string[];
}

/** The table every seeded primary holds (targets/app/store/postgres.ts creates it). */
export const SEEDED_TABLE = 'users';

/**
 * The plan's PostgreSQL primaries with their replicas. A replica of a replica replays its root
 * primary's WAL, so it is grouped under the root. `seededPrimaries` are the primaries the seed
 * wrote to (the app's shards): only they get the seeded table ANALYZEd.
 */
export function settleGroups(plan: Pick<DeployPlan, 'services'>, seededPrimaries: readonly string[]): SettleGroup[] {
  const pgs = plan.services.filter((s) => s.config.kind === 'postgres');
  const upstream = new Map<string, string>();
  for (const s of pgs) {
    if (s.config.kind === 'postgres' && s.config.postgres.role === 'replica' && s.config.postgres.primary) upstream.set(s.name, s.config.postgres.primary);
  }
  const rootOf = (name: string): string => {
    const seen = new Set<string>();
    let at = name;
    while (upstream.has(at)) {
      if (seen.has(at)) throw new BenchError('internal', `replication loop through ${at}`);
      seen.add(at);
      at = upstream.get(at)!;
    }
    return at;
  };
  const groups = new Map<string, SettleGroup>();
  for (const s of pgs) {
    if (upstream.has(s.name)) continue;
    groups.set(s.name, { primary: s.name, replicas: [], tables: seededPrimaries.includes(s.name) ? [SEEDED_TABLE] : [] });
  }
  for (const s of pgs) {
    if (!upstream.has(s.name)) continue;
    const root = groups.get(rootOf(s.name));
    if (!root) throw new BenchError('internal', `replica ${s.name} streams from ${rootOf(s.name)}, which is not a PostgreSQL primary of the plan`);
    root.replicas.push(s.name);
  }
  return [...groups.values()];
}

/** A PostgreSQL LSN ("16/B374D848": high and low 32-bit halves in hex) as a byte position. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new BenchError('internal', `not a PostgreSQL LSN: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/** Bytes of WAL `replayed` is behind `target` (0 when it is at or past it). */
export function bytesBehind(target: string, replayed: string): number {
  const d = parseLsn(target) - parseLsn(replayed);
  return d > 0n ? Number(d) : 0;
}

/** 37.5 MB, 812 kB, 96 B: for progress lines. */
export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} kB`;
  return `${n} B`;
}

/** What settling found and did, for the progress lines and results.json's timings. */
export interface SettleReport {
  seconds: number;
  replicas: { name: string; primary: string; targetLsn: string; behindBytes: number; caughtUpS: number }[];
  analyzed: string[];
  checkpointed: string[];
  /** one line per step that could not be done and did not need to fail the run */
  skipped: string[];
}

export interface SettleOptions {
  timeoutMs: number;
  progress: Progress;
  signal?: AbortSignal;
  /** poll interval of the replay wait, default 100 ms */
  pollMs?: number;
}

const elapsed = (t0: number) => (performance.now() - t0) / 1000;
const s1 = (x: number) => `${x.toFixed(1)} s`;

/** Settles a freshly seeded deployment; see the file comment. Throws BenchError on timeout. */
export async function settle(deployment: Deployment, opts: SettleOptions): Promise<SettleReport> {
  const t0 = performance.now();
  const deadline = Date.now() + opts.timeoutMs;
  const plan = deployment.plan;
  const store = storeOf(deployment);
  const seeded = store?.kind === 'postgres' ? store.shards.map((s) => s.primary.name).filter((n): n is string => n !== undefined) : [];
  const groups = settleGroups(plan, seeded);
  const report: SettleReport = { seconds: 0, replicas: [], analyzed: [], checkpointed: [], skipped: [] };
  if (groups.length === 0) {
    opts.progress(`settle: no PostgreSQL in this phase${store?.kind === 'sqlite' ? ' (SQLite store)' : ''}, nothing to wait for`);
    return report;
  }
  const clients = new Map<string, pg.Client>();
  const remainingMs = () => Math.max(1, deadline - Date.now());
  const check = () => {
    if (opts.signal?.aborted) throw new BenchError('interrupted', 'interrupted while settling');
  };
  // The harness reaches every server directly, never through its Toxiproxy edge: a drill's toxic
  // must not slow the harness's own queries.
  const client = async (name: string) => {
    let c = clients.get(name);
    if (!c) {
      const at: Endpoint = serviceOf(plan, name).address;
      c = new pg.Client({ ...pgConnection(at), connectionTimeoutMillis: Math.min(10_000, remainingMs()) });
      c.on('error', () => {});
      clients.set(name, c);
      await c.connect();
    }
    return c;
  };
  /** `floorMs`: the least time a statement gets, even when the budget is nearly spent (a replica's
   *  poll begun just before the deadline must be answered, not timed out in ~0 ms) */
  const query = async (name: string, sql: string, floorMs = 0) => {
    const budgetMs = Math.max(floorMs, remainingMs());
    try {
      return await (await client(name)).query({ text: sql, query_timeout: budgetMs } as pg.QueryConfig);
    } catch (e) {
      // pg says only "Query read timeout": name the server and the statement that used up the budget
      if (/read timeout/i.test((e as Error).message)) {
        throw envError(`settle: ${name} did not answer ${sql.split(' ')[0]} within the ${s1(opts.timeoutMs / 1000)} settle budget`, `see ${name}'s log in the run directory; on a slow machine raise --settle-timeout`);
      }
      throw e;
    }
  };
  try {
    // 1. primaries: statistics for the seeded rows, then their dirty pages to disk
    let t = performance.now();
    for (const g of groups) {
      for (const table of g.tables) {
        check();
        await query(g.primary, `ANALYZE ${table}`);
        report.analyzed.push(`${table} on ${g.primary}`);
      }
    }
    const analyzeS = elapsed(t);
    t = performance.now();
    for (const g of groups) await checkpoint(deployment, g.primary, query, report, check);
    const primaryCheckpointS = elapsed(t);
    opts.progress(
      `settle: ${report.analyzed.length ? `ANALYZE ${report.analyzed.join(', ')} (${s1(analyzeS)}); ` : ''}CHECKPOINT on ${groups.map((g) => g.primary).join(', ')} (${s1(primaryCheckpointS)})`,
    );

    // 2. replicas: replayed up to their primary's position as it is now (after ANALYZE and CHECKPOINT)
    const waits: { name: string; primary: string; target: string; behind: number; t0: number }[] = [];
    for (const g of groups) {
      if (g.replicas.length === 0) continue;
      check();
      const target = String((await query(g.primary, 'SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
      for (const r of g.replicas) waits.push({ name: r, primary: g.primary, target, behind: 0, t0: performance.now() });
    }
    if (waits.length === 0) {
      opts.progress('settle: no replicas to wait for');
    } else {
      for (const w of waits) w.behind = bytesBehind(w.target, await replayLsn(w.name, query));
      opts.progress(`settle: waiting for ${waits.length} replica(s) to replay to their primary's LSN: ${waits.map((w) => `${w.name} → ${w.primary} ${w.target} (${fmtBytes(w.behind)} behind)`).join(', ')}`);
      const pending = new Set(waits);
      const last = new Map<string, string>();
      const waitT0 = performance.now();
      for (;;) {
        for (const w of [...pending]) {
          check();
          const at = await replayLsn(w.name, query);
          last.set(w.name, at);
          if (bytesBehind(w.target, at) === 0) {
            pending.delete(w);
            report.replicas.push({ name: w.name, primary: w.primary, targetLsn: w.target, behindBytes: w.behind, caughtUpS: elapsed(waitT0) });
          }
        }
        if (pending.size === 0) break;
        // checked after the sleep too: a poll begun past the deadline would get a query timeout of
        // ~0 ms and report "did not answer SELECT" for a replica that answers but is behind
        await sleep(opts.pollMs ?? 100, opts.signal);
        if (Date.now() >= deadline) {
          const w = [...pending][0]!;
          const at = last.get(w.name) ?? '?';
          throw envError(
            `settle: ${w.name} did not replay to ${w.primary}'s LSN ${w.target} within ${s1(opts.timeoutMs / 1000)} (replayed ${at}, ${at === '?' ? 'unknown' : fmtBytes(bytesBehind(w.target, at))} behind${pending.size > 1 ? `; ${pending.size - 1} more replica(s) behind` : ''})`,
            `see ${w.name}'s log in the run directory; on a slow machine raise --settle-timeout`,
          );
        }
      }
      opts.progress(`settle: ${report.replicas.map((r) => `${r.name} caught up in ${s1(r.caughtUpS)}`).join(', ')}`);
      t = performance.now();
      for (const w of waits) await checkpoint(deployment, w.name, query, report, check);
      opts.progress(`settle: CHECKPOINT (restartpoint) on ${waits.map((w) => w.name).join(', ')} (${s1(elapsed(t))})`);
    }
    for (const line of report.skipped) opts.progress(`settle: ${line}`);
    report.seconds = elapsed(t0);
    opts.progress(`settled in ${s1(report.seconds)}`);
    return report;
  } catch (e) {
    if (opts.signal?.aborted) throw new BenchError('interrupted', 'interrupted while settling');
    if (e instanceof BenchError) throw e;
    throw envError(`settle: ${(e as Error).message}`, 'the seeded databases did not answer as expected; see their logs in the run directory');
  } finally {
    await Promise.all([...clients.values()].map((c) => c.end().catch(() => {})));
  }
}

type Query = (name: string, sql: string, floorMs?: number) => Promise<pg.QueryResult>;

/** A replica's position poll may overrun the settle budget by this much at most. */
const REPLAY_POLL_FLOOR_MS = 1_000;

async function replayLsn(name: string, query: Query): Promise<string> {
  const lsn = (await query(name, 'SELECT pg_last_wal_replay_lsn()::text AS lsn', REPLAY_POLL_FLOOR_MS)).rows[0]?.lsn;
  // NULL: the server is not a standby (promoted, or not a replica at all): it replays nothing
  if (lsn === null || lsn === undefined) throw envError(`settle: ${name} is not replaying WAL (pg_last_wal_replay_lsn() is NULL): it is not a standby`, 'run: bench down, then try again');
  return String(lsn);
}

/**
 * CHECKPOINT needs a superuser or pg_checkpoint (granted to `bench` from PostgreSQL 15:
 * postgres.ts createBenchRole). Natively the harness has the server's unix socket, where the
 * superuser is trusted; elsewhere (Docker) it runs as `bench` and, when refused (an older server),
 * records the step as skipped rather than failing the run: a later checkpoint costs latency, not
 * correctness.
 */
async function checkpoint(deployment: Deployment, name: string, query: Query, report: SettleReport, check: () => void): Promise<void> {
  check();
  const started = deployment.services.get(name);
  try {
    // `dir` is the native runtime's: a unix socket there, where the superuser is trusted
    if (started?.dir !== undefined) {
      const su = new pg.Client({ ...socketClientConfig({ dir: started.dir, service: serviceOf(deployment.plan, name) }), connectionTimeoutMillis: 10_000 });
      su.on('error', () => {});
      await su.connect();
      try {
        await su.query('CHECKPOINT');
      } finally {
        await su.end().catch(() => {});
      }
    } else {
      await query(name, 'CHECKPOINT');
    }
    report.checkpointed.push(name);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== '42501') throw e;
    report.skipped.push(`CHECKPOINT skipped on ${name}: ${(e as Error).message}`);
  }
}


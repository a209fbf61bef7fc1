// Readiness checks with deadlines, in the style of testcontainers' wait strategies: each one
// polls with a short backoff (never a fixed sleep), honours an AbortSignal, and fails with a
// message that names what it waited for, for how long, and the last error it saw.
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { Endpoint } from '../topology/plan.ts';

export interface WaitOptions {
  /** the deadline of this check; default 30 s */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** first pause between attempts; it grows by half up to 250 ms. Default 20 ms */
  intervalMs?: number;
}

/** Thrown when a readiness check misses its deadline. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    readonly lastError: string | undefined,
  ) {
    super(`timed out after ${(waitedMs / 1000).toFixed(1)} s waiting for ${what}${lastError ? ` (last: ${lastError})` : ''}`);
    this.name = 'WaitTimeoutError';
  }
}

/** Thrown when the wait's AbortSignal fires first; carries the signal's reason as cause. */
export class WaitAbortedError extends Error {
  constructor(readonly what: string, cause: unknown) {
    super(`stopped waiting for ${what}: ${cause instanceof Error ? cause.message : String(cause ?? 'aborted')}`, { cause });
    this.name = 'WaitAbortedError';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_INTERVAL_MS = 250;

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The one polling loop under every check: calls `attempt` until it returns a value other than
 * `undefined`; a thrown error counts as "not yet" and is kept for the timeout message.
 */
export async function until<T>(what: string, attempt: (remainingMs: number) => Promise<T | undefined>, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let interval = opts.intervalMs ?? 20;
  let lastError: string | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw new WaitAbortedError(what, opts.signal.reason);
    try {
      const value = await attempt(Math.max(1, deadline - Date.now()));
      if (value !== undefined) return value;
    } catch (e) {
      // An attempt cut short by the deadline itself says less than the failure before it.
      if (lastError === undefined || Date.now() < deadline) lastError = e instanceof Error ? e.message : String(e);
    }
    if (opts.signal?.aborted) throw new WaitAbortedError(what, opts.signal.reason);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new WaitTimeoutError(what, Date.now() - started, lastError);
    await sleep(Math.min(interval, remaining), opts.signal);
    interval = Math.min(MAX_INTERVAL_MS, Math.ceil(interval * 1.5));
  }
}

/** One TCP connection attempt, bounded by `timeoutMs`. */
export function tryConnect(endpoint: Endpoint, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timeout'));
    }, Math.min(timeoutMs, 2_000));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    });
  });
}

export interface HttpWaitOptions extends WaitOptions {
  /** the status that means ready; default any 2xx */
  status?: number;
  /** a pattern the body must match */
  body?: RegExp;
}

export interface SqlWaitOptions extends WaitOptions {
  /** default 'SELECT 1' */
  query?: string;
  /** the rows must satisfy this; default: the query succeeded */
  check?: (rows: Record<string, unknown>[]) => boolean;
}

const describeSql = (c: pg.ClientConfig) => `SQL on ${c.host}:${c.port ?? 5432} as ${c.user ?? 'postgres'}`;

/** The readiness checks. Compose them by awaiting one after another; each keeps its own deadline. */
export const waitFor = {
  until,

  /** a TCP port accepts connections */
  port(endpoint: Endpoint, opts: WaitOptions = {}): Promise<void> {
    return until(`TCP ${endpoint.host}:${endpoint.port}`, async (left) => {
      await tryConnect(endpoint, left);
      return true;
    }, opts).then(() => undefined);
  },

  /** an HTTP GET answers the expected status (and body) */
  http(url: string, opts: HttpWaitOptions = {}): Promise<void> {
    const what = `GET ${url}${opts.status ? ` -> ${opts.status}` : ' -> 2xx'}${opts.body ? ` matching ${opts.body}` : ''}`;
    return until(what, async (left) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(left, 2_000)) });
      const text = await res.text();
      const statusOk = opts.status ? res.status === opts.status : res.status >= 200 && res.status < 300;
      if (!statusOk) throw new Error(`status ${res.status}`);
      if (opts.body && !opts.body.test(text)) throw new Error(`body did not match: ${text.slice(0, 80)}`);
      return true;
    }, opts).then(() => undefined);
  },

  /** a line of `file` matches `pattern` (the file may not exist yet) */
  log(file: string, pattern: RegExp, opts: WaitOptions = {}): Promise<string> {
    return until(`${pattern} in ${file}`, async () => {
      const text = await readFile(file, 'utf8');
      return text.split('\n').find((line) => pattern.test(line));
    }, opts);
  },

  /** a SQL query succeeds (and its rows pass `check`) on a fresh connection */
  sql(config: pg.ClientConfig, opts: SqlWaitOptions = {}): Promise<void> {
    const query = opts.query ?? 'SELECT 1';
    return until(`${describeSql(config)}: ${query}`, async (left) => {
      const client = new pg.Client({ ...config, connectionTimeoutMillis: Math.min(left, 2_000) });
      client.on('error', () => {});
      try {
        await client.connect();
        const res = await client.query(query);
        if (opts.check && !opts.check(res.rows)) throw new Error(`check failed on ${JSON.stringify(res.rows).slice(0, 80)}`);
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    }, opts).then(() => undefined);
  },
};

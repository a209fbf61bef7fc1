// The drill's own probes: a few requests sent every 250 ms beside the load, with sub-second
// timestamps. The health probe gives the finest time to detect; write probes on chosen ids give
// a shard outage's blast radius. Bounded in time and in requests in flight (one per probe).
import type { AcknowledgedWrite, IndeterminateWrite } from '../harness/load/types.ts';
import type { ProbeSample } from './verdict.ts';

export type { ProbeSample };

export interface ProbeSpec {
  /** "health", "write shard b": samples are grouped by it */
  name: string;
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  /** a write probe: PUT {name: `${prefix}-${n}`} to user `id`; acknowledged ones join the write check */
  write?: { id: number; prefix: string };
}

export interface ProbeResult extends ProbeSample {
  name: string;
  /** HTTP status, 0 for a connection error or a timeout */
  status: number;
  latencyMs: number;
  /** the app server that answered (its X-Served-By header), when one did */
  servedBy?: string;
}

export interface ProberOptions {
  /** http://host:port of the system's entry */
  baseUrl: string;
  specs: readonly ProbeSpec[];
  /** ms since epoch that tS is relative to (the load's start) */
  t0Ms: number;
  intervalMs?: number;
  timeoutMs?: number;
  /** stop on its own after this long, whatever happens */
  maxDurationMs: number;
  signal?: AbortSignal;
}

export interface Prober {
  /** stops probing, waits for the requests in flight, and returns what was seen */
  stop(): Promise<{ samples: ProbeResult[]; writes: AcknowledgedWrite[]; indeterminate: IndeterminateWrite[] }>;
}

/** The health probe every drill runs: the entry's /healthz. */
export const healthProbe: ProbeSpec = { name: 'health', method: 'GET', path: '/healthz' };

/** Starts probing now. */
export function startProber(o: ProberOptions): Prober {
  const intervalMs = o.intervalMs ?? 250;
  const timeoutMs = o.timeoutMs ?? 1_000;
  const samples: ProbeResult[] = [];
  const writes: AcknowledgedWrite[] = [];
  const indeterminate: IndeterminateWrite[] = [];
  const inFlight = new Map<string, Promise<void>>();
  const stopper = new AbortController();
  const onAbort = () => stopper.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const deadline = Date.now() + o.maxDurationMs;
  let n = 0;

  const fire = (spec: ProbeSpec) => {
    if (inFlight.has(spec.name)) return; // still waiting for the last one: its timeout will tell
    const seq = ++n;
    const sentMs = Date.now();
    const body = spec.write ? JSON.stringify({ name: `${spec.write.prefix}-${seq}` }) : undefined;
    const p = (async () => {
      let status = 0;
      let servedBy: string | undefined;
      try {
        const res = await fetch(o.baseUrl + spec.path, {
          method: spec.method,
          headers: body ? { 'content-type': 'application/json' } : undefined,
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        servedBy = res.headers.get('x-served-by') ?? undefined;
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      const doneMs = Date.now();
      const ok = status >= 200 && status < 300;
      samples.push({ name: spec.name, tS: (sentMs - o.t0Ms) / 1000, ok, status, latencyMs: doneMs - sentMs, ...(servedBy ? { servedBy } : {}) });
      if (spec.write) {
        const w = { id: spec.write.id, value: `${spec.write.prefix}-${seq}`, sentS: (sentMs - o.t0Ms) / 1000 };
        if (ok) writes.push({ ...w, atS: (doneMs - o.t0Ms) / 1000 });
        // no answer, or a 5xx: the write may still have taken effect (a 4xx did not)
        else if (status === 0 || status >= 500) indeterminate.push(w);
      }
    })().finally(() => inFlight.delete(spec.name));
    inFlight.set(spec.name, p);
  };

  const loop = (async () => {
    while (!stopper.signal.aborted && Date.now() < deadline) {
      for (const spec of o.specs) fire(spec);
      await new Promise<void>((resolve) => {
        const onStop = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          stopper.signal.removeEventListener('abort', onStop);
          resolve();
        }, intervalMs);
        stopper.signal.addEventListener('abort', onStop, { once: true });
      });
    }
  })();

  return {
    async stop() {
      stopper.abort();
      o.signal?.removeEventListener('abort', onAbort);
      await loop;
      await Promise.allSettled([...inFlight.values()]);
      samples.sort((a, b) => a.tS - b.tS);
      return { samples, writes, indeterminate };
    },
  };
}

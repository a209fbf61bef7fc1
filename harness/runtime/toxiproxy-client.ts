// A small typed client of Toxiproxy's REST API (v2), on fetch. The runtime creates one proxy per
// edge with it; the chaos faults add and remove toxics and cut edges with it.
import type { Endpoint } from '../topology/plan.ts';

export interface ProxySpec {
  /** the edge name, e.g. "app->pg-primary" */
  name: string;
  /** "host:port" */
  listen: string;
  upstream: string;
  enabled?: boolean;
}

export type ToxicStream = 'upstream' | 'downstream';

/** Attributes of the toxic types Toxiproxy ships (see its README, "Toxics"). */
export interface ToxicAttributes {
  latency: { latency: number; jitter?: number };
  bandwidth: { rate: number };
  slow_close: { delay: number };
  timeout: { timeout: number };
  reset_peer: { timeout?: number };
  slicer: { average_size: number; size_variation?: number; delay?: number };
  limit_data: { bytes: number };
}
export type ToxicType = keyof ToxicAttributes;

export interface Toxic<T extends ToxicType = ToxicType> {
  name: string;
  type: T;
  stream: ToxicStream;
  /** probability the toxic applies to a connection, 0..1 */
  toxicity: number;
  attributes: ToxicAttributes[T];
}

export interface ProxyState extends Required<ProxySpec> {
  toxics: Toxic[];
}

/** Thrown on a non-2xx answer; `status` 404 means no such proxy or toxic. */
export class ToxiproxyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ToxiproxyError';
  }
}

/** "host:port" of an endpoint, the form Toxiproxy takes. */
export const hostPort = (e: Endpoint) => `${e.host}:${e.port}`;

export interface ToxiproxyClient {
  readonly url: string;
  version(): Promise<string>;
  listProxies(): Promise<ProxyState[]>;
  getProxy(name: string): Promise<ProxyState>;
  createProxy(spec: ProxySpec): Promise<ProxyState>;
  /** creates or replaces every proxy in one call */
  populate(specs: ProxySpec[]): Promise<ProxyState[]>;
  deleteProxy(name: string): Promise<void>;
  /** disabled = every connection through the edge is closed and new ones refused */
  setEnabled(name: string, enabled: boolean): Promise<ProxyState>;
  addToxic<T extends ToxicType>(proxy: string, toxic: { name?: string; type: T; stream?: ToxicStream; toxicity?: number; attributes: ToxicAttributes[T] }): Promise<Toxic<T>>;
  removeToxic(proxy: string, toxic: string): Promise<void>;
  /** enables every proxy and removes every toxic */
  resetAll(): Promise<void>;
}

/** A client for the Toxiproxy API at `api` (its address, or a base URL). */
export function toxiproxyClient(api: Endpoint | string, opts: { timeoutMs?: number } = {}): ToxiproxyClient {
  const url = typeof api === 'string' ? api.replace(/\/$/, '') : `http://${api.host}:${api.port}`;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const p = (name: string) => `/proxies/${encodeURIComponent(name)}`;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(url + path, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new ToxiproxyError(`toxiproxy ${method} ${path}: ${(e as Error).message}`, 0);
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        detail = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        /* not JSON */
      }
      throw new ToxiproxyError(`toxiproxy ${method} ${path}: ${res.status} ${detail.trim()}`, res.status);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const clean = (x: ProxyState): ProxyState => ({ name: x.name, listen: x.listen, upstream: x.upstream, enabled: x.enabled, toxics: x.toxics ?? [] });

  return {
    url,
    version: async () => {
      const v = await call<{ version?: string } | string>('GET', '/version');
      return typeof v === 'string' ? v : v.version ?? '';
    },
    listProxies: async () => Object.values(await call<Record<string, ProxyState>>('GET', '/proxies')).map(clean),
    getProxy: async (name) => clean(await call<ProxyState>('GET', p(name))),
    createProxy: async (spec) => clean(await call<ProxyState>('POST', '/proxies', { enabled: true, ...spec })),
    populate: async (specs) => (await call<{ proxies: ProxyState[] }>('POST', '/populate', specs.map((s) => ({ enabled: true, ...s })))).proxies.map(clean),
    deleteProxy: async (name) => void (await call('DELETE', p(name))),
    setEnabled: async (name, enabled) => clean(await call<ProxyState>('PATCH', p(name), { enabled })),
    addToxic: async (proxy, t) =>
      call('POST', `${p(proxy)}/toxics`, {
        name: t.name ?? `${t.type}_${t.stream ?? 'downstream'}`,
        type: t.type,
        stream: t.stream ?? 'downstream',
        toxicity: t.toxicity ?? 1,
        attributes: t.attributes,
      }),
    removeToxic: async (proxy, toxic) => void (await call('DELETE', `${p(proxy)}/toxics/${encodeURIComponent(toxic)}`)),
    resetAll: async () => void (await call('POST', '/reset')),
  };
}

// After the load: the servers' own view of the run. The app's request counter is read straight
// from each app's /metrics (it works without Prometheus); per-tier figures come from the run's
// Prometheus when there is one.
import type { DeployPlan } from '../topology/plan.ts';
import { endpointUrl } from '../topology/plan.ts';
import { collectTiers } from '../metrics/tiers.ts';
import { flush } from '../metrics/query.ts';
import type { Deployment, StartedService } from '../runtime/types.ts';
import { EDGE_LOG_FILE, parseEdgeLog, type EdgeCacheCounts } from '../../targets/services/nginx.ts';

export interface ServerView {
  appRequests: number | null;
  tiers: Record<string, Record<string, number>>;
  prometheus: Record<string, [number, number][]>;
  notes: string[];
}

/** Sums the samples of one counter in a Prometheus text exposition. */
export function sumCounter(text: string, metric: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** The servers' counters before the load: each app's requests (apps that do not answer are left
 *  out) and each CDN edge's cache hits and misses so far. */
export interface ServerBaseline {
  apps: Map<string, number>;
  edges: Map<string, { hits: number; misses: number }>;
}

/** Reads the ServerBaseline; `apps: false` skips the apps (Prometheus windows their counts). */
export async function serverBaseline(deployment: Deployment, plan: DeployPlan, opts: { apps: boolean }): Promise<ServerBaseline> {
  const edges = new Map<string, { hits: number; misses: number }>();
  for (const s of plan.services.filter((x) => x.kind === 'nginx')) {
    const started = deployment.services.get(s.name);
    if (!started) continue;
    const c = await edgeCounts(started);
    edges.set(s.name, { hits: c.hits, misses: c.misses });
  }
  return { apps: opts.apps ? await appRequestCounts(deployment, plan) : new Map(), edges };
}

/** A CDN edge's cache hits and misses so far, from the access log it writes in its directory
 *  (read through the runtime: natively and in Docker alike). */
export async function edgeCounts(edge: StartedService): Promise<EdgeCacheCounts> {
  return parseEdgeLog((await edge.readFile(EDGE_LOG_FILE)) ?? '');
}

async function appRequestCounts(deployment: Deployment, plan: DeployPlan): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const s of plan.services.filter((x) => x.kind === 'app')) {
    const started = deployment.services.get(s.name);
    if (started && !started.isRunning()) continue;
    try {
      const res = await fetch(`${endpointUrl(s.address)}/metrics`, { signal: AbortSignal.timeout(3000) });
      counts.set(s.name, sumCounter(await res.text(), 'http_requests_total'));
    } catch {
      // read again at the end; without a baseline that app's count is its total
    }
  }
  return counts;
}

/**
 * The servers' view of the load's window. `baseline` (serverBaseline before the load) is
 * subtracted from the counters read directly (apps without Prometheus, the edge's access log), so
 * requests before the load (a warm-up) are not counted; a counter below its baseline was reset by
 * a restart and counts whole.
 */
export async function collectServerView(deployment: Deployment, plan: DeployPlan, window: { startMs: number; endMs: number }, prometheusUrl: string | null, baseline?: ServerBaseline): Promise<ServerView> {
  const notes: string[] = [];
  let appRequests: number | null = 0;
  for (const s of plan.services.filter((x) => x.kind === 'app')) {
    const started = deployment.services.get(s.name);
    if (started && !started.isRunning()) {
      notes.push(`${s.name} was not running at the end: its requests are missing from the server view`);
      continue;
    }
    try {
      const res = await fetch(`${endpointUrl(s.address)}/metrics`, { signal: AbortSignal.timeout(3000) });
      const total = sumCounter(await res.text(), 'http_requests_total');
      const before = baseline?.apps.get(s.name) ?? 0;
      appRequests += total >= before ? total - before : total;
    } catch (e) {
      notes.push(`could not read ${s.name}/metrics: ${(e as Error).message}`);
    }
  }
  if (appRequests === 0 && notes.length > 0) appRequests = null;
  let tiers: ServerView['tiers'] = {};
  // The CDN edge's hit ratio, from its access log (nginx logs $upstream_cache_status per request).
  const edge: Record<string, number> = {};
  for (const s of plan.services.filter((x) => x.kind === 'nginx')) {
    const started = deployment.services.get(s.name);
    if (!started) continue;
    const c = await edgeCounts(started);
    const before = baseline?.edges.get(s.name);
    const reset = before !== undefined && (c.hits < before.hits || c.misses < before.misses);
    const hits = before && !reset ? c.hits - before.hits : c.hits;
    const misses = before && !reset ? c.misses - before.misses : c.misses;
    edge[`hits.${s.name}`] = hits;
    edge[`misses.${s.name}`] = misses;
    if (hits + misses > 0) edge[`hitRatio.${s.name}`] = hits / (hits + misses);
  }
  let prometheus: ServerView['prometheus'] = {};
  if (prometheusUrl) {
    const url = prometheusUrl;
    try {
      // Counters are only complete once every target was scraped after the load's end.
      await flush(url, window.endMs / 1000, { timeoutMs: 10_000, labels: { run: plan.runId } });
      const got = await collectTiers(url, plan, { startS: window.startMs / 1000, endS: window.endMs / 1000 });
      tiers = { ...got.tiers };
      prometheus = got.prometheus;
      notes.push(...got.notes);
      // Prometheus sees across an app's restart (a counter reset); a direct scrape does not.
      if (got.appRequests !== null) appRequests = got.appRequests;
    } catch (e) {
      notes.push(`per-tier figures unavailable: ${(e as Error).message}`);
    }
  }
  if (Object.keys(edge).length > 0) tiers = { ...tiers, edge: { ...tiers.edge, ...edge } };
  return { appRequests, tiers, prometheus, notes };
}

// The cache tier: the app's cache-aside hit ratio, the CDN edge's hit ratio, and Redis itself.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { benchDashboard, finalize, onOff, RATE, row, stat, stateTimeline, timeseries } from './common.ts';

const lookups = (sel = '') => `sum(rate(cache_requests_total${sel}[${RATE}]))`;
const appHit = `${lookups('{result="hit"}')} / ${lookups()}`;
// nginx's $upstream_cache_status: HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED, BYPASS.
const edge = (sel = '') => `sum(rate(edge_cache_requests_total${sel}[${RATE}]))`;
const edgeHit = `${edge('{result=~"(?i)hit"}')} / ${edge()}`;
const edgeServed = `${edge('{result=~"(?i)hit|stale|updating|revalidated"}')} / ${edge()}`;
const redisRate = (m: string) => `sum by (instance) (rate(${m}[${RATE}]))`;

const ratioThresholds = [
  { value: null, color: 'red' },
  { value: 0.5, color: 'orange' },
  { value: 0.8, color: 'green' },
];

/** bench / cache (Redis, CDN edge) */
export function cacheDashboard(): Dashboard {
  return finalize(
    benchDashboard({
      uid: 'bench-cache',
      title: 'bench / cache (Redis, CDN edge)',
      description: 'Cache-aside hit ratio from the app (cache_requests_total), the CDN edge hit ratio (edge_cache_requests_total), and redis-exporter.',
      tags: ['cache', 'redis', 'cdn'],
    })
      .withRow(row('Hit ratios'))
      .withPanel(stat({ title: 'App cache hit ratio', unit: 'percentunit', w: 8, queries: [{ expr: appHit }], thresholds: ratioThresholds }))
      .withPanel(stat({ title: 'Edge hit ratio', unit: 'percentunit', w: 8, queries: [{ expr: edgeHit }], thresholds: ratioThresholds }))
      .withPanel(
        stat({
          title: 'Redis keyspace hit ratio',
          unit: 'percentunit',
          w: 8,
          queries: [
            {
              expr: `sum(rate(redis_keyspace_hits_total[${RATE}])) / (sum(rate(redis_keyspace_hits_total[${RATE}])) + sum(rate(redis_keyspace_misses_total[${RATE}])))`,
            },
          ],
          thresholds: ratioThresholds,
        }),
      )
      .withRow(row('Cache-aside (app)'))
      .withPanel(
        timeseries({
          title: 'App cache hit ratio over time',
          description: 'Reads of user_profile_<id> answered from Redis; the rest went to the database.',
          unit: 'percentunit',
          max: 1,
          queries: [
            { expr: appHit, legend: 'all servers' },
            {
              expr: `sum by (server) (rate(cache_requests_total{result="hit"}[${RATE}])) / sum by (server) (rate(cache_requests_total[${RATE}]))`,
              legend: '{{server}}',
            },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Cache lookups by result',
          description: 'result="error" counts lookups that failed and degraded to the database.',
          unit: 'short',
          stack: true,
          queries: [{ expr: `sum by (result) (rate(cache_requests_total[${RATE}]))`, legend: '{{result}}' }],
        }),
      )
      .withRow(row('CDN edge'))
      .withPanel(
        timeseries({
          title: 'Edge hit ratio over time',
          description: 'HIT only, and everything served from the edge cache (HIT, STALE, UPDATING, REVALIDATED): stale serving keeps answering while the origin is down.',
          unit: 'percentunit',
          max: 1,
          queries: [
            { expr: edgeHit, legend: 'HIT' },
            { expr: edgeServed, legend: 'served from cache' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Edge lookups by result',
          unit: 'short',
          stack: true,
          queries: [{ expr: `sum by (result) (rate(edge_cache_requests_total[${RATE}]))`, legend: '{{result}}' }],
        }),
      )
      .withRow(row('Redis (redis-exporter)'))
      .withPanel(
        stateTimeline({
          title: 'Redis reachable',
          unit: 'short',
          h: 5,
          queries: [{ expr: 'max by (instance) (redis_up)', legend: '{{instance}}' }],
          mappings: onOff({ text: 'DOWN', color: 'red' }, { text: 'UP', color: 'green' }),
        }),
      )
      .withPanel(timeseries({ title: 'Commands/s', unit: 'short', w: 8, queries: [{ expr: redisRate('redis_commands_processed_total'), legend: '{{instance}}' }] }))
      .withPanel(timeseries({ title: 'Connected clients', unit: 'short', w: 8, queries: [{ expr: 'sum by (instance) (redis_connected_clients)', legend: '{{instance}}' }] }))
      .withPanel(timeseries({ title: 'Memory used', unit: 'bytes', w: 8, queries: [{ expr: 'sum by (instance) (redis_memory_used_bytes)', legend: '{{instance}}' }] }))
      .withPanel(timeseries({ title: 'Keys', unit: 'short', w: 8, queries: [{ expr: 'sum by (instance) (redis_db_keys)', legend: '{{instance}}' }] }))
      .withPanel(
        timeseries({
          title: 'Evicted and expired keys',
          unit: 'short',
          w: 8,
          queries: [
            { expr: redisRate('redis_evicted_keys_total'), legend: '{{instance}} evicted' },
            { expr: redisRate('redis_expired_keys_total'), legend: '{{instance}} expired' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Keyspace hits and misses',
          unit: 'short',
          w: 8,
          queries: [
            { expr: redisRate('redis_keyspace_hits_total'), legend: '{{instance}} hits' },
            { expr: redisRate('redis_keyspace_misses_total'), legend: '{{instance}} misses' },
          ],
        }),
      ),
  );
}

// The app tier: RED (rate, errors, duration) per route and per app server, from the reference
// app's prom-client metrics, plus the process view that shows a host-size ceiling.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { benchDashboard, finalize, labelVariable, RATE, row, timeseries } from './common.ts';

const SEL = 'server=~"$server", route=~"$route"';
const rate = (extra = '') => `rate(http_requests_total{${SEL}${extra}}[${RATE}])`;
const p = (q: number, by: string) =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(http_request_duration_seconds_bucket{${SEL}}[${RATE}])))`;

/** bench / app */
export function appDashboard(): Dashboard {
  return finalize(
    benchDashboard({
      uid: 'bench-app',
      title: 'bench / app',
      description: 'The reference app, RED per route and per app server (label server), from http_requests_total and http_request_duration_seconds.',
      tags: ['app'],
    })
      .withVariable(labelVariable('server', 'http_requests_total', 'app server'))
      .withVariable(labelVariable('route', 'http_requests_total'))
      .withRow(row('Rate'))
      .withPanel(timeseries({ title: 'Requests by route', unit: 'reqps', stack: true, queries: [{ expr: `sum by (route) (${rate()})`, legend: '{{route}}' }] }))
      .withPanel(timeseries({ title: 'Requests by app server', unit: 'reqps', stack: true, queries: [{ expr: `sum by (server) (${rate()})`, legend: '{{server}}' }] }))
      .withRow(row('Errors'))
      .withPanel(
        timeseries({
          title: '5xx by route',
          unit: 'reqps',
          queries: [{ expr: `sum by (route) (${rate(', status=~"5.."')})`, legend: '{{route}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Error ratio by app server',
          unit: 'percentunit',
          queries: [{ expr: `sum by (server) (${rate(', status=~"5.."')}) / sum by (server) (${rate()})`, legend: '{{server}}' }],
        }),
      )
      .withRow(row('Duration'))
      .withPanel(
        timeseries({
          title: 'Latency percentiles (server side)',
          unit: 's',
          w: 8,
          queries: [
            { expr: p(0.5, ''), legend: 'p50' },
            { expr: p(0.95, ''), legend: 'p95' },
            { expr: p(0.99, ''), legend: 'p99' },
          ],
        }),
      )
      .withPanel(timeseries({ title: 'p99 by route', unit: 's', w: 8, queries: [{ expr: p(0.99, 'route'), legend: '{{route}}' }] }))
      .withPanel(timeseries({ title: 'p99 by app server', unit: 's', w: 8, queries: [{ expr: p(0.99, 'server'), legend: '{{server}}' }] }))
      .withRow(row('Process (prom-client default metrics)'))
      .withPanel(
        timeseries({
          title: 'CPU per app process',
          description: 'CPU seconds per second; a flat line at the host size (e.g. 0.25) is the cgroup quota: the host is the ceiling.',
          unit: 'short',
          w: 8,
          queries: [
            {
              expr: `sum by (instance) (rate(process_cpu_seconds_total[${RATE}])) and on (instance) nodejs_eventloop_lag_p99_seconds`,
              legend: '{{instance}}',
            },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Event loop lag p99',
          unit: 's',
          w: 8,
          queries: [{ expr: 'max by (instance) (nodejs_eventloop_lag_p99_seconds)', legend: '{{instance}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Resident memory',
          unit: 'bytes',
          w: 8,
          queries: [
            {
              expr: 'max by (instance) (process_resident_memory_bytes) and on (instance) nodejs_eventloop_lag_p99_seconds',
              legend: '{{instance}}',
            },
          ],
        }),
      ),
  );
}

// The overview: the run as the client saw it (k6 names, from k6 or the embedded engine), the
// server's own count beside it, and the fault windows, on one page.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { benchDashboard, finalize, onOff, RATE, row, stat, stateTimeline, timeseries } from './common.ts';

const ERR = 'status!~"2..|3.."';
const reqRate = `sum(rate(k6_http_reqs_total[${RATE}]))`;
const errRate = `sum(rate(k6_http_reqs_total{${ERR}}[${RATE}]))`;
const quantile = (q: number, window = RATE) =>
  `histogram_quantile(${q}, sum by (le) (rate(k6_http_req_duration_seconds_bucket[${window}])))`;

/** bench / overview */
export function overviewDashboard(): Dashboard {
  return finalize(
    benchDashboard({
      uid: 'bench-overview',
      title: 'bench / overview',
      description: 'A run from the client side (k6 metric names) and the server side, with fault windows as annotations.',
      tags: ['overview'],
    })
      .withRow(row('Client view (load generator)'))
      .withPanel(stat({ title: 'Requests/s', unit: 'reqps', queries: [{ expr: reqRate }] }))
      .withPanel(
        stat({
          title: 'Error ratio',
          unit: 'percentunit',
          decimals: 2,
          queries: [{ expr: `${errRate} / ${reqRate}` }],
          thresholds: [
            { value: null, color: 'green' },
            { value: 0.001, color: 'orange' },
            { value: 0.01, color: 'red' },
          ],
        }),
      )
      .withPanel(stat({ title: 'p95', unit: 's', queries: [{ expr: quantile(0.95) }] }))
      .withPanel(
        stat({
          title: 'p99',
          unit: 's',
          queries: [{ expr: quantile(0.99) }],
          thresholds: [
            { value: null, color: 'green' },
            { value: 0.25, color: 'orange' },
            { value: 1, color: 'red' },
          ],
        }),
      )
      .withPanel(
        stat({
          title: 'Dropped/s',
          description: 'Requests due but not sent: the generator or its in-flight cap could not keep up.',
          unit: 'short',
          queries: [{ expr: `sum(rate(k6_dropped_iterations_total[${RATE}]))` }],
          thresholds: [
            { value: null, color: 'green' },
            { value: 0.001, color: 'red' },
          ],
        }),
      )
      .withPanel(
        stat({
          title: 'Faults active',
          unit: 'short',
          queries: [{ expr: 'sum(bench_fault_active) or vector(0)' }],
          thresholds: [
            { value: null, color: 'green' },
            { value: 1, color: 'red' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Request rate (client)',
          unit: 'reqps',
          queries: [{ expr: reqRate, legend: 'completed' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Responses by status (client)',
          unit: 'reqps',
          stack: true,
          queries: [{ expr: `sum by (status) (rate(k6_http_reqs_total[${RATE}]))`, legend: '{{status}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Latency percentiles (client)',
          description: 'From k6_http_req_duration_seconds buckets; measured from the intended send time (no coordinated omission).',
          unit: 's',
          queries: [
            { expr: quantile(0.5), legend: 'p50' },
            { expr: quantile(0.9), legend: 'p90' },
            { expr: quantile(0.95), legend: 'p95' },
            { expr: quantile(0.99), legend: 'p99' },
            { expr: quantile(0.999), legend: 'p99.9' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Errors (client)',
          description: 'Responses other than 2xx/3xx; status 0 is a network error or timeout.',
          unit: 'reqps',
          stack: true,
          queries: [{ expr: `sum by (status) (rate(k6_http_reqs_total{${ERR}}[${RATE}]))`, legend: '{{status}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Error ratio (client)',
          unit: 'percentunit',
          queries: [{ expr: `${errRate} / ${reqRate}`, legend: 'errors / requests' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Dropped iterations',
          description: 'Arrivals the open-model generator could not send: the offered load was higher than what was measured.',
          unit: 'short',
          queries: [{ expr: `sum(rate(k6_dropped_iterations_total[${RATE}]))`, legend: 'dropped/s' }],
        }),
      )
      .withRow(row('Server view (app)'))
      .withPanel(
        timeseries({
          title: 'Client vs server request rate',
          description: 'What the generator completed against what the app servers answered: a gap is requests lost or answered elsewhere (LB, edge cache).',
          unit: 'reqps',
          queries: [
            { expr: reqRate, legend: 'client: completed' },
            { expr: `sum(rate(http_requests_total[${RATE}]))`, legend: 'server: answered' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Requests by app server',
          unit: 'reqps',
          stack: true,
          queries: [{ expr: `sum by (server) (rate(http_requests_total[${RATE}]))`, legend: '{{server}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Server errors (5xx) by app server',
          unit: 'reqps',
          queries: [{ expr: `sum by (server) (rate(http_requests_total{status=~"5.."}[${RATE}]))`, legend: '{{server}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Server latency p99 by app server',
          unit: 's',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (le, server) (rate(http_request_duration_seconds_bucket[${RATE}])))`,
              legend: '{{server}}',
            },
          ],
        }),
      )
      .withRow(row('Faults'))
      .withPanel(
        stateTimeline({
          title: 'Fault windows',
          description: 'bench_fault_active{fault,target}: 1 while the harness holds a fault.',
          unit: 'short',
          queries: [{ expr: 'max by (fault, target) (bench_fault_active)', legend: '{{fault}} → {{target}}' }],
          mappings: onOff({ text: 'off', color: 'transparent' }, { text: 'FAULT', color: 'red' }),
        }),
      ),
  );
}

// The load balancer tier: HAProxy's built-in Prometheus exporter (haproxy_* names).
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { benchDashboard, finalize, onOff, RATE, row, stateTimeline, timeseries } from './common.ts';

const byServer = `sum by (server) (rate(haproxy_server_http_responses_total[${RATE}]))`;

/** bench / lb (HAProxy) */
export function lbDashboard(): Dashboard {
  return finalize(
    benchDashboard({
      uid: 'bench-lb',
      title: 'bench / lb (HAProxy)',
      description: "HAProxy's view from its built-in exporter: responses, queue, server states and how traffic spreads over the app servers.",
      tags: ['lb', 'haproxy'],
    })
      .withRow(row('Backends'))
      .withPanel(
        timeseries({
          title: 'Backend responses by code',
          unit: 'reqps',
          stack: true,
          queries: [{ expr: `sum by (code) (rate(haproxy_backend_http_responses_total[${RATE}]))`, legend: '{{code}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: '5xx ratio per backend',
          unit: 'percentunit',
          queries: [
            {
              expr:
                `sum by (proxy) (rate(haproxy_backend_http_responses_total{code="5xx"}[${RATE}])) / ` +
                `sum by (proxy) (rate(haproxy_backend_http_responses_total[${RATE}]))`,
              legend: '{{proxy}}',
            },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Backend queue',
          description: 'Requests waiting for a free server: the backend is saturated.',
          unit: 'short',
          w: 8,
          queries: [{ expr: 'sum by (proxy) (haproxy_backend_current_queue)', legend: '{{proxy}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Servers up per backend',
          unit: 'short',
          w: 8,
          queries: [{ expr: 'sum by (proxy) (haproxy_backend_active_servers)', legend: '{{proxy}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Backend response time (avg of last 1024)',
          unit: 's',
          w: 8,
          queries: [{ expr: 'max by (proxy) (haproxy_backend_response_time_average_seconds)', legend: '{{proxy}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Retries, redispatches, connection errors',
          description: 'With retries and `option redispatch`, a dead server costs retries here instead of errors to clients.',
          unit: 'short',
          w: 24,
          queries: [
            { expr: `sum(rate(haproxy_backend_retry_warnings_total[${RATE}]))`, legend: 'retries/s' },
            { expr: `sum(rate(haproxy_backend_redispatch_warnings_total[${RATE}]))`, legend: 'redispatches/s' },
            { expr: `sum(rate(haproxy_backend_connection_errors_total[${RATE}]))`, legend: 'connection errors/s' },
          ],
        }),
      )
      .withRow(row('Servers'))
      .withPanel(
        stateTimeline({
          title: 'Server state',
          description: 'haproxy_server_status{state="UP"}: 1 while the health checks pass.',
          unit: 'short',
          queries: [{ expr: 'max by (proxy, server) (haproxy_server_status{state="UP"})', legend: '{{proxy}}/{{server}}' }],
          mappings: onOff({ text: 'DOWN', color: 'red' }, { text: 'UP', color: 'green' }),
        }),
      )
      .withPanel(
        timeseries({
          title: 'Responses per server',
          unit: 'reqps',
          stack: true,
          queries: [{ expr: byServer, legend: '{{server}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Share of responses per server',
          description: 'How evenly the balancer spreads load; a dead server drops to 0 and the others take its share.',
          unit: 'percentunit',
          max: 1,
          queries: [{ expr: `${byServer} / ignoring (server) group_left () sum(rate(haproxy_server_http_responses_total[${RATE}]))`, legend: '{{server}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Sessions per server',
          unit: 'short',
          queries: [{ expr: 'sum by (server) (haproxy_server_current_sessions)', legend: '{{server}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Failed health checks per server',
          unit: 'short',
          queries: [{ expr: `sum by (server) (increase(haproxy_server_check_failures_total[${RATE}]))`, legend: '{{server}}' }],
        }),
      ),
  );
}

// The database tier: queries as the app sent them (by role and shard), replication lag, and
// PostgreSQL's own counters from postgres-exporter.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { benchDashboard, finalize, onOff, RATE, row, stateTimeline, timeseries } from './common.ts';

const DB = 'datname!~"template.*"';
// The app's db metrics carry a `role` label (primary|replica), and so does every scrape target
// (role="app"): Prometheus then keeps the target's and renames the app's to exported_role. This
// takes exported_role when it is there, and role otherwise, so the panels are right either way.
const appRole = (v: string) => `label_replace(${v}, "role", "$1", "exported_role", "(.+)")`;
const pgRate = (m: string) => `sum by (instance) (rate(${m}{${DB}}[${RATE}]))`;
const q = (quantile: number, by: string) =>
  `histogram_quantile(${quantile}, sum by (le, ${by}) (${appRole(`rate(db_query_duration_seconds_bucket[${RATE}])`)}))`;

/** bench / db (PostgreSQL) */
export function dbDashboard(): Dashboard {
  return finalize(
    benchDashboard({
      uid: 'bench-db',
      title: 'bench / db (PostgreSQL)',
      description: 'Queries by role (primary/replica) and shard from the app, replica lag, and postgres-exporter counters per instance.',
      tags: ['db', 'postgres'],
    })
      .withRow(row('Queries (from the app)'))
      .withPanel(
        timeseries({
          title: 'Queries by role and shard',
          unit: 'short',
          stack: true,
          queries: [{ expr: `sum by (role, shard) (${appRole(`rate(db_queries_total[${RATE}])`)})`, legend: '{{shard}} {{role}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Query p99 by role and shard',
          unit: 's',
          queries: [{ expr: q(0.99, 'role, shard'), legend: '{{shard}} {{role}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Per-shard query rate',
          description: 'Sharding spreads writes: each shard should carry its range of users.',
          unit: 'short',
          queries: [{ expr: `sum by (shard) (rate(db_queries_total[${RATE}]))`, legend: '{{shard}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Query p50 by role',
          unit: 's',
          queries: [{ expr: q(0.5, 'role'), legend: '{{role}}' }],
        }),
      )
      .withRow(row('Replication'))
      .withPanel(
        timeseries({
          title: 'Replica lag',
          description: 'replica_lag_seconds: how far each replica is behind its primary; reads from a lagging replica are stale.',
          unit: 's',
          w: 24,
          queries: [{ expr: 'max by (shard, replica) (replica_lag_seconds)', legend: '{{shard}} {{replica}}' }],
        }),
      )
      .withRow(row('PostgreSQL (postgres-exporter)'))
      .withPanel(
        stateTimeline({
          title: 'PostgreSQL reachable',
          unit: 'short',
          h: 5,
          queries: [{ expr: 'max by (instance) (pg_up)', legend: '{{instance}}' }],
          mappings: onOff({ text: 'DOWN', color: 'red' }, { text: 'UP', color: 'green' }),
        }),
      )
      .withPanel(
        timeseries({
          title: 'Transactions',
          unit: 'short',
          queries: [
            { expr: pgRate('pg_stat_database_xact_commit'), legend: '{{instance}} commits' },
            { expr: pgRate('pg_stat_database_xact_rollback'), legend: '{{instance}} rollbacks' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Buffer cache hit ratio',
          unit: 'percentunit',
          max: 1,
          queries: [
            {
              expr: `${pgRate('pg_stat_database_blks_hit')} / (${pgRate('pg_stat_database_blks_hit')} + ${pgRate('pg_stat_database_blks_read')})`,
              legend: '{{instance}}',
            },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Rows',
          unit: 'short',
          queries: [
            { expr: pgRate('pg_stat_database_tup_fetched'), legend: '{{instance}} fetched' },
            { expr: pgRate('pg_stat_database_tup_inserted'), legend: '{{instance}} inserted' },
            { expr: pgRate('pg_stat_database_tup_updated'), legend: '{{instance}} updated' },
          ],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Connections',
          unit: 'short',
          queries: [{ expr: `sum by (instance) (pg_stat_database_numbackends{${DB}})`, legend: '{{instance}}' }],
        }),
      )
      .withPanel(
        timeseries({
          title: 'Deadlocks',
          unit: 'short',
          w: 24,
          queries: [{ expr: `sum by (instance) (increase(pg_stat_database_deadlocks{${DB}}[${RATE}]))`, legend: '{{instance}}' }],
        }),
      ),
  );
}

// prometheus-postgres-exporter beside each PostgreSQL: pg_stat_database (commits, rows) and pg_up.
// It connects to its database directly (the plan never proxies an exporter's edge), so a drill
// that cuts the app off the database does not blind the metrics.
import { z } from 'zod';
import { waitFor } from '../../harness/runtime/wait.ts';
import { PG_CREDENTIALS } from '../app/config.ts';
import type { ComponentKind, NativeContext } from './types.ts';

/** The PostgreSQL it watches, by service name. */
const postgresExporterConfig = z.object({ kind: z.literal('postgres-exporter'), target: z.string().min(1) }).strict();
declare module '../../harness/topology/types.ts' {
  interface ServiceConfigs {
    'postgres-exporter': Omit<z.infer<typeof postgresExporterConfig>, 'kind'>;
  }
}

/** The exporter's DSN for the database it watches (user/password/database of every bench Postgres). */
export function postgresExporterDsn(target: { host: string; port: number }): string {
  const { user, password, database } = PG_CREDENTIALS;
  return `postgresql://${user}:${password}@${target.host}:${target.port}/${database}?sslmode=disable`;
}

function targetOf(ctx: NativeContext): string {
  if (ctx.service.config.kind !== 'postgres-exporter') throw new Error(`${ctx.service.name} is not a postgres-exporter`);
  return ctx.service.config.target;
}

export const postgresExporter: ComponentKind = {
  kind: 'postgres-exporter',
  config: postgresExporterConfig,
  ports: { main: 9187 },
  tier: 'instrument',
  requires: [
    {
      binary: 'prometheus-postgres-exporter',
      debianPackage: 'prometheus-postgres-exporter',
      inImage: '/bin/postgres_exporter',
      doctor: { name: 'postgres exporter', neededFor: 'database metrics', versionArgs: ['--version'] },
    },
  ],
  image: { official: 'quay.io/prometheuscommunity/postgres-exporter:v0.15.0' },
  // labelled as the database it watches, so `{service="pg-primary"}` finds both
  scrape: { job: 'postgres', labelAsTarget: true },
  // what each database counted itself (the bench database only): commits and rows
  figures: [
    { tier: 'db', name: 'commits', metrics: ['pg_stat_database_xact_commit'], labels: { datname: 'bench' } },
    { tier: 'db', name: 'rowsFetched', metrics: ['pg_stat_database_tup_fetched'], labels: { datname: 'bench' } },
    { tier: 'db', name: 'rowsWritten', metrics: ['pg_stat_database_tup_inserted', 'pg_stat_database_tup_updated', 'pg_stat_database_tup_deleted'], labels: { datname: 'bench' } },
  ],
  launch(ctx) {
    const { host, port } = ctx.service.address;
    return {
      command: ctx.bin('prometheus-postgres-exporter'),
      // It listens on every interface by default: give it the host's loopback address.
      args: [`--web.listen-address=${host}:${port}`, '--disable-settings-metrics', '--log.level=warn'],
      env: { DATA_SOURCE_NAME: postgresExporterDsn(ctx.reach(targetOf(ctx))) },
      cwd: ctx.dir,
    };
  },
  async ready(ctx) {
    const { host, port } = ctx.service.address;
    // /metrics answers 200 even when the database is unreachable; pg_up 1 proves the DSN works.
    await waitFor.http(`http://${host}:${port}/metrics`, { status: 200, body: /^pg_up 1$/m, timeoutMs: 15_000, signal: ctx.signal });
  },
};

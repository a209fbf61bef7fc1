// The process entry of every phase-6 service: reads BENCH_MS_CONFIG, creates its tables, connects
// to the broker (reconnecting on its own), serves HTTP, and stops cleanly on SIGTERM. Run from
// the prebuilt bundle (bundle.ts), like the app.
import type { Server } from 'node:http';
import pg from 'pg';
import { PG_CREDENTIALS } from '../app/config.ts';
import { survivesLostConnections } from '../app/store/postgres.ts';
import type { Broker, BrokerOptions, ConsumerSpec } from './broker.ts';
import { kafkaBroker } from './kafka-broker.ts';
import { rabbitBroker } from './rabbitmq-broker.ts';
import { MS_CONFIG_ENV, validateMsConfig, type MsConfig } from './config.ts';
import { type Metrics, type Route, serve } from './http.ts';
import { notificationService } from './notification.ts';
import { paymentService } from './payment.ts';
import { JOBS_SCHEMA, NOTIFICATION_SCHEMA, PAYMENT_SCHEMA } from './schema.ts';
import { uploadsService } from './uploads.ts';
import { workerService } from './worker.ts';

/** What a role adds to the common process: routes, metrics, consumers, and its own stop. */
export interface ServiceParts {
  routes: Route[];
  metrics: Metrics;
  /** the role's consumers (the broker starts them, again after every reconnection) */
  consumers?: ConsumerSpec[];
  close(): Promise<void>;
}

const SCHEMAS: Record<MsConfig['role'], string> = { payment: PAYMENT_SCHEMA, notification: NOTIFICATION_SCHEMA, uploads: JOBS_SCHEMA, worker: JOBS_SCHEMA };

/** Creates the role's tables, waiting for the database; one creator at a time (an advisory lock). */
async function ensureSchema(pool: pg.Pool, sql: string, deadlineMs: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const c = await pool.connect();
      try {
        await c.query('SELECT pg_advisory_lock(6006)');
        await c.query(sql);
      } finally {
        await c.query('SELECT pg_advisory_unlock(6006)').catch(() => {});
        c.release();
      }
      return;
    } catch (e) {
      if (Date.now() > deadlineMs) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
    }
  }
}

/** The broker the config names, behind the seam. */
export function createBroker(o: BrokerOptions): Broker {
  return o.kind === 'kafka' ? kafkaBroker(o) : rabbitBroker(o);
}

export interface RunningService {
  server: Server;
  close(): Promise<void>;
}

/** Starts one service from its config; resolves when it listens, has its tables and a broker connection. */
export async function startService(config: MsConfig, log: (l: string) => void = (l) => process.stderr.write(`${config.name}: ${l}\n`)): Promise<RunningService> {
  const pool = new pg.Pool({ host: config.db.host, port: config.db.port, user: config.db.user, password: PG_CREDENTIALS.password, database: config.db.database, max: 8, connectionTimeoutMillis: 5_000, statement_timeout: 10_000 });
  survivesLostConnections(pool);
  await ensureSchema(pool, SCHEMAS[config.role], Date.now() + 60_000);

  // the broker reads its consumers at start(), once the role declared them below
  const consumers: ConsumerSpec[] = [];
  const { kind, ...at } = config.broker;
  const broker = createBroker({ kind, at, name: config.name, publishes: config.role === 'payment' || config.role === 'uploads', consumers, log });
  const parts: ServiceParts =
    config.role === 'payment' ? paymentService(pool, broker, config.relayIdleMs, log)
    : config.role === 'uploads' ? uploadsService(pool, broker, config.relayIdleMs, log)
    : config.role === 'notification' ? notificationService(pool)
    : workerService(config.name, pool, config.worker, log);
  consumers.push(...(parts.consumers ?? []));
  await broker.start();

  const server = serve(config.name, parts.routes, parts.metrics, () => broker.connected || parts.routes.length > 0);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  log(`${config.role} listening on http://${config.listen.host}:${config.listen.port}`);
  return {
    server,
    async close() {
      await new Promise((r) => server.close(r));
      await parts.close();
      await broker.close();
      await pool.end();
    },
  };
}

/** The process's entry: the config from the environment; SIGTERM stops it. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const raw = env[MS_CONFIG_ENV];
  if (!raw) throw new Error(`${MS_CONFIG_ENV} is not set`);
  const config = validateMsConfig(JSON.parse(raw));
  const svc = await startService(config);
  const stop = () => {
    svc.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

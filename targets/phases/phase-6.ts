// Phase 6 — Microservices and queues. A gateway (HAProxy, routing by path) in front of the user
// service (phase 3's fleet: apps, sessions Redis, its own PostgreSQL), the payment service, and
// the uploads API; a notification service consuming payment.completed; a broker (RabbitMQ, or
// Kafka with --broker kafka); a
// worker fleet. Every service has its own PostgreSQL, and every edge (gateway->service,
// service->DB, service->broker, worker->broker, worker->DB) goes through Toxiproxy.
import type { Host, Service, Topology } from '../../harness/topology/types.ts';
import { checkHostCount, fleetTopology, singlePrimaryTier } from './fleet.ts';
import type { BrokerKind } from '../microservices/broker.ts';
import { appServersParam, choiceOf, definePhase, intOf, replicasParam, withDefault } from './params.ts';

const REGION = 'local';
const TITLE = 'Microservices and queues';

/** Workers in the fleet: --workers. */
export const workersParam = {
  name: 'workers',
  flag: '--workers',
  type: 'int',
  default: 2,
  min: 1,
  max: 16,
  help: 'workers consuming the jobs queue',
  rule: 'phase {phase} needs a whole number of at least 1 worker',
  hint: 'use --workers 2',
} as const;

/** The broker: the kind of the `broker` service, and the seam the services talk through. */
export const brokerParam = {
  name: 'broker',
  flag: '--broker',
  type: 'choice',
  default: 'rabbitmq',
  choices: ['rabbitmq', 'kafka'],
  help: 'the message broker: rabbitmq (quorum queues) or kafka (KRaft, one node)',
  rule: 'unknown broker',
  hint: 'use --broker rabbitmq',
} as const;

/**
 * Whether the workers check a job's effect before applying it (idempotent by job id). `false`
 * exists to show what a redelivery costs without it: the ledger's duplicated count (worker-crash).
 */
export const idempotentWorkersParam = {
  name: 'idempotentWorkers',
  flag: '--idempotent-workers',
  type: 'choice',
  default: 'true',
  choices: ['true', 'false'],
  help: 'workers apply a job once by its id (false: a redelivered job is applied again)',
  rule: '--idempotent-workers takes true or false',
  hint: 'use --idempotent-workers false',
} as const;

/** Workers with the defaults. */
export const PHASE6_WORKERS = workersParam.default;

/**
 * Host sizes for phase 6: 13 hosts (with the defaults) whose CPU quotas sum to 1.8 cores, so the
 * whole phase fits the 2-core machine (the load generator shares it: quotas are ceilings).
 * The broker gets the largest share after the user path: RabbitMQ idles at ~0.05 core and its
 * quorum queues write every message to disk.
 */
export const phase6Sizes = {
  lb: { cpus: 0.2, memoryMb: 256 },
  app: { cpus: 0.15, memoryMb: 384 },
  sessions: { cpus: 0.05, memoryMb: 128 },
  usersDb: { cpus: 0.2, memoryMb: 512 },
  service: { cpus: 0.1, memoryMb: 256 },
  notification: { cpus: 0.05, memoryMb: 256 },
  serviceDb: { cpus: 0.1, memoryMb: 384 },
  jobsDb: { cpus: 0.2, memoryMb: 512 },
  broker: { cpus: 0.25, memoryMb: 512 },
  /** Kafka's JVM: a 384 MB heap (half the host, kafka.ts) and its page cache; ~340 MB resident */
  kafkaBroker: { cpus: 0.25, memoryMb: 768 },
  worker: { cpus: 0.15, memoryMb: 256 },
} as const;

/** The microservices' part: services, their databases, the broker, the workers. Pure. */
export function microservicesPart(workers: number, broker: BrokerKind = 'rabbitmq', idempotentWorkers = true): { hosts: Host[]; services: Service[] } {
  const s = phase6Sizes;
  const host = (name: string, size: { cpus: number; memoryMb: number }): Host => ({ name, size, region: REGION });
  const pg = (name: string, on: string): Service => ({ name, kind: 'postgres', host: on, role: 'primary', dependsOn: [], config: { kind: 'postgres', postgres: { role: 'primary' } } });
  const ms = (name: string, on: string, role: 'payment' | 'notification' | 'uploads' | 'worker', db: string): Service => ({
    name,
    kind: 'microservice',
    host: on,
    role,
    dependsOn: [db, 'broker'],
    config: { kind: 'microservice', microservice: { role, db, broker: 'broker', brokerKind: broker, ...(role === 'worker' && !idempotentWorkers ? { worker: { idempotent: false } } : {}) } },
  });
  const workerNames = Array.from({ length: workers }, (_, i) => `worker-${i + 1}`);
  return {
    hosts: [
      host('broker-host', broker === 'kafka' ? s.kafkaBroker : s.broker),
      host('payments-db-host', s.serviceDb),
      host('notifications-db-host', s.serviceDb),
      host('jobs-db-host', s.jobsDb),
      host('payment-host', s.service),
      host('notification-host', s.notification),
      host('uploads-host', s.service),
      ...workerNames.map((_, i) => host(`worker-host-${i + 1}`, s.worker)),
    ],
    services: [
      broker === 'kafka'
        ? { name: 'broker', kind: 'kafka', host: 'broker-host', role: 'broker', dependsOn: [], config: { kind: 'kafka' } }
        : { name: 'broker', kind: 'rabbitmq', host: 'broker-host', role: 'broker', dependsOn: [], config: { kind: 'rabbitmq' } },
      pg('payments-db', 'payments-db-host'),
      pg('notifications-db', 'notifications-db-host'),
      pg('jobs-db', 'jobs-db-host'),
      ms('payment-1', 'payment-host', 'payment', 'payments-db'),
      ms('notification-1', 'notification-host', 'notification', 'notifications-db'),
      ms('uploads-1', 'uploads-host', 'uploads', 'jobs-db'),
      ...workerNames.map((name, i) => ms(name, `worker-host-${i + 1}`, 'worker', 'jobs-db')),
    ],
  };
}

/** Phase 3's fleet as the user service, resized, with the gateway routing by path. Pure. */
export function phase6Topology(o: { appServers: number; replicas: number; workers: number; broker?: BrokerKind; idempotentWorkers?: boolean }): Topology {
  const users = fleetTopology({ phase: 6, title: TITLE, appServers: o.appServers, db: singlePrimaryTier(o.replicas) });
  const s = phase6Sizes;
  const resize = (h: Host): Host => ({
    ...h,
    size: h.name === 'lb-host' ? s.lb : h.name.startsWith('app-host') ? s.app : h.name === 'cache-host' ? s.sessions : s.usersDb,
  });
  const part = microservicesPart(o.workers, o.broker, o.idempotentWorkers ?? true);
  const services = users.services.map((svc): Service => {
    if (svc.kind !== 'haproxy' || svc.config.kind !== 'haproxy') return svc;
    return {
      ...svc,
      role: 'gateway',
      dependsOn: [...svc.dependsOn, 'payment-1', 'uploads-1'],
      config: {
        kind: 'haproxy',
        haproxy: {
          backends: svc.config.haproxy.backends,
          routes: [
            { name: 'payments', prefixes: ['/api/payments'], backends: ['payment-1'] },
            { name: 'uploads', prefixes: ['/api/videos', '/api/jobs'], backends: ['uploads-1'] },
          ],
        },
      },
    };
  });
  return { ...users, hosts: [...users.hosts.map(resize), ...part.hosts], services: [...part.services, ...services] };
}

export const phase6 = definePhase({
  phase: 6,
  title: TITLE,
  usersRange: [10_000_000, 100_000_000],
  architecture: 'user, payment, notification services and an uploads API, each with its own DB, behind a path-routing gateway; RabbitMQ (or Kafka); a worker fleet',
  shows: 'heavy work leaves the request path; bursts are absorbed by the queue; no job is lost',
  built: true,
  params: [withDefault(appServersParam, 1), withDefault(replicasParam, 0), workersParam, brokerParam, idempotentWorkersParam],
  build: (o) => checkHostCount(phase6Topology({ appServers: intOf(o, appServersParam), replicas: intOf(o, replicasParam), workers: intOf(o, workersParam), broker: choiceOf(o, brokerParam) as BrokerKind, idempotentWorkers: choiceOf(o, idempotentWorkersParam) === 'true' })),
});

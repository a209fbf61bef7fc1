// Kafka's side of the broker seam, the parts that are data: every worker phase 6 allows can own a
// partition of the jobs topic, each stream has its own topic and group, and a config without a
// broker kind means RabbitMQ (what every deployment before --broker kafka wrote).
import { describe, expect, it } from 'vitest';
import { workersParam } from '../phases/phase-6.ts';
import { KAFKA_GROUPS, KAFKA_JOBS_PARTITIONS, KAFKA_TOPICS } from './kafka-broker.ts';
import { validateMsConfig } from './config.ts';

describe('kafka broker', () => {
  it('gives the jobs topic a partition for each of the most workers phase 6 allows', () => {
    expect(KAFKA_TOPICS.jobs.partitions).toBe(KAFKA_JOBS_PARTITIONS);
    expect(KAFKA_JOBS_PARTITIONS).toBeGreaterThanOrEqual(workersParam.max);
  });

  it('maps each stream to its own topic and consumer group', () => {
    expect(new Set(Object.values(KAFKA_TOPICS).map((t) => t.topic)).size).toBe(3);
    expect(new Set(Object.values(KAFKA_GROUPS)).size).toBe(3);
  });

  it('reads a broker without a kind as RabbitMQ, and refuses an unknown kind', () => {
    const base = { name: 'w', role: 'worker', listen: { host: '127.1.2.1', port: 8100 }, db: { host: '127.1.3.1', port: 5432 } };
    expect(validateMsConfig({ ...base, broker: { host: '127.1.4.1', port: 5672 } }).broker.kind).toBe('rabbitmq');
    expect(validateMsConfig({ ...base, broker: { host: '127.1.4.1', port: 9092, kind: 'kafka' } }).broker.kind).toBe('kafka');
    expect(() => validateMsConfig({ ...base, broker: { host: '127.1.4.1', port: 9092, kind: 'sqs' } })).toThrow(/broker\.kind/);
  });

  it('takes a container alias (--runtime docker) beside a loopback address, never 0.0.0.0 nor another address', () => {
    const base = { name: 'w', role: 'worker', listen: { host: 'worker-1', port: 8090 }, db: { host: 'toxiproxy', port: 20001 } };
    expect(validateMsConfig({ ...base, broker: { host: 'toxiproxy', port: 20002 } }).listen.host).toBe('worker-1');
    expect(() => validateMsConfig({ ...base, listen: { host: '0.0.0.0', port: 8090 }, broker: { host: 'toxiproxy', port: 20002 } })).toThrow(/listen\.host/);
    expect(() => validateMsConfig({ ...base, broker: { host: '10.0.0.5', port: 5672 } })).toThrow(/broker\.host/);
  });
});

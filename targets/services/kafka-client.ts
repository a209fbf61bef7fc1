// Kafka's client side, apart from the kind module (kafka.ts) because the microservices bundle
// imports it: kafka.ts finds its jars from the repository root (import.meta.url), which a
// CommonJS bundle does not have.
import { connect } from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import type { Endpoint } from '../../harness/topology/plan.ts';

/**
 * A socket factory that dials `at` whatever broker address the metadata names. A single node
 * advertises its own address, and a client that reaches it through a Toxiproxy edge must keep
 * going through that edge after the bootstrap, or a cut edge would not cut it.
 */
export function pinnedSocketFactory(at: Endpoint): ISocketFactory {
  return ({ onConnect }) => {
    const socket = connect({ host: at.host, port: at.port }, onConnect);
    socket.setKeepAlive(true, 30_000);
    return socket;
  };
}

/** A kafkajs client for `at`, every connection pinned to it, quiet (errors surface as rejections). */
export function kafkaClient(at: Endpoint, clientId: string, opts: { connectionTimeoutMs?: number; requestTimeoutMs?: number; retries?: number } = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: [`${at.host}:${at.port}`],
    socketFactory: pinnedSocketFactory(at),
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    retry: { retries: opts.retries ?? 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: logLevel.NOTHING,
  });
}

/**
 * Asks the broker for its cluster's metadata and returns its node ids: proves the listener and that
 * the node is a broker its controller registered (an open port alone does not).
 */
export async function kafkaPing(at: Endpoint, timeoutMs = 3_000): Promise<number[]> {
  const admin = kafkaClient(at, 'bench-ping', { connectionTimeoutMs: timeoutMs, retries: 0 }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
    return cluster.brokers.map((b) => b.nodeId);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

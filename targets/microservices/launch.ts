// How a phase-6 service process is started and judged ready, whoever starts it (the test stack
// today, the runtime's component kind once phase 6 is wired): the prebuilt bundle run by this
// node, its config in BENCH_MS_CONFIG, the run's passwords in their own variables.
import { PG_CREDENTIALS, PG_PASSWORD_ENV, RABBITMQ_PASSWORD, RABBITMQ_PASSWORD_ENV } from '../app/config.ts';
import { waitFor } from '../../harness/runtime/wait.ts';
import type { Endpoint } from '../../harness/topology/plan.ts';
import { MS_CONFIG_ENV, validateMsConfig, type MsConfigInput } from './config.ts';

/** The bundle entry of every phase-6 service (targets/app/bundle.ts builds it). */
export const MS_ENTRY = 'targets/microservices/server.ts';

/**
 * The command line and environment of one service: node with `nodeArgs` (the bundle's launcher,
 * or tsx and the TypeScript entry when there is no current bundle). Validates the config first: a
 * bad one is a bug in the phase.
 */
export function msLaunch(nodeArgs: string[], config: MsConfigInput): { command: string; args: string[]; env: Record<string, string> } {
  validateMsConfig(config);
  return {
    command: process.execPath,
    args: nodeArgs,
    env: {
      [MS_CONFIG_ENV]: JSON.stringify(config),
      [PG_PASSWORD_ENV]: PG_CREDENTIALS.password,
      [RABBITMQ_PASSWORD_ENV]: RABBITMQ_PASSWORD,
    },
  };
}

/**
 * Ready: /health answers 200. The APIs answer once their tables exist and they listen (a broker
 * down does not stop accepts: the outbox holds them); consumers only with a broker connection.
 */
export function msReady(listen: Endpoint, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  return waitFor.http(`http://${listen.host}:${listen.port}/health`, { status: 200, timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal });
}

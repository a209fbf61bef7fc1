// The app's process entry:
//   BENCH_APP_CONFIG='{...AppRuntimeConfig...}' node --import tsx targets/app/server.ts
// A bad config exits 2 with one line; SIGTERM/SIGINT close the server and the pools, then exit 0.
import './zod-jitless.ts';
import { BenchError } from '../../harness/errors.ts';
import { buildApp } from './app.ts';
import { CONFIG_ENV, parseAppConfig } from './config.ts';

/** after listening: the route validators left to compile on first use (validators.ts) */
const PRECOMPILE_AFTER_MS = 2_000;

async function main(): Promise<void> {
  const config = parseAppConfig(process.env[CONFIG_ENV]);
  const app = await buildApp(config);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`${config.name}: ${signal}, closing\n`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await app.fastify.listen({ host: config.listen.host, port: config.listen.port });
  } catch (e) {
    await app.close().catch(() => {});
    throw new BenchError('environment', `cannot listen on ${config.listen.host}:${config.listen.port}: ${(e as Error).message}`, 'free the port or give the app another address');
  }
  const address = app.fastify.server.address();
  const where = address && typeof address === 'object' ? `${address.address}:${address.port}` : String(address);
  // compiled while the deployment goes on (seeding, settling): the first requests of the load
  // then find them ready; readiness does not wait for what /healthz does not use
  setTimeout(() => app.precompile(), PRECOMPILE_AFTER_MS).unref();
  process.stderr.write(`${config.name}: listening on http://${where} (store ${config.store.kind}, sessions ${config.sessions.kind}, cache ${config.cache ? 'redis' : 'none'})\n`);
}

main().catch((e: unknown) => {
  const err = e instanceof BenchError ? e : new BenchError('internal', e instanceof Error ? e.message : String(e));
  process.stderr.write(`bench-app: ${err.oneLine()}\n`);
  process.exit(err.exitCode);
});

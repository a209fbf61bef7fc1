// The app's process entry:
//   BENCH_APP_CONFIG='{...AppRuntimeConfig...}' node --import tsx targets/app/server.ts
// A bad config exits 2 with one line; SIGTERM/SIGINT close the server and the pools, then exit 0.
import './zod-jitless.ts';
import { BenchError } from '../../harness/errors.ts';
import { buildApp } from './app.ts';
import { CODE_CACHE_EVENT } from './code-cache.ts';
import { CONFIG_ENV, parseAppConfig } from './config.ts';

/**
 * After listening, the work readiness does not need (app.warm: the pools' logins, the route
 * validators): the deployment goes on meanwhile (other services, seeding, settling), and the
 * first requests of a load find it done. A request before then opens or compiles what it needs.
 */
const WARM_AFTER_MS = 2_000;

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
  setTimeout(() => {
    // the start is done (and its /healthz answered): the launcher writes V8's code cache now, so
    // that it holds the start's code, not the warm-up's (bundle.ts)
    (process as NodeJS.EventEmitter).emit(CODE_CACHE_EVENT);
    app.warm();
  }, WARM_AFTER_MS).unref();
  process.stderr.write(`${config.name}: listening on http://${where} (store ${config.store.kind}, sessions ${config.sessions.kind}, cache ${config.cache ? 'redis' : 'none'})\n`);
}

main().catch((e: unknown) => {
  const err = e instanceof BenchError ? e : new BenchError('internal', e instanceof Error ? e.message : String(e));
  process.stderr.write(`bench-app: ${err.oneLine()}\n`);
  process.exit(err.exitCode);
});

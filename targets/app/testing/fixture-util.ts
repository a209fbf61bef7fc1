// Small helpers shared by the test fixtures: free ports, child processes that die with the test
// process, and a readiness loop with a deadline.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The loopback address this test process's servers listen on: 127.0.<n>.1 for vitest worker n
 * (VITEST_POOL_ID), 127.0.0.1 outside vitest. Integration files run two at a time; on one shared
 * address, a port a test's server just gave up (a stopped replica) could be handed to the other
 * file's new server, and a poll meant to find nothing there would find a PostgreSQL answering.
 * Slot 0 (127.0.x.y) is never a run's slot, so these never meet a deployment's addresses.
 */
export function testHost(env: NodeJS.ProcessEnv = process.env): string {
  const n = Number(env.VITEST_POOL_ID);
  return Number.isInteger(n) && n >= 1 && n <= 254 ? `127.0.${n}.1` : '127.0.0.1';
}

/** A port free on `host` right now (the OS picks it; the caller binds it soon after). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of dirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        // a killed server may still be writing into it
      }
    }
  });
}

/** Removes `dir` if the test process exits before the fixture did; returns `dir`. */
export function trackDir(dir: string): string {
  installExitHook();
  dirs.add(dir);
  return dir;
}

/** Forgets a directory the fixture removed itself. */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
}

/** Spawns a server process that is SIGKILLed if the test process exits without stopping it. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  installExitHook();
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Sends `signal`, waits for the exit, SIGKILLs after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Retries `check` every 25 ms until it resolves true, or throws after `timeoutMs` with `what`. */
export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(25);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

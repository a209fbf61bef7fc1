// For the integration tests of this folder only: starts a recipe's process the way the native
// runtime will (command, args, env, cwd, user), logs to a file, and stops it by pid. The runtime
// proper lives in harness/runtime/; this stays small so these tests do not depend on it.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import type { NativeLaunch } from '../../targets/services/types.ts';

export interface Spawned {
  child: ChildProcess;
  logFile: string;
  /** the last lines of its log, for an assertion message */
  tail(): string;
  /** SIGTERM (or the launch's stop signal), SIGKILL after `graceMs` */
  stop(graceMs?: number): Promise<void>;
}

/** uid and gid of a system user (PostgreSQL refuses to run as root). */
export function userIds(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  return { uid, gid };
}

/** Starts `launch`; its stdout and stderr go to `logFile`. */
export function spawnLaunch(launch: NativeLaunch, logFile: string): Spawned {
  const fd = openSync(logFile, 'a');
  const ids = launch.user ? userIds(launch.user) : {};
  const child = spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: { ...process.env, ...launch.env },
    stdio: ['ignore', fd, fd],
    ...ids,
  });
  closeSync(fd);
  // 'error' (a missing binary) must be listened to, or it crashes the test process.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    child,
    logFile,
    tail: () => {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      } catch {
        return '';
      }
    },
    async stop(graceMs = 3_000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill(launch.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

// For the Docker runtime's integration tests: a daemon to talk to. Uses the one that answers on
// the socket; otherwise starts one with scripts/dockerd.sh before the file's first test (and
// stops it after its last, by its pid);
// when dockerd is not installed, says why the tests are skipped. Never used outside *.int.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { connectDocker, DEFAULT_DOCKER_SOCKET } from '../client.ts';

const script = fileURLToPath(new URL('../../../../scripts/dockerd.sh', import.meta.url));

export interface TestDaemon {
  /** false only when no daemon answers and dockerd is not installed */
  available: boolean;
  /** why the Docker tests are skipped */
  reason: string | null;
  socketPath: string;
}

async function answers(socketPath: string): Promise<boolean> {
  try {
    await connectDocker(socketPath).ping();
    return true;
  } catch {
    return false;
  }
}

const installed = () => ['/usr/sbin/dockerd', '/usr/bin/dockerd', '/sbin/dockerd'].some(existsSync) || spawnSync('sh', ['-c', 'command -v dockerd'], { encoding: 'utf8' }).status === 0;

/**
 * A daemon for one test file; called at the file's top level. Says at once whether the file's
 * Docker tests can run, and registers file-level hooks: before the first test, start a daemon
 * when none answers; after the last, stop it if this file started it. Nothing starts while the
 * files are only collected (`vitest list`), whose after-hooks never run.
 */
export async function useTestDaemon(socketPath = DEFAULT_DOCKER_SOCKET): Promise<TestDaemon> {
  if (!(await answers(socketPath)) && !installed()) {
    const reason = 'dockerd is not installed (apt-get install -y docker.io): Docker runtime tests skipped';
    console.warn(reason);
    return { available: false, reason, socketPath };
  }
  const env = { ...process.env, BENCH_DOCKER_SOCKET: socketPath };
  let startedHere = false;
  beforeAll(async () => {
    if (await answers(socketPath)) return;
    startedHere = true; // a start that failed half-way is stopped too
    const started = spawnSync('bash', [script, 'start'], { encoding: 'utf8', env, timeout: 90_000 });
    if (started.status !== 0 || !(await answers(socketPath))) {
      throw new Error(`scripts/dockerd.sh start failed (exit ${started.status}): ${started.stderr || started.stdout}`);
    }
  }, 120_000);
  afterAll(() => {
    if (startedHere) spawnSync('bash', [script, 'stop'], { encoding: 'utf8', env, timeout: 60_000 });
  }, 60_000);
  return { available: true, reason: null, socketPath };
}

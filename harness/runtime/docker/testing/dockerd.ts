// For the Docker runtime's integration tests: a daemon to talk to. Uses the one that answers on
// the socket; otherwise starts one with scripts/dockerd.sh (and stops it afterwards, by its pid);
// when dockerd is not installed, says why the tests are skipped. Never used outside *.int.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectDocker, DEFAULT_DOCKER_SOCKET } from '../client.ts';

const script = fileURLToPath(new URL('../../../../scripts/dockerd.sh', import.meta.url));

export interface TestDaemon {
  available: boolean;
  /** why the Docker tests are skipped */
  reason: string | null;
  socketPath: string;
  /** stops the daemon when this helper started it */
  release(): void;
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

/** A daemon for the tests, started here when none answers. */
export async function testDaemon(socketPath = DEFAULT_DOCKER_SOCKET): Promise<TestDaemon> {
  const none = { release() {} };
  if (await answers(socketPath)) return { available: true, reason: null, socketPath, ...none };
  if (!installed()) {
    const reason = 'dockerd is not installed (apt-get install -y docker.io): Docker runtime tests skipped';
    console.warn(reason);
    return { available: false, reason, socketPath, ...none };
  }
  const env = { ...process.env, BENCH_DOCKER_SOCKET: socketPath };
  const started = spawnSync('bash', [script, 'start'], { encoding: 'utf8', env, timeout: 90_000 });
  if (started.status !== 0 || !(await answers(socketPath))) {
    throw new Error(`scripts/dockerd.sh start failed (exit ${started.status}): ${started.stderr || started.stdout}`);
  }
  return {
    available: true,
    reason: null,
    socketPath,
    release() {
      spawnSync('bash', [script, 'stop'], { encoding: 'utf8', env, timeout: 60_000 });
    },
  };
}

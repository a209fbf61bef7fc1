// The connection to the Docker daemon, and the daemon's failures as one line each: what is wrong
// and what to do.
import Docker from 'dockerode';
import { BenchError } from '../../errors.ts';

/** Where the daemon listens unless told otherwise. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The daemon's socket: the given one, else DOCKER_HOST when it is a unix socket, else the default. */
export function dockerSocketPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return DEFAULT_DOCKER_SOCKET;
}

/** A dockerode client on a unix socket. */
export function connectDocker(socketPath: string): Docker {
  return new Docker({ socketPath });
}

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;

/** True for the errors of a daemon that does not answer at all. */
export function isUnreachable(e: unknown): boolean {
  return ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'ENOTSOCK', 'EPIPE'].includes(errnoOf(e) ?? '');
}

/** The daemon cannot be used: not running, or not ours to talk to. */
export function daemonError(e: unknown, socketPath: string): BenchError {
  const code = errnoOf(e);
  if (code === 'EACCES' || code === 'EPERM') {
    return new BenchError(
      'environment',
      `permission denied on the Docker socket ${socketPath}`,
      'add your user to the docker group (sudo usermod -aG docker $USER, then log in again), run as root, or use --runtime native',
      { cause: e },
    );
  }
  if (isUnreachable(e)) {
    return new BenchError('environment', `Docker daemon not reachable at ${socketPath}`, 'start Docker or use --runtime native', { cause: e });
  }
  return new BenchError('environment', `the Docker daemon at ${socketPath} failed: ${messageOf(e)}`, 'check `docker info`, or use --runtime native', { cause: e });
}

/** The message the daemon gave (dockerode puts the JSON body's `message` in `json`). */
export function messageOf(e: unknown): string {
  const json = (e as { json?: { message?: string } | null })?.json;
  const raw = json?.message ?? (e instanceof Error ? e.message : String(e));
  return raw.replace(/^\(HTTP code \d+\) [a-z ]+ - /i, '').trim().split('\n')[0]!;
}

/** The status code of a Docker API error (404, 409, ...), undefined for a transport error. */
export const statusOf = (e: unknown): number | undefined => (e as { statusCode?: number })?.statusCode;

/** A published host port was taken between picking it and binding it. */
export function isPortConflict(e: unknown): boolean {
  return /port is already allocated|address already in use|bind: address/i.test(messageOf(e));
}

/** One line for a published port that is taken. */
export function portConflict(service: string, ports: number[], e: unknown): BenchError {
  return new BenchError(
    'environment',
    `cannot publish ${service} on 127.0.0.1:${ports.join(',')}: the port is taken (${messageOf(e)})`,
    'another program holds it; run again (ports are picked afresh) or free it; leftovers of bench: bench down --all',
    { cause: e },
  );
}

/** Answers when the daemon does; throws the one-line error otherwise. */
export async function pingDaemon(docker: Docker, socketPath: string): Promise<{ version: string; apiVersion: string; os: string }> {
  try {
    await docker.ping();
    const v = await docker.version();
    return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os };
  } catch (e) {
    throw daemonError(e, socketPath);
  }
}

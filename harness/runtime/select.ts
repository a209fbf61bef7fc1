// Picks the runtime for --runtime native|docker|auto (auto: Docker when a daemon answers).
import type { Runtime } from './types.ts';
import { createNativeRuntime } from './native.ts';
import { createDockerRuntime, dockerAnswers, type ImageMode } from './docker/docker.ts';

export interface RuntimeChoiceOptions {
  /** Docker images: official (pulled) or local (built offline from this machine's binaries) */
  images: ImageMode;
  /** Docker only: also start Grafana with bench's dashboards */
  grafana: boolean;
}

export async function selectRuntime(choice: 'native' | 'docker' | 'auto', opts: RuntimeChoiceOptions = { images: 'official', grafana: false }): Promise<Runtime> {
  if (choice === 'docker' || (choice === 'auto' && (await dockerAnswers()))) {
    return createDockerRuntime({ images: opts.images, grafana: opts.grafana });
  }
  return createNativeRuntime();
}

/**
 * Every runtime that may have runs on this machine, for `bench status` and `bench down`: each
 * lists and reaps its own by what it recorded (a Docker runtime without a daemon has none).
 * `env` gives BENCH_STATE_DIR and DOCKER_HOST.
 */
export function knownRuntimes(env: NodeJS.ProcessEnv = process.env): Runtime[] {
  return [createDockerRuntime({ env }), createNativeRuntime({ env })];
}

/**
 * The runtimes whose dead runs a new run clears before it takes a slot: its own, and always the
 * native one (its state files hold the slots, whichever runtime a run used).
 */
export function runtimesToSweep(runtime: Runtime): Runtime[] {
  return runtime.kind === 'native' ? [runtime] : [createNativeRuntime(), runtime];
}

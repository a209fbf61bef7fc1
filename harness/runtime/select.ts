// Picks the runtime for --runtime native|docker|auto.
import { envError } from '../errors.ts';
import type { Runtime } from './types.ts';
import { createNativeRuntime } from './native.ts';

export async function selectRuntime(choice: 'native' | 'docker' | 'auto'): Promise<Runtime> {
  if (choice === 'docker') {
    throw envError('the docker runtime is not built yet', 'use --runtime native (the default)');
  }
  return createNativeRuntime();
}

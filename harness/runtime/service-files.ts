// File access to a service's own directory, the same for both runtimes: natively the directory is
// the process's working directory, in Docker it is bind-mounted into the container at the same
// path, so the harness reads what the server wrote (the CDN edge's access log) from this machine.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { BenchError } from '../errors.ts';

/**
 * The text of `rel` inside `dir`, or null when it does not exist. `rel` must stay inside the
 * directory: a service's files are all the harness may read through its handle.
 */
export async function readServiceFile(dir: string, rel: string): Promise<string | null> {
  const clean = normalize(rel);
  if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) {
    throw new BenchError('internal', `${rel} is not a file inside the service's directory ${dir}`);
  }
  try {
    return await readFile(join(dir, clean), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

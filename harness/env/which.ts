// Finding executables: on PATH, then in the project's own tools dir, then in extra places.
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json is). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where `bench setup` puts tools it builds (toxiproxy-server). */
export const toolsBin = join(repoRoot, '.tools', 'bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `name`, or null. Looks in `extra` dirs, then PATH (the user's own install
 *  wins), then the project's tools dir (what `bench setup` built; null: not searched). */
export function which(name: string, extra: readonly string[] = [], envPath = process.env.PATH ?? '', tools: string | null = process.env.BENCH_TOOLS_BIN ?? toolsBin): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of [...extra, ...envPath.split(delimiter).filter(Boolean), ...(tools === null ? [] : [tools])]) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

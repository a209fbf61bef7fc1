// Finds the executables recipes need: in the recipe's own places first (PostgreSQL keeps its
// server in a versioned directory), then on PATH, then in the repository's .tools/bin where
// `bench setup` puts what Debian does not package (toxiproxy-server).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Requirement } from '../../targets/services/types.ts';

/** The directory `bench setup` installs tools into. */
export const toolsBin = (repoRoot: string) => join(repoRoot, '.tools', 'bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The directories searched for `req`, in order. */
export function searchPath(req: Requirement, repoRoot: string, envPath: string | undefined): string[] {
  return [...(req.paths ?? []), ...(envPath ?? '').split(delimiter).filter(Boolean), toolsBin(repoRoot)];
}

/** The absolute path of `req.binary`, or null when it is nowhere. */
export function resolveBinary(req: Requirement, repoRoot: string, envPath = process.env.PATH): string | null {
  for (const dir of searchPath(req, repoRoot, envPath)) {
    const candidate = join(dir, req.binary);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../env/which.ts';

/** bench's version, from package.json. */
export const version: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;

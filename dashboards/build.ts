// `npm run dashboards`: writes dashboards/generated/*.json and the provisioning files from the
// code. `npm run dashboards -- --check` writes nothing and exits 1 when a file is out of date.
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboards, dashboardJson } from './index.ts';
import { provisioningFiles } from './provisioning.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Where the dashboard JSON goes (committed). */
export const GENERATED_DIR = join(HERE, 'generated');

/** Every file the build owns, by path relative to dashboards/, with the content it must hold. */
export function expectedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [file, d] of buildDashboards()) files.set(join('generated', file), dashboardJson(d));
  for (const [path, text] of provisioningFiles()) files.set(path, text);
  return files;
}

/** Paths (relative to dashboards/) that differ from what the code builds, plus stale generated files. */
export async function staleFiles(root = HERE): Promise<string[]> {
  const stale: string[] = [];
  const expected = expectedFiles();
  for (const [path, text] of expected) {
    const current = await readFile(join(root, path), 'utf8').catch(() => null);
    if (current !== text) stale.push(path);
  }
  const present = await readdir(join(root, 'generated')).catch(() => [] as string[]);
  for (const f of present) if (f.endsWith('.json') && !expected.has(join('generated', f))) stale.push(join('generated', f));
  return stale;
}

/** Writes every file (atomically) and removes generated JSON no dashboard builds any more. */
export async function writeAll(root = HERE): Promise<string[]> {
  const expected = expectedFiles();
  for (const [path, text] of expected) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    const tmp = `${full}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, full);
  }
  const present = await readdir(join(root, 'generated')).catch(() => [] as string[]);
  for (const f of present) if (f.endsWith('.json') && !expected.has(join('generated', f))) await unlink(join(root, 'generated', f));
  return [...expected.keys()];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = await staleFiles();
    if (stale.length) {
      console.error(`dashboards out of date: ${stale.join(', ')} — run npm run dashboards`);
      process.exitCode = 1;
    } else {
      console.log('dashboards up to date');
    }
  } else {
    const written = await writeAll();
    console.log(`wrote ${written.length} files under dashboards/: ${written.join(', ')}`);
  }
}

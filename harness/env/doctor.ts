// What is installed, what is missing, and the exact command to get each missing piece.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { components, type Component } from './components.ts';
import { which, toolsBin } from './which.ts';

const run = promisify(execFile);

export interface ComponentStatus {
  component: Component;
  path: string | null;
  version: string | null;
  /** the command that installs it (shown when missing) */
  howToGet: string;
}

export function howToGet(c: Component): string {
  switch (c.install.kind) {
    case 'apt':
      return `apt-get install -y ${c.install.packages.join(' ')}   (or: bench setup)`;
    case 'go':
      return `GOBIN=${toolsBin} go install ${c.install.module}${c.install.binary !== c.install.buildName ? ` && mv ${toolsBin}/${c.install.binary} ${toolsBin}/${c.install.buildName}` : ''}   (or: bench setup${c.required ? '' : ' --all'})`;
    case 'manual':
      return c.install.hint;
  }
}

async function versionOf(path: string, args: string[]): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(path, args, { timeout: 5_000 });
    const line = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
    return line ? line.slice(0, 100) : null;
  } catch (e) {
    // Some tools print their version and exit non-zero (wrk): take what they printed.
    const err = e as { stdout?: string; stderr?: string };
    const line = `${err.stdout ?? ''}\n${err.stderr ?? ''}`.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
    return line ? line.slice(0, 100) : null;
  }
}

export async function inspect(list: readonly Component[] = components): Promise<ComponentStatus[]> {
  return Promise.all(
    list.map(async (component) => {
      const path = which(component.binary, component.paths);
      return { component, path, version: path ? await versionOf(path, component.versionArgs) : null, howToGet: howToGet(component) };
    }),
  );
}

export function formatDoctor(rows: ComponentStatus[]): string {
  const lines: string[] = [];
  const w = Math.max(...rows.map((r) => r.component.name.length));
  for (const r of rows) {
    const mark = r.path ? 'ok     ' : r.component.required ? 'MISSING' : 'absent ';
    const detail = r.path ? `${r.version ?? '(version unknown)'}  ${r.path}` : `needed for ${r.component.neededFor}; get it: ${r.howToGet}`;
    lines.push(`${mark}  ${r.component.name.padEnd(w)}  ${detail}`);
  }
  const missing = rows.filter((r) => !r.path && r.component.required);
  lines.push('');
  lines.push(missing.length === 0 ? 'Everything the native runtime needs is here.' : `${missing.length} required component(s) missing: run \`bench setup\` (as root) to install them.`);
  return lines.join('\n');
}

// What is installed, what is missing, and the exact command to get each missing piece.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { components, K6_MAJORS, type Component } from './components.ts';
import { which, toolsBin } from './which.ts';

const run = promisify(execFile);

export interface ComponentStatus {
  component: Component;
  path: string | null;
  version: string | null;
  /** the command that installs it (shown when missing) */
  howToGet: string;
  /** present but older than the component's minVersion */
  tooOld: boolean;
  /** what doctor has to say about a present one (too old, an unchecked version); null: nothing */
  note: string | null;
}

/** The first dotted version number in a version line ("go version go1.19.8 linux/amd64" -> [1, 19, 8]). */
export function parseVersion(line: string | null): number[] | null {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(line ?? '');
  return m === null ? null : [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** a < b, part by part (missing parts are 0). */
export function versionBelow(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** Doctor's remark on a present component: too old for what needs it, or a k6 major bench has not checked. */
export function noteOn(c: Component, version: string | null): { tooOld: boolean; note: string | null } {
  const v = parseVersion(version);
  if (c.minVersion !== undefined && v !== null && versionBelow(v, parseVersion(c.minVersion.version)!)) {
    return { tooOld: true, note: `${v.join('.')} is too old: ${c.minVersion.why}; ${c.minVersion.hint}` };
  }
  if (c.binary === 'k6' && v !== null && !K6_MAJORS.includes(v[0])) {
    return { tooOld: false, note: `k6 ${v.join('.')} is not a version bench has checked (it reads k6 ${K6_MAJORS.map((m) => `${m}.x`).join(' and ')}); --driver k6 may misread it` };
  }
  return { tooOld: false, note: null };
}

export function howToGet(c: Component): string {
  switch (c.install.kind) {
    case 'apt':
      return `apt-get install -y ${c.install.packages.join(' ')}   (or: bench setup)`;
    case 'go':
      return `GOBIN=${toolsBin} go install ${c.install.module}${c.install.binary !== c.install.buildName ? ` && mv ${toolsBin}/${c.install.binary} ${toolsBin}/${c.install.buildName}` : ''}   (or: bench setup${c.required ? '' : ' --all'})`;
    case 'manual':
      return c.install.hint;
    case 'maven':
      return `bench setup --all   (mvn dependency:copy-dependencies of ${c.install.artifacts.join(', ')} into ${c.install.home}/libs; needs Java and Maven)`;
  }
}

/** The first line a tool prints for its version flag, or null. */
export async function versionOf(path: string, args: string[]): Promise<string | null> {
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

export async function inspect(list: readonly Component[] = components()): Promise<ComponentStatus[]> {
  return Promise.all(
    list.map(async (component) => {
      const path = which(component.binary, component.paths);
      const version = path && component.versionArgs ? await versionOf(path, component.versionArgs) : null;
      return { component, path, version, howToGet: howToGet(component), ...(path ? noteOn(component, version) : { tooOld: false, note: null }) };
    }),
  );
}

export function formatDoctor(rows: ComponentStatus[]): string {
  const lines: string[] = [];
  const w = Math.max(...rows.map((r) => r.component.name.length));
  for (const r of rows) {
    const mark = r.tooOld ? 'TOO OLD' : r.path ? 'ok     ' : r.component.required ? 'MISSING' : 'absent ';
    const detail = r.path ? `${r.version ?? (r.component.versionArgs ? '(version unknown)' : '(version not asked)')}  ${r.path}` : `needed for ${r.component.neededFor}; get it: ${r.howToGet}`;
    lines.push(`${mark}  ${r.component.name.padEnd(w)}  ${detail}`);
    if (r.note !== null) lines.push(`         ${' '.repeat(w)}  ${r.note}`);
  }
  const missing = rows.filter((r) => !r.path && r.component.required);
  lines.push('');
  lines.push(missing.length === 0 ? 'Everything the native runtime needs is here.' : `${missing.length} required component(s) missing: run \`bench setup\` (as root) to install them.`);
  return lines.join('\n');
}

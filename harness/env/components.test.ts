// What bench installs and what doctor says: nothing fetches or builds k6, and a too-old Go is named.
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { components, GO_MIN_VERSION, TOXIPROXY_VERSION } from './components.ts';
import { formatDoctor, inspect, noteOn, parseVersion, versionBelow } from './doctor.ts';
import { setup } from './setup.ts';
import { findK6 } from '../load/k6/driver.ts';

const tmp = mkdtempSync(join(tmpdir(), 'bench-env-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An executable script printing `line` for any argument. */
function fakeTool(dir: string, name: string, line: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho '${line}'\n`);
  chmodSync(path, 0o755);
  return path;
}

const k6 = components().find((c) => c.binary === 'k6')!;
const go = components().find((c) => c.binary === 'go')!;

describe('components', () => {
  it('builds or fetches no k6: its install is a hint naming where users get it', () => {
    expect(k6.install.kind).toBe('manual');
    for (const c of components()) if (c.install.kind === 'go') expect(c.install.module).not.toMatch(/k6/);
    const hint = k6.install.kind === 'manual' ? k6.install.hint : '';
    for (const where of ['Debian/RPM', 'brew install k6', 'grafana/k6', 'own build', '--k6-bin']) expect(hint).toContain(where);
    expect(JSON.stringify(components())).not.toContain('go.k6.io');
  });

  it('says which Go builds Toxiproxy', () => {
    expect(go.minVersion?.version).toBe(GO_MIN_VERSION);
    expect(go.minVersion?.why).toContain(TOXIPROXY_VERSION);
  });
});

describe('versions', () => {
  it('reads the version out of go, k6 and server banners', () => {
    expect(parseVersion('go version go1.19.8 linux/amd64')).toEqual([1, 19, 8]);
    expect(parseVersion('k6 v2.2.0 (commit/devel, go1.26.8, linux/amd64)')).toEqual([2, 2, 0]);
    expect(parseVersion('go version go1.23 linux/amd64')).toEqual([1, 23, 0]);
    expect(parseVersion('no digits')).toBeNull();
  });

  it('compares part by part, not as text', () => {
    expect(versionBelow([1, 19, 8], [1, 23])).toBe(true);
    expect(versionBelow([1, 9], [1, 23])).toBe(true);
    expect(versionBelow([1, 23, 0], [1, 23])).toBe(false);
    expect(versionBelow([1, 26, 8], [1, 23])).toBe(false);
  });

  it('calls Debian 12\'s Go 1.19 too old and says how to get a newer one; 1.23 and 1.26 pass', () => {
    const old = noteOn(go, 'go version go1.19.8 linux/amd64');
    expect(old.tooOld).toBe(true);
    expect(old.note).toContain('1.19.8 is too old');
    expect(old.note).toContain('https://go.dev/dl/');
    expect(noteOn(go, 'go version go1.23.0 linux/amd64')).toEqual({ tooOld: false, note: null });
    expect(noteOn(go, 'go version go1.26.8 linux/amd64')).toEqual({ tooOld: false, note: null });
  });

  it('takes k6 1.x and 2.x, and warns about another major', () => {
    expect(noteOn(k6, 'k6 v1.8.1 (go1.24.1, linux/amd64)').note).toBeNull();
    expect(noteOn(k6, 'k6 v2.2.0 (commit/devel, go1.26.8, linux/amd64)').note).toBeNull();
    expect(noteOn(k6, 'k6 v0.49.0 (go1.21.6, linux/amd64)').note).toMatch(/not a version bench has checked/);
    expect(noteOn(k6, 'k6 v3.0.0').note).toMatch(/1\.x and 2\.x/);
  });
});

describe('doctor and k6', () => {
  it('says where it found k6 and its version', async () => {
    const dir = mkdtempSync(join(tmp, 'bin-'));
    const path = fakeTool(dir, 'k6', 'k6 v2.2.0 (commit/devel, go1.26.8, linux/amd64)');
    const saved = process.env.PATH;
    process.env.PATH = dir;
    try {
      const [row] = await inspect([k6]);
      expect(row.path).toBe(path);
      expect(row.version).toBe('k6 v2.2.0 (commit/devel, go1.26.8, linux/amd64)');
      expect(formatDoctor([row])).toMatch(new RegExp(`^ok +k6 +k6 v2\\.2\\.0 .*${path}`, 'm'));
    } finally {
      process.env.PATH = saved;
    }
  });

  it('says how to get k6 when there is none, and only looks on PATH (never the tools dir)', async () => {
    const tools = mkdtempSync(join(tmp, 'tools-'));
    fakeTool(tools, 'k6', 'k6 v1.8.1');
    expect(findK6({ PATH: join(tmp, 'nowhere'), BENCH_TOOLS_BIN: tools })).toBeNull();
    const saved = process.env.PATH;
    process.env.PATH = join(tmp, 'nowhere');
    try {
      const text = formatDoctor(await inspect([k6]));
      expect(text).toMatch(/^absent +k6 +needed for .*get it: install it from Grafana's Debian\/RPM packages/m);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('takes --k6-bin over PATH, and refuses a path that is not executable', () => {
    const dir = mkdtempSync(join(tmp, 'own-'));
    const own = fakeTool(dir, 'my-k6', 'k6 v1.8.1');
    expect(findK6({ PATH: join(tmp, 'nowhere') }, own)).toBe(own);
    expect(findK6({ PATH: join(tmp, 'nowhere') }, join(dir, 'missing'))).toBeNull();
  });
});

describe('doctor and Go', () => {
  it('marks a Go older than Toxiproxy needs TOO OLD, with how to get a newer one', async () => {
    const dir = mkdtempSync(join(tmp, 'go-'));
    fakeTool(dir, 'go', 'go version go1.19.8 linux/amd64');
    const saved = process.env.PATH;
    process.env.PATH = dir;
    try {
      // only the fake's directory: not /usr/local/go/bin, where this machine keeps a newer Go
      const rows = await inspect([{ ...go, paths: [] }]);
      expect(rows[0].tooOld).toBe(true);
      const text = formatDoctor(rows);
      expect(text).toMatch(/^TOO OLD +Go +go version go1\.19\.8/m);
      expect(text).toContain(`Toxiproxy ${TOXIPROXY_VERSION} needs Go >= ${GO_MIN_VERSION}`);
      expect(text).toContain('https://go.dev/dl/');
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('setup', () => {
  it('never plans a k6 build, even with --all', async () => {
    const lines: string[] = [];
    const { installed } = await setup({ all: true, dryRun: true, log: (l) => lines.push(l) }).catch(() => ({ installed: [] as string[] }));
    expect(installed.join(' ')).not.toMatch(/k6/);
    expect(lines.join('\n')).not.toMatch(/k6/);
  });
});

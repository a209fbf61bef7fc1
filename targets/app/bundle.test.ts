// The bundle cache on a throwaway checkout of three files, with the real esbuild: the key follows
// the sources, a stale bundle is never handed out, and racing first uses agree on one bundle.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BenchError } from '../../harness/errors.ts';
import { BUNDLE_PATCHES, buildBundle, bundleKey, ensureBundle, findBundle } from './bundle.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
let root: string;
let cacheDir: string;
const entry = 'src/main.ts';
const opts = () => ({ repoRoot: root, entry, cacheDir });

function write(rel: string, text: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}

/** What the bundle prints when node runs it (through its launcher). */
const run = (file: string) => execFileSync(process.execPath, [file], { encoding: 'utf8' }).trim();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'bench-bundle-'));
  cacheDir = join(root, '.tools', 'app-bundle');
  write('tsconfig.json', JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', allowImportingTsExtensions: true } }));
  write('package.json', JSON.stringify({ name: 'fixture', type: 'module' }));
  write('src/greeting.ts', "export const greeting: string = 'hello';\n");
  write('src/unused.ts', "export const unused = 'not imported';\n");
  write(entry, "import { greeting } from './greeting.ts';\nconsole.log(greeting);\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the app bundle cache', () => {
  it('builds once, then finds the same bundle, which runs', async () => {
    expect(findBundle(opts())).toBeNull();
    const built = await ensureBundle(opts());
    expect(built.built).toBe(true);
    expect(run(built.file)).toBe('hello');
    const again = await ensureBundle(opts());
    expect(again).toMatchObject({ built: false, key: built.key, file: built.file });
    const manifest = JSON.parse(readFileSync(join(built.dir, 'manifest.json'), 'utf8'));
    // exactly what was read: both sources and the manifests (the missing lockfile as absent),
    // not the unimported file
    expect(manifest.inputs.map((i: { path: string }) => i.path).sort()).toEqual(['package-lock.json', 'package.json', 'src/greeting.ts', 'src/main.ts', 'tsconfig.json']);
    expect(manifest.inputs.find((i: { path: string }) => i.path === 'package-lock.json').sha256).toBe('absent');
    expect(bundleKey(entry, manifest.inputs)).toBe(built.key);
  });

  it('a change to any source it read changes the key; the stale bundle is never used again', async () => {
    const first = await ensureBundle(opts());
    write('src/greeting.ts', "export const greeting: string = 'bonjour';\n");
    expect(findBundle(opts())).toBeNull();
    const second = await ensureBundle(opts());
    expect(second.built).toBe(true);
    expect(second.key).not.toBe(first.key);
    expect(run(second.file)).toBe('bonjour');
    // the old directory is still there, yet never handed out for these sources
    expect(existsSync(first.dir)).toBe(true);
    expect(findBundle(opts())?.key).toBe(second.key);
    // back to the first bytes: the first bundle is valid again
    write('src/greeting.ts', "export const greeting: string = 'hello';\n");
    expect(findBundle(opts())?.key).toBe(first.key);
  });

  it('a file it did not read does not invalidate it; tsconfig.json and the lockfile do', async () => {
    const first = await ensureBundle(opts());
    write('src/unused.ts', "export const unused = 'edited';\n");
    expect(findBundle(opts())?.key).toBe(first.key);
    write('tsconfig.json', JSON.stringify({ compilerOptions: { target: 'ES2020' } }));
    expect(findBundle(opts())).toBeNull();
    const second = await ensureBundle(opts());
    write('package-lock.json', '{"lockfileVersion":3}');
    expect(findBundle(opts())).toBeNull();
    expect((await ensureBundle(opts())).key).not.toBe(second.key);
  });

  it('a bundle whose manifest does not match its key is not used', async () => {
    const b = await ensureBundle(opts());
    const path = join(b.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    m.inputs = m.inputs.filter((i: { path: string }) => i.path !== 'src/greeting.ts');
    writeFileSync(path, JSON.stringify(m));
    expect(findBundle(opts())).toBeNull();
  });

  it('concurrent first uses in one process agree on one complete bundle and leave no temporary directory', async () => {
    const all = await Promise.all([buildBundle(opts()), buildBundle(opts()), buildBundle(opts()), ensureBundle(opts()), ensureBundle(opts())]);
    expect(new Set(all.map((b) => b.key)).size).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([all[0]!.key]);
    expect(run(all[0]!.file)).toBe('hello');
  });

  it('concurrent first uses from separate processes agree on one bundle', async () => {
    const script = `import { ensureBundle } from ${JSON.stringify(join(repoRoot, 'targets/app/bundle.ts'))};
      const b = await ensureBundle(${JSON.stringify(opts())});
      process.stdout.write(b.key);`;
    const one = () =>
      new Promise<string>((ok, fail) => {
        const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`exit ${code}: ${err}`))));
      });
    const keys = await Promise.all([one(), one(), one()]);
    expect(new Set(keys).size).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([keys[0]]);
    expect(findBundle(opts())?.key).toBe(keys[0]);
  }, 60_000);

  it('refuses a world-writable cache directory', async () => {
    mkdirSync(cacheDir, { recursive: true });
    chmodSync(cacheDir, 0o777);
    await expect(buildBundle(opts())).rejects.toThrow(BenchError);
    await expect(buildBundle(opts())).rejects.toThrow(/world-writable/);
  });

  it('a source that does not compile: one line naming the file, and nothing cached', async () => {
    write('src/greeting.ts', 'export const greeting: string = ;\n');
    const e = await buildBundle(opts()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BenchError);
    expect((e as BenchError).message).toMatch(/^bundling src\/main\.ts failed: .*src\/greeting\.ts:1/);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('the launcher writes the V8 code cache when the entry emits that its start is done, not before', async () => {
    // the entry stays up 1.5 s: well under the launcher's 3 s fallback
    write(entry, `import { CODE_CACHE_EVENT } from '${join(repoRoot, 'targets/app/code-cache.ts')}';\nconst quiet = process.argv[2] === 'quiet';\nif (!quiet) setTimeout(() => process.emit(CODE_CACHE_EVENT), 200);\nsetTimeout(() => {}, 1500);\n`);
    const b = await ensureBundle(opts());
    const cached = () => readdirSync(b.dir).some((f) => f.startsWith('server.cjs.v8cache-'));
    execFileSync(process.execPath, [b.file, 'quiet']);
    expect(cached()).toBe(false);
    execFileSync(process.execPath, [b.file]);
    expect(cached()).toBe(true);
  });

  it("pg's Cloudflare probe is patched out of the bundle (and only there)", async () => {
    write('node_modules/pg/lib/stream.js', "function isCloudflareRuntime() {\n  return typeof Response === 'function';\n}\nmodule.exports = isCloudflareRuntime;\n");
    write('node_modules/pg/package.json', JSON.stringify({ name: 'pg', main: 'lib/stream.js' }));
    write('node_modules/other/stream.js', "function isCloudflareRuntime() {\n  return 'untouched';\n}\nmodule.exports = isCloudflareRuntime;\n");
    write('node_modules/other/package.json', JSON.stringify({ name: 'other', main: 'stream.js' }));
    write(entry, "import probe from 'pg/lib/stream.js';\nimport other from 'other';\nconsole.log(probe(), other());\n");
    const b = await ensureBundle(opts());
    // the patched probe answers false at once; the same function elsewhere is left alone
    expect(run(b.file)).toBe('false untouched');
  });
});

describe('BUNDLE_PATCHES', () => {
  // a patch whose text is not found changes nothing and says nothing: the installed dependency
  // must still hold each text, exactly once (after an upgrade, re-check the patch and its figure)
  it.each(BUNDLE_PATCHES.map((p) => [p.file, p] as const))('%s still holds the text its patch replaces', (_file, p) => {
    const text = readFileSync(join(repoRoot, p.file), 'utf8');
    expect(text.split(p.find)).toHaveLength(2);
  });
});

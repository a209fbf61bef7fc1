// The app as prebuilt JavaScript: transpiling TypeScript with tsx at every start cost ~8 s of a
// 0.2-CPU host, so the app (or any Node service entry) is bundled once with esbuild into one
// CommonJS file and started with plain `node`.
//
// Cache: <cacheDir>/<key>/{server.cjs, start.cjs, manifest.json}. The key is a digest of every
// file the bundle read (the exact bytes esbuild was given, captured by an onLoad plugin, so an
// edit during a build cannot give a stale bundle a fresh key), tsconfig.json, package.json and
// package-lock.json (dependency versions and resolution), the esbuild and node versions, and the
// build options. A lookup re-hashes the inputs a bundle's manifest lists: any source change gives
// no match, so a stale bundle is never used (a new file can only be read through an edited one).
// A build writes to a private temporary directory and renames it into place: concurrent first
// uses each build, one rename wins, and the others use the winner (same inputs, same bytes).
//
// Native modules (better-sqlite3, pg-native) stay external: they are resolved at run time from
// NODE_PATH (the checkout's node_modules, or the image's), so the cache may live anywhere.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { extname, isAbsolute, join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import { BenchError } from '../../harness/errors.ts';
import { CODE_CACHE_EVENT } from './code-cache.ts';

/** The app's process entry, relative to the repository root. */
export const APP_ENTRY = 'targets/app/server.ts';
/** Modules that cannot be bundled (native addons): required at run time through NODE_PATH. */
export const BUNDLE_EXTERNALS: readonly string[] = ['better-sqlite3', 'pg-native'];
/** Bump when the bundle's layout or the launcher changes: old bundles then never match. */
const LAYOUT_VERSION = 'bench-bundle-2';
const MANIFEST = 'manifest.json';
const BUNDLE_FILE = 'server.cjs';
const LAUNCHER_FILE = 'start.cjs';
/**
 * Source edits made while bundling, each for a cost the app pays at every start on a platform it
 * never runs on. The key covers this list (a change rebuilds); an edit whose text is not found
 * changes nothing, and the bundle is then merely slower.
 */
export const BUNDLE_PATCHES: ReadonlyArray<{ file: string; find: string; replace: string; why: string }> = [
  {
    file: '/node_modules/pg/lib/stream.js',
    find: 'function isCloudflareRuntime() {',
    replace: 'function isCloudflareRuntime() { return false;',
    why: "pg probes for Cloudflare Workers with `new Response(...)`, which loads Node 20's fetch (undici) at require time: ~30 ms of CPU, 0.15 s at 0.2 CPU; the bundle targets Node only",
  },
  {
    file: '/node_modules/fastify/lib/server.js',
    find: "const http2 = require('node:http2')",
    replace: "const http2 = { createServer: (...a) => require('node:http2').createServer(...a), createSecureServer: (...a) => require('node:http2').createSecureServer(...a) }",
    why: 'fastify loads node:http2 at require time for a server option (http2) the app never sets: ~3 ms of CPU at every start, 15 ms at 0.2 CPU; loaded on use instead',
  },
];

/** Files outside the module graph that change what esbuild produces. */
const EXTRA_INPUTS = ['tsconfig.json', 'package.json', 'package-lock.json'];

export interface BundleOptions {
  repoRoot: string;
  /** entry, relative to repoRoot; default the app's server */
  entry?: string;
  /** default <repoRoot>/.tools/app-bundle */
  cacheDir?: string;
}

export interface AppBundle {
  key: string;
  /** the bundle's directory (mount it read-only where the bundle runs in a container) */
  dir: string;
  /** what `node` runs: the launcher, which loads the bundle through V8's code cache */
  file: string;
  /** the bundled code itself */
  bundle: string;
  /** true when this call built it; false when a valid one was found */
  built: boolean;
  /** wall time of the build or the lookup */
  seconds: number;
}

interface Manifest {
  layout: string;
  key: string;
  entry: string;
  esbuild: string;
  node: string;
  /** paths relative to repoRoot (absolute when outside it), with sha256 of their bytes */
  inputs: Array<{ path: string; sha256: string }>;
}

/** The default cache directory: the harness's own tools directory of the checkout. */
export const defaultBundleCacheDir = (repoRoot: string) => join(repoRoot, '.tools', 'app-bundle');

/** the digest recorded for an input that does not exist */
const ABSENT = 'absent';
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Everything besides the inputs that changes the output. */
function buildIdentity(entry: string): string {
  return JSON.stringify({ layout: LAYOUT_VERSION, entry, esbuild: esbuild.version, node: process.version, externals: BUNDLE_EXTERNALS, options: BUILD_OPTIONS, patches: BUNDLE_PATCHES });
}

/** The key of a bundle: its identity and its inputs' digests, in path order. Pure. */
export function bundleKey(entry: string, inputs: ReadonlyArray<{ path: string; sha256: string }>): string {
  const h = createHash('sha256').update(buildIdentity(entry));
  for (const i of [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(`\0${i.path}\0${i.sha256}`);
  return h.digest('hex').slice(0, 24);
}

const BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS: the bundled libraries are mostly CommonJS, and NODE_PATH (how the externals are
  // found wherever the cache lives) only applies to require()
  format: 'cjs',
  // names kept: stack traces from the app stay readable
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'silent',
} as const satisfies esbuild.BuildOptions;

/**
 * The launcher written beside the bundle: compiles it with V8's code cache (written after the
 * first start that finds none, atomically; V8 itself rejects a cache made from other bytes or
 * by another V8), then runs it as the main module. The cache is written when the entry emits
 * CODE_CACHE_EVENT (the app: once listening and answering, before its warm-up), else 3 s after the
 * start: it then holds what a start runs and little else (V8 deserializes all of it at every start:
 * code compiled later, for the warm-up or the load, would make every start slower). The app is
 * listening before the cache is written, so that write never delays readiness.
 */
const LAUNCHER = `'use strict';
// Generated by targets/app/bundle.ts: runs ./${BUNDLE_FILE} through V8's code cache.
const fs = require('node:fs'), vm = require('node:vm'), path = require('node:path'), Module = require('node:module');
const file = path.join(__dirname, '${BUNDLE_FILE}');
const cacheFile = file + '.v8cache-' + process.version;
const source = fs.readFileSync(file, 'utf8');
let cachedData;
try { cachedData = fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
const mod = new Module(file, null);
mod.filename = file;
mod.paths = Module._nodeModulePaths(__dirname);
require.main = mod;
process.mainModule = mod;
script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);
if (!cachedData || script.cachedDataRejected) {
  // after the start's lazily compiled functions ran, so they are in the cache too
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    try {
      const tmp = cacheFile + '.' + process.pid + '.tmp';
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
      fs.renameSync(tmp, cacheFile);
    } catch {
      // a read-only bundle directory (a container's mount): start without the cache
    }
  };
  process.once('${CODE_CACHE_EVENT}', write);
  setTimeout(write, 3000).unref();
}
`;

function asInputPath(repoRoot: string, abs: string): string {
  const rel = relative(repoRoot, abs);
  return rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
}

function checkCacheDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const st = statSync(dir);
  if (st.mode & 0o002) {
    throw new BenchError('environment', `the app bundle cache ${dir} is world-writable: anyone could swap the code the app runs`, `run: chmod o-w ${dir}`);
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid() && st.uid !== 0) {
    throw new BenchError('environment', `the app bundle cache ${dir} belongs to uid ${st.uid}, not to this user`, `remove it or give it to this user: chown -R ${process.getuid()} ${dir}`);
  }
}

/** Per-process memo of file digests, keyed by path and revalidated by size, mtime and inode. */
const digests = new Map<string, { sig: string; sha256: string }>();

function digestOf(abs: string): string | null {
  let st;
  try {
    st = statSync(abs);
  } catch {
    return null;
  }
  const sig = `${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`;
  const hit = digests.get(abs);
  if (hit && hit.sig === sig) return hit.sha256;
  const sha = sha256(readFileSync(abs));
  digests.set(abs, { sig, sha256: sha });
  return sha;
}

function readManifest(dir: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
    return m && m.layout === LAYOUT_VERSION && Array.isArray(m.inputs) ? m : null;
  } catch {
    return null;
  }
}

/** True when every input the manifest lists still has the bytes it was built from. */
function stillValid(repoRoot: string, entry: string, dirName: string, m: Manifest): boolean {
  if (m.entry !== entry || m.key !== dirName) return false;
  if (bundleKey(entry, m.inputs) !== m.key) return false;
  for (const i of m.inputs) {
    if ((digestOf(isAbsolute(i.path) ? i.path : join(repoRoot, i.path)) ?? ABSENT) !== i.sha256) return false;
  }
  return true;
}

/**
 * A valid bundle of `entry` for the sources as they are now, or null (none was built, or every
 * one is stale). Synchronous: a launch (called for every restart) can ask it.
 */
export function findBundle(opts: BundleOptions): AppBundle | null {
  const t0 = performance.now();
  const entry = opts.entry ?? APP_ENTRY;
  const cacheDir = opts.cacheDir ?? defaultBundleCacheDir(opts.repoRoot);
  if (!existsSync(cacheDir)) return null;
  const candidates: Array<{ name: string; mtimeMs: number; m: Manifest }> = [];
  for (const name of readdirSync(cacheDir)) {
    if (name.startsWith('.')) continue;
    const m = readManifest(join(cacheDir, name));
    if (m && m.entry === entry) candidates.push({ name, mtimeMs: statSync(join(cacheDir, name, MANIFEST)).mtimeMs, m });
  }
  // the newest first: after an edit the latest build is the likely match
  candidates.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const c of candidates) {
    if (!stillValid(opts.repoRoot, entry, c.name, c.m)) continue;
    const dir = join(cacheDir, c.name);
    if (!existsSync(join(dir, BUNDLE_FILE)) || !existsSync(join(dir, LAUNCHER_FILE))) continue;
    return { key: c.name, dir, file: join(dir, LAUNCHER_FILE), bundle: join(dir, BUNDLE_FILE), built: false, seconds: (performance.now() - t0) / 1000 };
  }
  return null;
}

/** Builds of one process in flight, by cache directory and entry: three apps starting together build once. */
const inFlight = new Map<string, Promise<AppBundle>>();

/** A valid bundle of `entry`: the cached one, else a fresh build (atomic, safe to race). */
export function ensureBundle(opts: BundleOptions): Promise<AppBundle> {
  const found = findBundle(opts);
  if (found) return Promise.resolve(found);
  const id = `${opts.cacheDir ?? defaultBundleCacheDir(opts.repoRoot)}\0${opts.entry ?? APP_ENTRY}`;
  const running = inFlight.get(id);
  if (running) return running;
  const p = buildBundle(opts).finally(() => inFlight.delete(id));
  inFlight.set(id, p);
  return p;
}

/** Builds the bundle unconditionally into the cache (the lookup is ensureBundle's job). */
export async function buildBundle(opts: BundleOptions): Promise<AppBundle> {
  const t0 = performance.now();
  const { repoRoot } = opts;
  const entry = opts.entry ?? APP_ENTRY;
  const cacheDir = opts.cacheDir ?? defaultBundleCacheDir(repoRoot);
  checkCacheDir(cacheDir);
  const inputs = new Map<string, string>();
  // an absent file is an input too: a lockfile appearing later changes the dependencies
  for (const f of EXTRA_INPUTS) inputs.set(f, await readFile(join(repoRoot, f)).then(sha256, () => ABSENT));
  // every module esbuild reads passes through here: the key covers exactly these bytes
  const capture: esbuild.Plugin = {
    name: 'bench-input-digests',
    setup(build) {
      build.onLoad({ filter: /.*/, namespace: 'file' }, async (args) => {
        const bytes = await readFile(args.path);
        inputs.set(asInputPath(repoRoot, args.path), sha256(bytes));
        const path = args.path.split('\\').join('/');
        const patches = BUNDLE_PATCHES.filter((p) => path.endsWith(p.file));
        if (patches.length === 0) return { contents: bytes, loader: loaderFor(args.path) };
        let text = bytes.toString('utf8');
        for (const p of patches) text = text.replace(p.find, p.replace);
        return { contents: text, loader: loaderFor(args.path) };
      });
    },
  };
  const tmp = join(cacheDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: 0o755 });
  try {
    let result;
    try {
      result = await esbuild.build({
        ...BUILD_OPTIONS,
        absWorkingDir: repoRoot,
        entryPoints: [join(repoRoot, entry)],
        outfile: join(tmp, BUNDLE_FILE),
        external: [...BUNDLE_EXTERNALS],
        tsconfig: join(repoRoot, 'tsconfig.json'),
        plugins: [capture],
      });
    } catch (e) {
      const first = (e as esbuild.BuildFailure).errors?.[0];
      const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
      throw new BenchError('environment', `bundling ${entry} failed: ${first?.text ?? (e as Error).message}${where}`, 'fix the error; the app cannot start from a broken bundle');
    }
    if (result.errors.length > 0) throw new BenchError('environment', `bundling ${entry} failed: ${result.errors[0].text}`, 'fix the error');
    const list = [...inputs].map(([path, sha]) => ({ path, sha256: sha }));
    const key = bundleKey(entry, list);
    const manifest: Manifest = { layout: LAYOUT_VERSION, key, entry, esbuild: esbuild.version, node: process.version, inputs: list.sort((a, b) => (a.path < b.path ? -1 : 1)) };
    await writeFile(join(tmp, LAUNCHER_FILE), LAUNCHER, { mode: 0o644 });
    // the manifest last: a directory with a manifest is complete (and only renamed ones count)
    await writeFile(join(tmp, MANIFEST), JSON.stringify(manifest, null, 1) + '\n', { mode: 0o644 });
    const dir = join(cacheDir, key);
    try {
      await rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // another builder (this process or another) got there first with the same inputs
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    }
    // mkdir's mode is filtered by the umask: say it explicitly
    chmodSync(dir, 0o755);
    return { key, dir, file: join(dir, LAUNCHER_FILE), bundle: join(dir, BUNDLE_FILE), built: true, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
}

function loaderFor(path: string): esbuild.Loader {
  switch (extname(path)) {
    case '.ts':
    case '.mts':
    case '.cts':
      return 'ts';
    case '.tsx':
      return 'tsx';
    case '.json':
      return 'json';
    default:
      return 'js';
  }
}

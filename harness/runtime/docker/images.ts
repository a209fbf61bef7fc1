// The images the Docker runtime runs, in one place. Two modes:
//
//   official  the components' official images, pinned by tag below, pulled when missing (with
//             progress), and the app's image built from this checkout (node:20 + npm ci).
//   local     no registry at all: one minimal image, `bench-local/base:1`, imported from a tar
//             that holds nothing but the links bin, lib, lib64, sbin -> usr/... and a few empty
//             directories. Every container runs from it with this machine's /usr and /etc
//             mounted read-only (and the checkout for the app), so it runs the host's own
//             binaries: the same PostgreSQL, Redis, HAProxy... that the native runtime uses.
//             It only works with a daemon on this machine (same kernel, same files).
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import type Docker from 'dockerode';
import { BenchError } from '../../errors.ts';
import type { ServiceKind } from '../../topology/types.ts';
import { kinds } from '../../../targets/services/index.ts';
import { APP_IMAGE_ROOT } from '../../../targets/services/app.ts';
import type { Progress } from '../types.ts';
import { tarArchive, type TarEntry } from './tar.ts';

export type ImageMode = 'official' | 'local';

/** The kinds that run from an image (those whose module declares one), plus Grafana (--grafana)
 *  and the network holder of each service (`pause`: it owns the service's network namespace, see docker.ts). */
export type ImageKind = ServiceKind | 'grafana' | 'pause';

/** The images the harness itself runs beside the kinds' own. */
const HARNESS_IMAGES = { grafana: 'grafana/grafana:10.4.2', pause: 'registry.k8s.io/pause:3.9' } as const;

/**
 * A table derived from the kinds' modules, built on first read: the registry may not be complete
 * while the modules load (targets/services/index.ts says why).
 */
function derived<V>(build: () => Record<string, V>): Readonly<Record<string, V>> {
  let table: Record<string, V> | undefined;
  const get = () => (table ??= build());
  return new Proxy({} as Record<string, V>, {
    get: (_, k) => (typeof k === 'string' ? get()[k] : undefined),
    has: (_, k) => k in get(),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_, k) => Reflect.getOwnPropertyDescriptor(get(), k),
  });
}

/** The official images, pinned by tag, from each kind's module. `app` is built from this checkout (ensureAppImage). */
export const OFFICIAL_IMAGES: Readonly<Record<ImageKind, string>> = derived(() => {
  const out: Record<string, string> = {};
  for (const k of kinds.values()) if (k.image) out[k.kind] = k.image.official;
  return { ...out, ...HARNESS_IMAGES };
});

/** Where each binary a kind requires lives inside its official image (its requirement's `inImage`). */
export const OFFICIAL_BINARIES: Readonly<Record<string, string>> = derived(() => {
  const out: Record<string, string> = {};
  for (const k of kinds.values()) for (const r of k.requires) if (r.inImage) out[r.binary] = r.inImage;
  return out;
});

/** System users of the official images, by name, as numbers (Docker resolves names in the image). */
export function officialUsers(): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of kinds.values()) Object.assign(out, k.image?.users ?? {});
  return out;
}

/** The offline base image. */
export const LOCAL_BASE_IMAGE = 'bench-local/base:1';

/** Official images replaced by the caller (a registry mirror, another tag). */
export type ImageOverrides = Partial<Record<ImageKind, string>>;

/** The image a service of `kind` runs from in `mode`. */
export function imageFor(kind: ImageKind, mode: ImageMode, overrides: ImageOverrides = {}): string {
  return mode === 'local' ? LOCAL_BASE_IMAGE : (overrides[kind] ?? OFFICIAL_IMAGES[kind]);
}

/** Top-level directories whose content a host binary may need (merged /usr: links into /usr). */
const ROOT_LINK_CANDIDATES = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * How this machine's root is laid out for the base image: which of bin, lib, lib64, sbin... are
 * links (copied into the image as links) and which are real directories (mounted read-only
 * beside /usr and /etc, for a system without merged /usr).
 */
export function hostRootLayout(root = '/'): { links: { path: string; target: string }[]; dirs: string[] } {
  const links: { path: string; target: string }[] = [];
  const dirs: string[] = [];
  for (const name of ROOT_LINK_CANDIDATES) {
    const p = join(root, name);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) links.push({ path: name, target: readlinkSync(p) });
    else if (st.isDirectory()) dirs.push(`/${name}`);
  }
  return { links, dirs };
}

/** The root filesystem of the base image: links into /usr and empty mount points. Pure. */
export function baseRootfsTar(links: { path: string; target: string }[]): Buffer {
  const entries: TarEntry[] = [
    ...links.map((l): TarEntry => ({ type: 'symlink', path: l.path, target: l.target })),
    ...['usr', 'etc', 'proc', 'sys', 'dev', 'run', 'var', 'root', 'home'].map((d): TarEntry => ({ type: 'dir', path: d })),
    // node (tsx's cache), postgres and others write temporary files here
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'var/tmp', mode: 0o1777 },
  ];
  return tarArchive(entries);
}

/** True when `ref` is present in the daemon's image store. */
export async function hasImage(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

/** Reads a progress stream of the images API to its end; rejects on an error message in it. */
function followStream(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (e: PullEvent) => void = () => {}): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: PullEvent[]) => {
        if (err) return reject(err);
        const failed = out.find((o) => o.error || o.errorDetail);
        if (failed) return reject(new Error(failed.error ?? failed.errorDetail?.message ?? 'failed'));
        resolve();
      },
      onEvent,
    );
  });
}

/** Imports the offline base image unless it is there already. Registry-free: the tar is built here. */
export async function ensureLocalBase(docker: Docker, progress: Progress): Promise<void> {
  if (await hasImage(docker, LOCAL_BASE_IMAGE)) return;
  const t0 = performance.now();
  const [repo, tag] = LOCAL_BASE_IMAGE.split(':') as [string, string];
  const stream = await docker.importImage(baseRootfsTar(hostRootLayout().links) as unknown as NodeJS.ReadableStream, { repo, tag });
  await followStream(docker, stream);
  progress(`image ${LOCAL_BASE_IMAGE}: imported (an empty root with links into the host's /usr) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** Pull progress as a few lines: per-layer bytes summed, a line every 10 % or 5 s. */
export class PullProgress {
  private readonly layers = new Map<string, { current: number; total: number }>();
  private lastPct = -10;
  private lastAt = 0;

  constructor(
    private readonly ref: string,
    private readonly progress: Progress,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Feeds one event of the pull stream. */
  onEvent(e: PullEvent): void {
    if (!e.id || !e.progressDetail?.total || e.status !== 'Downloading') {
      if (e.id && (e.status === 'Download complete' || e.status === 'Pull complete' || e.status === 'Already exists')) {
        const l = this.layers.get(e.id);
        if (l) l.current = l.total;
      }
      return;
    }
    this.layers.set(e.id, { current: e.progressDetail.current ?? 0, total: e.progressDetail.total });
    let cur = 0;
    let tot = 0;
    for (const l of this.layers.values()) {
      cur += l.current;
      tot += l.total;
    }
    const pct = Math.floor((100 * cur) / tot);
    const t = this.now();
    if (pct >= this.lastPct + 10 || t - this.lastAt >= 5_000) {
      this.lastPct = pct;
      this.lastAt = t;
      this.progress(`image ${this.ref}: pulling ${pct}% (${(cur / 1e6).toFixed(0)} of ${(tot / 1e6).toFixed(0)} MB known so far)`);
    }
  }
}

/** A pull that failed, as one line: the image cannot be had; the offline mode needs no registry. */
export function unpullable(ref: string, reason: string): BenchError {
  return new BenchError(
    'environment',
    `image ${ref} is not on this machine and cannot be pulled (${reason.split('\n')[0]!.slice(0, 160)})`,
    'check the network and `docker login`, or use --images local (built from this machine\'s binaries, no registry)',
  );
}

/** Pulls `ref` with progress lines; throws a one-line BenchError when it cannot be pulled. */
export async function pullImage(docker: Docker, ref: string, progress: Progress): Promise<void> {
  const t0 = performance.now();
  progress(`image ${ref}: pulling`);
  const meter = new PullProgress(ref, progress);
  try {
    const stream = (await docker.pull(ref)) as NodeJS.ReadableStream;
    await followStream(docker, stream, (e) => meter.onEvent(e));
  } catch (e) {
    throw unpullable(ref, (e as Error).message);
  }
  progress(`image ${ref}: pulled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Makes every image in `refs` present: pulls what is missing (official mode). */
export async function ensureOfficialImages(docker: Docker, refs: readonly string[], progress: Progress): Promise<void> {
  for (const ref of [...new Set(refs)]) {
    if (!(await hasImage(docker, ref))) await pullImage(docker, ref, progress);
  }
}

/** The kinds whose official image is built from this checkout (the app's image), never pulled:
 *  the app, and phase 6's microservices, which run from the same image in another role. */
export const BUILT_KINDS: ReadonlySet<ImageKind> = new Set<ImageKind>(['app', 'microservice']);

/** The base the app image builds from: the official Node 20 image. */
export const APP_BASE_IMAGE = 'node:20-bookworm-slim';
/** The app's sources in its image (declared with the app kind). */
export { APP_IMAGE_ROOT };

/** The Dockerfile of the app image: production dependencies, then the sources; runs through tsx. */
export function appDockerfile(): string {
  return [
    `FROM ${APP_BASE_IMAGE}`,
    `WORKDIR ${APP_IMAGE_ROOT}`,
    'COPY package.json package-lock.json ./',
    'RUN npm ci --omit=dev --no-audit --no-fund',
    'COPY . .',
    'ENV NODE_ENV=production',
    `CMD ["node", "--import", "tsx", "${APP_IMAGE_ROOT}/targets/app/server.ts"]`,
    '',
  ].join('\n');
}

/** What the app image is built from (relative paths): the app, the harness code it imports, the manifests. */
export function appContextFiles(repoRoot: string): string[] {
  const out = ['package.json', 'package-lock.json', 'tsconfig.json'];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(repoRoot, dir))) {
      const rel = join(dir, name);
      const st = statSync(join(repoRoot, rel));
      if (st.isDirectory()) walk(rel);
      else if (/\.(ts|json|sql|html|css|js)$/.test(name) && !/\.test\.ts$/.test(name)) out.push(rel);
    }
  };
  for (const dir of ['harness', 'targets', 'loadtests', 'reports']) if (existsSync(join(repoRoot, dir))) walk(dir);
  return out.filter((f) => existsSync(join(repoRoot, f)));
}

/** A digest of the app image's inputs: the image is rebuilt when it changes. */
export function appSourceDigest(repoRoot: string, files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort()) {
    h.update(f);
    h.update(readFileSync(join(repoRoot, f)));
  }
  return h.digest('hex').slice(0, 16);
}

const LABEL_APP_DIGEST = 'bench.app-digest';

/** Builds `bench/app` from this checkout unless an image of the same sources exists (official mode). */
export async function ensureAppImage(docker: Docker, repoRoot: string, progress: Progress, ref = OFFICIAL_IMAGES.app): Promise<string> {
  const files = appContextFiles(repoRoot);
  const digest = appSourceDigest(repoRoot, files);
  try {
    const info = await docker.getImage(ref).inspect();
    if (info.Config?.Labels?.[LABEL_APP_DIGEST] === digest) return ref;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
  if (!(await hasImage(docker, APP_BASE_IMAGE))) await pullImage(docker, APP_BASE_IMAGE, progress);
  const t0 = performance.now();
  progress(`image ${ref}: building from ${repoRoot} (${files.length} files)`);
  const entries: TarEntry[] = [{ type: 'file', path: 'Dockerfile', content: appDockerfile() }];
  for (const f of files) entries.push({ type: 'file', path: relative('.', f), content: readFileSync(join(repoRoot, f)) });
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(tarArchive(entries) as unknown as NodeJS.ReadableStream, { t: ref, labels: { [LABEL_APP_DIGEST]: digest } });
    await followStream(docker, stream, (e) => {
      const line = (e as { stream?: string }).stream?.trim();
      if (line && /^Step \d+\/\d+/.test(line)) progress(`image ${ref}: ${line}`);
    });
  } catch (e) {
    throw new BenchError('environment', `building the app image ${ref} failed: ${(e as Error).message.split('\n')[0]}`, 'check the network (npm ci runs in the build), or use --images local');
  }
  progress(`image ${ref}: built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return ref;
}

// Static assets: the files of loadtests/workloads.ts `staticAssets`, generated in memory at their
// sizes (the same bytes in every process, so every app server gives the same ETag and a CDN edge
// can revalidate against any of them), or read from a directory.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { staticAssets } from '../../loadtests/workloads.ts';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Browsers and edges may keep an asset 5 minutes. */
export const ASSET_CACHE_CONTROL = 'public, max-age=300';

const TEXT_TYPES = new Set(['application/javascript', 'text/css']);

/** File signatures, so a browser or a sniffer sees the type the header claims. */
const MAGIC: Record<string, number[]> = {
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  'image/jpeg': [0xff, 0xd8, 0xff, 0xe0],
  'image/x-icon': [0x00, 0x00, 0x01, 0x00],
};

const etagOf = (body: Buffer) => `"${createHash('sha1').update(body).digest('hex').slice(0, 20)}"`;

/** Deterministic bytes for one asset: text for scripts and stylesheets, noise behind a signature for images. */
export function generateAsset(path: string, bytes: number, type: string): Buffer {
  const body = Buffer.alloc(bytes);
  if (TEXT_TYPES.has(type)) {
    const comment = type === 'text/css' ? ['/* ', ' */\n'] : ['// ', '\n'];
    let off = 0;
    for (let line = 1; off < bytes; line++) {
      off += body.write(`${comment[0]}bench asset ${path} line ${String(line).padStart(6, '0')}${comment[1]}`, off, 'latin1');
    }
    return body;
  }
  // xorshift32 seeded from the path: the same bytes in every process
  let x = createHash('sha1').update(path).digest().readUInt32LE(0) || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body[i] = x & 0xff;
  }
  (MAGIC[type] ?? []).forEach((b, i) => {
    if (i < bytes) body[i] = b;
  });
  return body;
}

/** The generated assets of loadtests/workloads.ts, by file name. */
export function generatedAssets(): Map<string, Asset> {
  return new Map(
    staticAssets.map((a) => {
      const body = generateAsset(a.path, a.bytes, a.type);
      return [a.path, { body, type: a.type, etag: etagOf(body) }];
    }),
  );
}

/** What the app asks its assets: one by file name. */
export interface AssetSource {
  get(name: string): Asset | undefined;
}

/**
 * The generated assets, each made on its first request (then kept): making all of them at start
 * cost ~50 ms of CPU, a quarter of a second on a 0.2-CPU host before the app could answer.
 */
export function lazyGeneratedAssets(): AssetSource {
  const specs = new Map(staticAssets.map((a) => [a.path, a]));
  const made = new Map<string, Asset>();
  return {
    get(name) {
      const hit = made.get(name);
      if (hit) return hit;
      const spec = specs.get(name);
      if (!spec) return undefined;
      const body = generateAsset(spec.path, spec.bytes, spec.type);
      const asset = { body, type: spec.type, etag: etagOf(body) };
      made.set(name, asset);
      return asset;
    },
  };
}

const typeByExt: Record<string, string> = {
  '.js': 'application/javascript',
  '.css': 'text/css',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The regular files directly in `dir`, read once into memory. */
export function directoryAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (!statSync(full).isFile()) continue;
    const body = readFileSync(full);
    out.set(name, { body, type: typeByExt[extname(name).toLowerCase()] ?? 'application/octet-stream', etag: etagOf(body) });
  }
  return out;
}

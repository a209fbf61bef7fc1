import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appDockerfile, BUILT_KINDS, baseRootfsTar, hostRootLayout, imageFor, LOCAL_BASE_IMAGE, OFFICIAL_IMAGES, PullProgress, type ImageKind } from './images.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('images', () => {
  it('pins every official image by tag, never latest (the app and the microservices are built here)', () => {
    for (const [kind, ref] of Object.entries(OFFICIAL_IMAGES)) {
      // the app's image, built from this checkout, which phase 6's microservices run from too
      if (BUILT_KINDS.has(kind as ImageKind)) {
        expect(ref, kind).toBe(OFFICIAL_IMAGES.app);
        continue;
      }
      expect(ref, kind).toMatch(/:[\w.-]+$/);
      expect(ref, kind).not.toMatch(/:latest$/);
    }
    expect(OFFICIAL_IMAGES.postgres).toBe('postgres:15');
    expect(OFFICIAL_IMAGES.toxiproxy).toBe('ghcr.io/shopify/toxiproxy:2.12.0');
  });

  it('runs everything from the base image in local mode, and honours overrides in official mode', () => {
    expect(imageFor('postgres', 'local')).toBe(LOCAL_BASE_IMAGE);
    expect(imageFor('postgres', 'official')).toBe('postgres:15');
    expect(imageFor('redis', 'official', { redis: 'mirror.local/redis:7' })).toBe('mirror.local/redis:7');
  });

  it('builds the app on Node 20 with production dependencies only', () => {
    const df = appDockerfile();
    expect(df).toMatch(/^FROM node:20/);
    expect(df).toContain('npm ci --omit=dev');
    expect(df).toContain('targets/app/server.ts');
  });
});

describe('the offline base image', () => {
  it("copies the host's merged-/usr links and mounts real top-level directories instead", async () => {
    const root = await mkdtemp(join(tmpdir(), 'bench-root-'));
    dirs.push(root);
    await symlink('usr/bin', join(root, 'bin'));
    await symlink('usr/lib', join(root, 'lib'));
    await mkdir(join(root, 'sbin'));
    await writeFile(join(root, 'lib64'), 'not a dir');
    const layout = hostRootLayout(root);
    expect(layout.links).toEqual([
      { path: 'bin', target: 'usr/bin' },
      { path: 'lib', target: 'usr/lib' },
    ]);
    expect(layout.dirs).toEqual(['/sbin']);
  });

  it('is a tar of links and empty directories, /tmp sticky', async () => {
    const d = await mkdtemp(join(tmpdir(), 'bench-base-'));
    dirs.push(d);
    await writeFile(join(d, 'base.tar'), baseRootfsTar([{ path: 'bin', target: 'usr/bin' }, { path: 'lib64', target: 'usr/lib64' }]));
    const out = spawnSync('tar', ['-tvf', join(d, 'base.tar')], { encoding: 'utf8' }).stdout;
    expect(out).toMatch(/ bin -> usr\/bin$/m);
    expect(out).toMatch(/ lib64 -> usr\/lib64$/m);
    expect(out).toMatch(/^drwxrwxrwt .* tmp\/$/m);
    expect(out).not.toMatch(/^-/m);
  });
});

describe('PullProgress', () => {
  it('sums layer bytes and prints a line per 10 %, not per event', () => {
    const lines: string[] = [];
    let now = 0;
    const p = new PullProgress('redis:7', (l) => lines.push(l), () => now);
    for (let i = 1; i <= 100; i++) {
      now += 10;
      p.onEvent({ status: 'Downloading', id: 'a', progressDetail: { current: i * 1e6, total: 100e6 } });
    }
    // 1 %, 11 %, ... 91 %: ten lines for a hundred events (the 5 s clock never fired)
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('image redis:7: pulling 1% (1 of 100 MB known so far)');
    expect(lines.at(-1)).toBe('image redis:7: pulling 91% (91 of 100 MB known so far)');
    p.onEvent({ status: 'Pull complete', id: 'a' });
    p.onEvent({ status: 'Waiting', id: 'b' });
    expect(lines).toHaveLength(10);
    // a slow pull still says something every 5 s
    now += 6_000;
    p.onEvent({ status: 'Downloading', id: 'b', progressDetail: { current: 1e6, total: 100e6 } });
    expect(lines.at(-1)).toBe('image redis:7: pulling 50% (101 of 200 MB known so far)');
  });
});

import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeHitRatio, parseEdgeLog, renderNginxConfig } from './nginx.ts';

const input = { dir: '/runs/r1/cdn', listen: { host: '127.5.9.1', port: 8081 }, origin: { host: '127.5.0.1', port: 20007 } };

describe('renderNginxConfig', () => {
  const cfg = renderNginxConfig(input);
  const lines = cfg.split('\n').map((l) => l.trim());

  it('listens on its own address only and sends misses to the origin edge', () => {
    expect(lines.filter((l) => l.startsWith('listen '))).toEqual(['listen 127.5.9.1:8081;']);
    expect(lines).toContain('server 127.5.0.1:20007 max_fails=0;');
    expect(cfg).not.toMatch(/0\.0\.0\.0/);
  });

  it('keeps pid, cache, temp files and the edge log inside the service directory', () => {
    expect(lines).toContain('pid /runs/r1/cdn/nginx.pid;');
    expect(lines).toContain('error_log stderr warn;');
    const paths = [...cfg.matchAll(/(?:_path|pid|access_log) (\/\S+)/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThanOrEqual(8);
    for (const path of paths) expect(path.startsWith('/runs/r1/cdn/')).toBe(true);
    expect(lines).toContain('worker_processes 1;');
    expect(cfg).not.toContain('user ');
    expect(renderNginxConfig({ ...input, user: 'root' })).toMatch(/^user root;$/m);
  });

  it('caches /static/ with a HIT/MISS header and stale-on-error, and nothing else', () => {
    const staticBlock = cfg.slice(cfg.indexOf('location /static/'), cfg.indexOf('}', cfg.indexOf('location /static/')));
    for (const l of ['proxy_cache edge;', 'proxy_cache_valid 200 5m;', 'proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;',
      'add_header X-Cache-Status $upstream_cache_status always;']) {
      expect(staticBlock).toContain(l);
    }
    expect(lines.filter((l) => l.startsWith('proxy_cache edge'))).toHaveLength(1);
    expect(cfg).toContain('proxy_cache_path /runs/r1/cdn/cache ');
  });
});

describe('edge hit ratio', () => {
  it('counts cache hits (HIT, STALE, UPDATING, REVALIDATED) against origin fetches', () => {
    const log = [
      '1700000000.001 200 MISS 0.003 /static/app.js',
      '1700000000.002 200 HIT 0.000 /static/app.js',
      '1700000000.003 200 HIT 0.000 /static/app.js',
      '1700000000.004 200 STALE 0.000 /static/app.css',
      '1700000000.005 200 EXPIRED 0.002 /static/app.css',
      '1700000000.006 502 - 0.001 /static/logo.png',
      '',
    ].join('\n');
    expect(parseEdgeLog(log)).toEqual({ hits: 3, misses: 2, other: 1, ratio: 0.6 });
    expect(parseEdgeLog('')).toEqual({ hits: 0, misses: 0, other: 0, ratio: null });
  });

  it('reads the log file, and a missing log means no request reached the edge', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edge-'));
    try {
      await writeFile(join(dir, 'edge-access.log'), '1 200 MISS 0.1 /static/a\n2 200 HIT 0.0 /static/a\n');
      expect((await edgeHitRatio(join(dir, 'edge-access.log'))).ratio).toBe(0.5);
      expect(await edgeHitRatio(join(dir, 'nope.log'))).toEqual({ hits: 0, misses: 0, other: 0, ratio: null });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

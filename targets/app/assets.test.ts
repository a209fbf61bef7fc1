import { describe, expect, it } from 'vitest';
import { staticAssets } from '../../loadtests/workloads.ts';
import { generateAsset, generatedAssets, lazyGeneratedAssets } from './assets.ts';

describe('generated assets', () => {
  it('has every asset of the workloads at its size, the same in every process', () => {
    const a = generatedAssets();
    const b = generatedAssets();
    expect([...a.keys()].sort()).toEqual(staticAssets.map((s) => s.path).sort());
    for (const s of staticAssets) {
      expect(a.get(s.path)!.body.length).toBe(s.bytes);
      expect(a.get(s.path)!.etag).toBe(b.get(s.path)!.etag);
    }
    expect(new Set([...a.values()].map((x) => x.etag)).size).toBe(staticAssets.length);
  });

  it('writes text for scripts and a signature for images', () => {
    expect(generateAsset('x.js', 100, 'application/javascript').toString('latin1')).toMatch(/^\/\/ bench asset x\.js line 000001\n/);
    expect([...generateAsset('x.png', 16, 'image/png').subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(generateAsset('y.jpg', 50, 'image/jpeg').equals(generateAsset('y.jpg', 50, 'image/jpeg'))).toBe(true);
  });

  it('made on first request: the same bytes and ETags as made all at once, kept, unknown names undefined', () => {
    const eager = generatedAssets();
    const lazy = lazyGeneratedAssets();
    for (const s of staticAssets) {
      const got = lazy.get(s.path)!;
      expect(got.body.equals(eager.get(s.path)!.body)).toBe(true);
      expect(got.etag).toBe(eager.get(s.path)!.etag);
      expect(got.type).toBe(s.type);
      expect(lazy.get(s.path)).toBe(got);
    }
    expect(lazy.get('missing.js')).toBeUndefined();
  });
});

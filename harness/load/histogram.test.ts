import { describe, expect, it } from 'vitest';
import { LatencyHistogram, PerSecondHistogram } from './histogram.ts';

// HDR with 3 significant digits: a value reads back within 0.1%.
const close = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.001 + 0.001);

describe('LatencyHistogram', () => {
  it('reads percentiles of 1..10,000 µs back in ms', () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 10_000; us++) h.recordMicros(us);
    const s = h.summary();
    close(s.p50, 5);
    close(s.p90, 9);
    close(s.p95, 9.5);
    close(s.p99, 9.9);
    close(s.p999, 9.99);
    close(s.max, 10);
    close(s.mean, 5.0005);
    expect(h.count).toBe(10_000);
  });

  it('sees a rare stall in the tail', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 990; i++) h.recordMs(1);
    for (let i = 0; i < 10; i++) h.recordMs(500);
    close(h.summary().p50, 1);
    close(h.summary().p99, 1); // the 990th of 1000 values
    close(h.summary().p999, 500);
    close(h.summary().max, 500);
  });

  it('merges', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 100; i++) a.recordMs(1);
    for (let i = 0; i < 100; i++) b.recordMs(3);
    const m = LatencyHistogram.merged([a, b]);
    expect(m.count).toBe(200);
    close(m.summary().p50, 1);
    close(m.summary().p90, 3);
    close(m.summary().mean, 2);
  });

  it('is all zeros when empty, and keeps values beyond its initial range', () => {
    expect(new LatencyHistogram().summary()).toEqual({ p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 });
    const h = new LatencyHistogram();
    h.recordMs(120_000); // two minutes: past the 60 s it starts with
    close(h.summary().max, 120_000);
  });

  it('keeps a fixed footprint however many values it holds', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 1000; i++) h.recordMicros(100 + i);
    const before = (h as unknown as { h: { estimatedFootprintInBytes: number } }).h.estimatedFootprintInBytes;
    for (let i = 0; i < 1_000_000; i++) h.recordMicros(100 + (i % 50_000));
    const after = (h as unknown as { h: { estimatedFootprintInBytes: number } }).h.estimatedFootprintInBytes;
    expect(after).toBe(before);
  });
});

describe('PerSecondHistogram', () => {
  it('rolls one second at a time', () => {
    const s = new PerSecondHistogram();
    for (let i = 1; i <= 100; i++) s.recordMicros(i * 1000);
    const first = s.roll();
    // 2 significant digits: within 1%
    expect(Math.abs(first.p50 - 50)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(first.p99 - 99)).toBeLessThanOrEqual(1);
    expect(s.count).toBe(0);
    s.recordMicros(2000);
    expect(Math.abs(s.roll().p95 - 2)).toBeLessThanOrEqual(0.02); // 2 digits: within 1%
    expect(s.roll()).toEqual({ p50: 0, p95: 0, p99: 0 });
  });
});

// --generator-threads: the split of the schedule, the exact merge, and a real two-thread run
// against an in-process node:http server on 127.0.0.1 (the workers are real threads).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workloads } from '../../loadtests/workloads.ts';
import type { SeriesPoint, Stage } from '../../reports/schema.ts';
import { runLoad } from './engine.ts';
import { LatencyHistogram } from './histogram.ts';
import { seededRandom } from './random.ts';
import { ArrivalSchedule } from './scheduler.ts';
import { resolveRunConfig } from '../run/config.ts';
import { defaultGeneratorThreads, generatorThreadsFor, mergePoints, partsOf, shareOf } from './threads.ts';
import type { AcknowledgedWrite } from './types.ts';

function dueTimes(schedule: ArrivalSchedule, part?: { index: number; count: number }): number[] {
  const c = schedule.cursor(part);
  const out: number[] = [];
  for (let t = c.peek(); t !== Infinity; t = c.peek()) {
    out.push(t);
    c.advance();
  }
  return out;
}

describe('the schedule split over threads', () => {
  const schedules: Stage[][] = [
    [{ durationS: 2, targetRate: 1000 }],
    [{ durationS: 0, targetRate: 37 }, { durationS: 3, targetRate: 37 }],
    [{ durationS: 3, targetRate: 500 }, { durationS: 2, targetRate: 500 }, { durationS: 1, targetRate: 0 }],
    [{ durationS: 1.5, targetRate: 7 }],
  ];
  for (const stages of schedules) {
    for (const n of [1, 2, 3, 4, 7]) {
      it(`N=${n} parts of ${JSON.stringify(stages)} are, together, exactly the one-thread schedule`, () => {
        const s = new ArrivalSchedule(stages);
        const whole = dueTimes(s);
        const parts = partsOf(n).map((p) => dueTimes(s, p));
        expect(parts.reduce((a, p) => a + p.length, 0)).toBe(whole.length);
        const union = parts.flat().sort((a, b) => a - b);
        expect(union).toEqual(whole);
        // each part's count is what ownedOf says, within one of 1/N of the whole
        for (const [i, p] of parts.entries()) {
          expect(p.length).toBe(ArrivalSchedule.ownedOf(whole.length, { index: i, count: n }));
          expect(Math.abs(p.length - whole.length / n)).toBeLessThan(1);
        }
      });
    }
  }

  it('shares an in-flight cap so that the shares add up to it', () => {
    for (const [total, n] of [[2000, 3], [7, 2], [5, 5]] as const) {
      expect(Array.from({ length: n }, (_, i) => shareOf(total, i, n)).reduce((a, b) => a + b, 0)).toBe(total);
    }
  });

  it('defaults to the cores the topology leaves free, at least one', () => {
    expect(defaultGeneratorThreads([0.5, 0.5], 4)).toBe(3);
    expect(defaultGeneratorThreads([1, 1, 0.2], 2)).toBe(1);
    expect(defaultGeneratorThreads([], 8)).toBe(8);
    expect(generatorThreadsFor(null, [0.25, 0.25], 4)).toEqual({ threads: 3, line: 'generator: 3 threads (4 cores, the deployed hosts take 0.5; --generator-threads to choose)' });
    expect(generatorThreadsFor(2, [3], 4).threads).toBe(2);
  });

  it('takes --generator-threads as a whole number >= 1, and refuses anything else with a usage error', () => {
    expect(resolveRunConfig({ phase: '1' }).generatorThreads).toBeNull();
    expect(resolveRunConfig({ phase: '1', generatorThreads: '2' }).generatorThreads).toBe(2);
    for (const bad of ['0', '1.5', 'two', '-1']) {
      expect(() => resolveRunConfig({ phase: '1', generatorThreads: bad })).toThrow(/--generator-threads/);
    }
  });
});

describe('merging the threads\' seconds', () => {
  it('gives the histogram of all samples, not an average of percentiles', () => {
    const rng = seededRandom(7);
    const all = new LatencyHistogram(2);
    const parts = [new LatencyHistogram(2), new LatencyHistogram(2), new LatencyHistogram(2)];
    for (let i = 0; i < 30_000; i++) {
      // a skewed mix: one part slow, so averaged percentiles would differ from the merged ones
      const part = i % 3;
      const us = part === 2 ? 50_000 + rng.next() * 200_000 : 500 + rng.next() * 2000;
      all.recordMicros(us);
      parts[part]!.recordMicros(us);
    }
    const points: SeriesPoint[] = parts.map((h, i) => ({ t: 4, requests: h.count, errors: i, dropped: 1, staleKeepalive: i, targetRate: 0, p50: null, p95: null, p99: null, max: null, hdr: h.encode() }));
    const merged = mergePoints(points, new ArrivalSchedule([{ durationS: 0, targetRate: 100 }, { durationS: 10, targetRate: 100 }]));
    expect(merged.requests).toBe(30_000);
    expect(merged.errors).toBe(3);
    expect(merged.dropped).toBe(3);
    // stale keep-alives are the generator's, counted apart, and summed like the rest
    expect(merged.staleKeepalive).toBe(3);
    expect(merged.targetRate).toBe(100);
    const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
    expect(merged.p50).toBe(round(all.percentileMs(50)));
    expect(merged.p99).toBe(round(all.percentileMs(99)));
    expect(merged.max).toBe(round(all.maxMs()));
    expect(LatencyHistogram.decode(merged.hdr!).count).toBe(30_000);
    // the negative control: the average of the parts' p50 is not the merged p50
    const avgP50 = parts.reduce((a, h) => a + h.percentileMs(50)!, 0) / 3;
    expect(Math.abs(avgP50 - merged.p50!)).toBeGreaterThan(1);
  });
});

describe('a run on two generator threads', () => {
  let server: Server;
  let base = '';
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        const created = req.method === 'POST' && req.url === '/api/users';
        res.writeHead(created ? 201 : 200, { 'content-type': 'application/json', ...(req.url === '/api/login' ? { 'set-cookie': 'sid=abc; Path=/' } : {}) });
        res.end(created ? JSON.stringify({ id: 1 }) : '{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function run(threads: number) {
    seen.length = 0;
    const acked: AcknowledgedWrite[] = [];
    const seconds: SeriesPoint[] = [];
    const out = await runLoad({
      targets: { api: base, static: base },
      workload: workloads['mixed']!,
      users: 1000,
      stages: [{ durationS: 2, targetRate: 300 }],
      seed: 11,
      salt: 5,
      generatorThreads: threads,
      onSecond: (p) => seconds.push(p),
      writeLog: { acknowledged: (w) => void acked.push(w), indeterminate: () => {} },
    });
    return { out, seen: [...seen].sort(), acked, seconds };
  }

  it('sends exactly what one thread sends, counts what the server saw, and merges exactly', async () => {
    const one = await run(1);
    const two = await run(2);
    expect(two.out.results.generator.threads).toBe(2);
    expect(two.out.results.totals.requests).toBe(two.seen.length);
    expect(two.out.results.totals.dropped).toBe(0);
    // the same seed: the same requests (types, ids, write names), whichever thread sent them
    expect(two.seen).toEqual(one.seen);
    expect(two.out.results.totals.requests).toBe(one.out.results.totals.requests);
    expect(two.out.results.statusCodes).toEqual(one.out.results.statusCodes);
    // every acknowledged write reached the write log, once
    expect(two.acked.map((w) => w.value).sort()).toEqual(one.acked.map((w) => w.value).sort());
    expect(new Set(two.acked.map((w) => w.value)).size).toBe(two.acked.length);
    // progress: every second shown once, adding up to the totals
    expect(two.seconds.map((p) => p.t)).toEqual([...new Set(two.seconds.map((p) => p.t))].sort((a, b) => a - b));
    expect(two.seconds.reduce((a, p) => a + p.requests, 0)).toBe(two.out.results.totals.requests);
    const perType = Object.values(two.out.results.endpoints).reduce((a, e) => a + e.requests, 0);
    expect(perType).toBe(two.out.results.totals.requests);
  }, 30_000);

  it('a thread that fails fails the run with its one-line error, and the others stop', async () => {
    await expect(
      runLoad({ targets: { api: 'http://10.1.2.3:80', static: base }, workload: workloads['read-heavy']!, users: 10, stages: [{ durationS: 1, targetRate: 10 }], seed: 1, generatorThreads: 2 }),
    ).rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/not a loopback address/) });
  }, 30_000);

  it('an abort before the threads start ends them at once, with nothing sent', async () => {
    const ac = new AbortController();
    ac.abort();
    const t0 = Date.now();
    const out = await runLoad({ targets: { api: base, static: base }, workload: workloads['read-heavy']!, users: 10, stages: [{ durationS: 30, targetRate: 100 }], seed: 1, generatorThreads: 2, signal: ac.signal });
    expect(out.results.totals.requests).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 30_000);

  it('stops every thread on abort, within the drain bound', async () => {
    const ac = new AbortController();
    let abortedAt = 0;
    const out = await runLoad({
      targets: { api: base, static: base },
      workload: workloads['read-heavy']!,
      users: 1000,
      stages: [{ durationS: 0, targetRate: 200 }, { durationS: 60, targetRate: 200 }],
      seed: 1,
      generatorThreads: 2,
      signal: ac.signal,
      onSecond: (p) => {
        if (p.t === 1 && abortedAt === 0) {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    });
    expect(abortedAt).toBeGreaterThan(0);
    // the drain bound is min(timeout, 2 s); the server answers at once, so well within it
    expect(Date.now() - abortedAt).toBeLessThan(2500);
    expect(out.results.durationS).toBeLessThan(5);
    expect(out.results.totals.requests).toBeGreaterThan(0);
  }, 30_000);
});

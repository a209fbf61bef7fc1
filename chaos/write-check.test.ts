import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkWrites, idsToReadBack, rpoOf } from './write-check.ts';
import { createdUserId } from '../loadtests/lib/identity.ts';
import { WriteLog } from './write-log.ts';

const seed = (id: number) => (id <= 100 ? `seed-${id}` : undefined);
/** an acknowledged write sent at `sentS` and acknowledged at `atS` */
const w = (id: number, value: string, sentS: number, atS: number) => ({ id, value, sentS, atS });

describe('checkWrites', () => {
  it('all acknowledged writes present', () => {
    const r = checkWrites({
      acknowledged: [w(1, 'a', 0.9, 1), w(1, 'b', 19.9, 20), w(101, 'new', 2.9, 3)],
      present: new Map([
        [1, 'b'],
        [101, 'new'],
      ]),
      initialValue: seed,
    });
    expect(r).toEqual({ acknowledged: 2, present: 2, lost: 0, lostIds: [], indeterminate: 0, undecided: 0, undecidedIds: [], unacknowledgedPresent: 0, writes: 3, oldestLostAckS: null });
  });

  it('a row missing, or an overwritten acknowledged value, or the seeded value back: lost, ids named', () => {
    const r = checkWrites({
      acknowledged: [w(102, 'created', 4.9, 5), w(2, 'old', 0.9, 1), w(2, 'new', 29.9, 30), w(3, 'x', 9.9, 10)],
      present: new Map([
        [2, 'old'],
        [3, 'seed-3'],
      ]),
      initialValue: seed,
    });
    expect(r.lost).toBe(3);
    expect(r.lostIds).toEqual([2, 3, 102]);
    expect(r.present).toBe(0);
    // the oldest lost state the system had confirmed: 102's, acknowledged at 5 s (2's lost one is 'new', at 30 s)
    expect(r.oldestLostAckS).toBe(5);
    // RPO of a fault at 12.5 s: three writes, the oldest 7.5 s old; a fault before it: negative (lost by the failover)
    expect(rpoOf(r, 12.5)).toEqual({ rpoLostWrites: 3, rpoAgeMs: 7500 });
    expect(rpoOf(r, 4)).toEqual({ rpoLostWrites: 3, rpoAgeMs: -1000 });
    // nothing lost: no age (null, not 0)
    expect(rpoOf({ lost: 0, oldestLostAckS: null }, 12.5)).toEqual({ rpoLostWrites: 0, rpoAgeMs: null });
  });

  it('interval semantics: overlapping writes may take effect in either order, a write sent after another was acknowledged may not', () => {
    // 'first' [10.0, 10.5] and 'second' [10.2, 10.3] overlap: either may be the last
    const overlapping = [w(4, 'first', 10.0, 10.5), w(4, 'second', 10.2, 10.3)];
    expect(checkWrites({ acknowledged: overlapping, present: new Map([[4, 'first']]) })).toMatchObject({ present: 1, lost: 0 });
    expect(checkWrites({ acknowledged: overlapping, present: new Map([[4, 'second']]) })).toMatchObject({ present: 1, lost: 0 });
    // 'later' was sent 1 ms after 'earlier' was acknowledged: 'earlier' surviving means 'later' was lost,
    // however close the two acknowledgements (a fixed window around acknowledgements would pass it)
    const ordered = [w(5, 'earlier', 10.0, 10.1), w(5, 'later', 10.101, 10.2)];
    expect(checkWrites({ acknowledged: ordered, present: new Map([[5, 'earlier']]) })).toMatchObject({ present: 0, lost: 1, lostIds: [5] });
    expect(checkWrites({ acknowledged: ordered, present: new Map([[5, 'later']]) })).toMatchObject({ present: 1, lost: 0 });
  });

  it('the value of a write sent without an answer is undecided, not lost; a value nobody wrote is lost', () => {
    const acknowledged = [w(6, 'acked', 0.9, 1)];
    const indeterminate = [{ id: 6, value: 'timed-out', sentS: 0.5 }];
    // an unanswered write sent even before the acknowledged one may still have taken effect after it
    const undecided = checkWrites({ acknowledged, indeterminate, present: new Map([[6, 'timed-out']]), initialValue: seed });
    expect(undecided).toMatchObject({ acknowledged: 1, present: 0, lost: 0, undecided: 1, undecidedIds: [6], indeterminate: 1 });
    // an earlier run's value (another run id, same seed) is not this run's: the acknowledged write is lost
    const stale = checkWrites({ acknowledged, indeterminate, present: new Map([[6, 'bench-otherrun-1-1']]), initialValue: seed });
    expect(stale).toMatchObject({ present: 0, lost: 1, lostIds: [6], undecided: 0 });
  });

  it('acknowledged = present + lost + undecided', () => {
    const r = checkWrites({
      acknowledged: [w(1, 'a', 0, 1), w(2, 'b', 0, 1), w(3, 'c', 0, 1)],
      indeterminate: [{ id: 3, value: 'c2', sentS: 2 }],
      present: new Map([
        [1, 'a'],
        [3, 'c2'],
      ]),
    });
    expect(r.acknowledged).toBe(r.present + r.lost + r.undecided);
    expect([r.present, r.lost, r.undecided]).toEqual([1, 1, 1]);
  });

  it('present but never acknowledged: a created row, or a seeded row changed; untouched seeded rows do not count', () => {
    const r = checkWrites({
      acknowledged: [],
      indeterminate: [{ id: 104, value: 'unanswered create', sentS: 1 }],
      present: new Map([
        [103, 'timed-out create'],
        [104, 'unanswered create'],
        [6, 'seed-6'],
        [7, 'changed'],
      ]),
      initialValue: seed,
    });
    expect(r.unacknowledgedPresent).toBe(3);
    expect(r.acknowledged).toBe(0);
  });
});

describe('idsToReadBack', () => {
  it('reads every acknowledged id and the sign-up range with a margin', () => {
    const ids = idsToReadBack([w(5, 'a', 0, 1), w(103, 'b', 1, 2)], 100, 2);
    expect(ids).toEqual([5, 101, 102, 103, 104, 105]);
  });

  it("a salted load's sign-up range starts at its own base: a few ids, not the billions between users and it", () => {
    const base = createdUserId(100, 5, 0);
    const ids = idsToReadBack([w(5, 'a', 0, 1), w(base + 2, 'b', 1, 2)], base, 2);
    expect(ids).toEqual([5, base + 1, base + 2, base + 3, base + 4]);
  });
});

describe('WriteLog', () => {
  it('keeps at most its bound in memory, spills the rest to a file, and reads every record back in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'write-log-test-'));
    try {
      const log = new WriteLog({ dir, memoryBound: 3 });
      for (let i = 1; i <= 7; i++) log.acknowledged(w(i, `bench-r-1-${i}`, i - 0.5, i));
      log.indeterminate({ id: 8, value: 'bench-r-1-8', sentS: 8 });
      // 8 records with a bound of 3: two spills of 3, two records still in memory
      expect(log.spilled).toBe(6);
      expect(log.counts).toEqual({ acknowledged: 7, indeterminate: 1 });
      expect(readFileSync(log.file!, 'utf8').trim().split('\n')).toHaveLength(6);
      const all = await log.readAll();
      expect(all.acknowledged.map((x) => x.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(all.acknowledged[3]).toEqual(w(4, 'bench-r-1-4', 3.5, 4));
      expect(all.indeterminate).toEqual([{ id: 8, value: 'bench-r-1-8', sentS: 8 }]);
      log.close();
      expect(log.file).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('under its bound nothing touches the disk', async () => {
    const log = new WriteLog({ memoryBound: 100 });
    log.acknowledged(w(1, 'x', 0, 1));
    expect(log.file).toBeNull();
    expect((await log.readAll()).acknowledged).toEqual([w(1, 'x', 0, 1)]);
  });
});

import { describe, expect, it } from 'vitest';
import { checkWrites, idsToReadBack } from './write-check.ts';

const seed = (id: number) => (id <= 100 ? `seed-${id}` : undefined);

describe('checkWrites', () => {
  it('all acknowledged writes present', () => {
    const r = checkWrites({
      acknowledged: [
        { id: 1, value: 'a', atS: 1 },
        { id: 1, value: 'b', atS: 20 },
        { id: 101, value: 'new', atS: 3 },
      ],
      present: new Map([
        [1, 'b'],
        [101, 'new'],
      ]),
      initialValue: seed,
    });
    expect(r).toMatchObject({ acknowledged: 2, present: 2, lost: 0, indeterminate: 0, unacknowledgedPresent: 0, writes: 3 });
  });

  it('a row missing, or an older acknowledged value, or the seeded value back: lost', () => {
    const r = checkWrites({
      acknowledged: [
        { id: 102, value: 'created', atS: 5 },
        { id: 2, value: 'old', atS: 1 },
        { id: 2, value: 'new', atS: 30 },
        { id: 3, value: 'x', atS: 10 },
      ],
      present: new Map([
        [2, 'old'],
        [3, 'seed-3'],
      ]),
      initialValue: seed,
    });
    expect(r.lost).toBe(3);
    expect(r.lostIds).toEqual([2, 3, 102]);
    expect(r.present).toBe(0);
  });

  it('writes acknowledged close together may commit in either order', () => {
    const r = checkWrites({
      acknowledged: [
        { id: 4, value: 'first', atS: 10.0 },
        { id: 4, value: 'second', atS: 10.2 },
      ],
      present: new Map([[4, 'first']]),
      concurrencyS: 5,
    });
    expect(r).toMatchObject({ present: 1, lost: 0 });
  });

  it('a value no acknowledgement carried is indeterminate, not lost', () => {
    const r = checkWrites({
      acknowledged: [{ id: 5, value: 'acked', atS: 1 }],
      present: new Map([[5, 'later-unacked']]),
      initialValue: seed,
    });
    expect(r).toMatchObject({ lost: 0, indeterminate: 1, indeterminateIds: [5], present: 0 });
  });

  it('present but never acknowledged: a created row, or a seeded row changed; untouched seeded rows do not count', () => {
    const r = checkWrites({
      acknowledged: [],
      present: new Map([
        [103, 'timed-out create'],
        [6, 'seed-6'],
        [7, 'changed'],
      ]),
      initialValue: seed,
    });
    expect(r.unacknowledgedPresent).toBe(2);
    expect(r.acknowledged).toBe(0);
  });
});

describe('idsToReadBack', () => {
  it('reads every acknowledged id and the sign-up range with a margin', () => {
    const ids = idsToReadBack(
      [
        { id: 5, value: 'a', atS: 1 },
        { id: 103, value: 'b', atS: 2 },
      ],
      100,
      2,
    );
    expect(ids).toEqual([5, 101, 102, 103, 104, 105]);
  });
});

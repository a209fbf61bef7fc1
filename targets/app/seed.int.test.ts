// Seeding Postgres on real servers: binary COPY gives exactly the rows seededUser describes (the
// same table as text COPY), the primary key built after the load is there, counts per shard are
// right, and a second seed replaces the first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryCopyRows, seededUser, seedPostgres, type CopyOptions } from './seed.ts';
import { shardRanges } from './store/shard-router.ts';
import { startPostgres, type StartedPostgres } from './testing/pg-fixture.ts';

let a: StartedPostgres;
let b: StartedPostgres;

beforeAll(async () => {
  [a, b] = await Promise.all([startPostgres({ name: 'seed-a' }), startPostgres({ name: 'seed-b' })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

interface Row {
  id: string;
  name: string;
  email: string;
  created_at: string;
}

const dump = (s: StartedPostgres) =>
  s.query<Row>(`SELECT id::text, name, email, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at FROM users ORDER BY users.id`);

/** The primary key's index, as the catalog has it (not just a constraint name). */
const primaryKey = (s: StartedPostgres) =>
  s.query<{ index: string; columns: string; valid: boolean }>(
    `SELECT i.indexrelid::regclass::text AS index, pg_get_indexdef(i.indexrelid) AS columns, i.indisvalid AS valid
       FROM pg_index i WHERE i.indrelid = 'users'::regclass AND i.indisprimary`,
  );

const shardsOf = (users: number) => shardRanges(users, 2).map((range, i) => ({ name: ['a', 'b'][i]!, range, primary: [a, b][i]!.endpoint }));

describe('seedPostgres', () => {
  it.each<[string, CopyOptions]>([
    ['binary COPY, key after', {}],
    ['binary COPY, key during', { indexAfter: false }],
    ['text COPY, key after', { format: 'text' }],
  ])('%s: every row is seededUser(seed, id), per shard, with the primary key in place', async (_, options) => {
    const users = 20_003;
    const r = await seedPostgres(shardsOf(users), 'range', users, 7, undefined, options);
    expect(r.rows).toBe(users);
    expect(r.perShard).toEqual({ a: 10_001, b: 10_002 });
    const rows = [...(await dump(a)), ...(await dump(b))];
    expect(rows).toHaveLength(users);
    rows.forEach((row, i) => {
      const u = seededUser(7, i + 1);
      expect(row).toEqual({ id: String(u.id), name: u.name, email: u.email, created_at: u.createdAt });
    });
    for (const s of [a, b]) {
      expect(await primaryKey(s)).toEqual([{ index: 'users_pkey', columns: expect.stringContaining('USING btree (id)'), valid: true }]);
      // the key is enforced, and the id sequence continues past the seeded ids
      const [own] = await s.query<{ lo: number }>('SELECT min(id)::int AS lo FROM users');
      await expect(s.query('INSERT INTO users (id, name, email) VALUES ($1, $2, $3)', [own!.lo, 'dup', 'dup@x'])).rejects.toThrow(/duplicate key/);
    }
    const [next] = await b.query<{ id: string }>("SELECT nextval('users_id_seq')::text AS id");
    expect(Number(next!.id)).toBeGreaterThan(users);
  });

  it('a second seed replaces the first (fewer users, another seed)', async () => {
    await seedPostgres(shardsOf(1_000), 'range', 1_000, 1);
    const r = await seedPostgres(shardsOf(10), 'range', 10, 2);
    expect(r.perShard).toEqual({ a: 5, b: 5 });
    const rows = [...(await dump(a)), ...(await dump(b))];
    expect(rows.map((x) => x.name)).toEqual(Array.from({ length: 10 }, (_, i) => seededUser(2, i + 1).name));
    expect(await primaryKey(a)).toHaveLength(1);
  });

  it('a shard that owns no id still gets a valid (empty) binary COPY', async () => {
    // one user: one of the two ranges holds it, the other is empty
    const r = await seedPostgres(shardsOf(1), 'range', 1, 3);
    expect(Object.values(r.perShard).sort()).toEqual([0, 1]);
    const empty = r.perShard.a === 0 ? a : b;
    expect(await dump(empty)).toEqual([]);
    expect(await primaryKey(empty)).toHaveLength(1);
  });
});

describe('binaryCopyRows', () => {
  it('ids past 2^32 keep their high bits', () => {
    const id = 2 ** 32 + 5;
    const buf = binaryCopyRows(1, [id], false);
    // field count, then the id's length and its 8 bytes
    expect(buf.readInt16BE(0)).toBe(4);
    expect(buf.readInt32BE(2)).toBe(8);
    expect(buf.readBigInt64BE(6)).toBe(BigInt(id));
  });
});

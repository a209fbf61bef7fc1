import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { readBackUsers, seededUser, seedSqlite } from './seed.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-seed-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dump = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT id, name, email, created_at FROM users ORDER BY id').all();
  } finally {
    db.close();
  }
};

describe('seeding', () => {
  it('derives each row from (seed, id) alone', () => {
    expect(seededUser(1, 10)).toEqual(seededUser(1, 10));
    expect(seededUser(1, 10)).not.toEqual(seededUser(2, 10));
    const u = seededUser(1, 10);
    expect(u.email).toMatch(/^[a-z]+\.[a-z]+\.10@example\.com$/);
    expect(u.createdAt.startsWith('2024-')).toBe(true);
    const names = new Set(Array.from({ length: 200 }, (_, i) => seededUser(3, i + 1).name));
    expect(names.size).toBeGreaterThan(50);
  });

  it('gives the same rows for the same seed and other rows for another', async () => {
    const [a, b, c] = ['a.db', 'b.db', 'c.db'].map((f) => join(dir, f));
    const r = await seedSqlite(a, 60_000, 11);
    await seedSqlite(b, 60_000, 11);
    await seedSqlite(c, 60_000, 12);
    expect(r.rows).toBe(60_000);
    expect(dump(a)).toEqual(dump(b));
    expect(dump(a)).not.toEqual(dump(c));
    expect(dump(a)).toHaveLength(60_000);
  });

  it('replaces earlier rows and reads names back', async () => {
    const p = join(dir, 'd.db');
    await seedSqlite(p, 50, 1);
    await seedSqlite(p, 10, 1);
    const back = await readBackUsers({ kind: 'sqlite', path: p }, [1, 10, 11, 50]);
    expect([...back.keys()].sort((x, y) => x - y)).toEqual([1, 10]);
    expect(back.get(10)).toBe(seededUser(1, 10).name);
  });
});

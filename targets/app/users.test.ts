import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';
import type { UserStore, User } from './store/types.ts';
import { createUsers } from './users.ts';

/** A store that records where each read went: the only fake here, for the routing logic alone. */
function fakeStore(replicated: boolean) {
  const rows = new Map<number, User>([[1, { id: 1, name: 'one', email: 'o@x', createdAt: '2024-01-01T00:00:00.000Z' }]]);
  const reads: ('primary' | 'replica')[] = [];
  const store: UserStore = {
    kind: 'postgres',
    readsFromReplica: () => replicated,
    openPools: () => {},
    prepare: async () => {},
    async get(id, o) {
      reads.push(o?.primary || !replicated ? 'primary' : 'replica');
      return rows.get(id) ?? null;
    },
    async create(u) {
      const user = { id: u.id ?? 99, name: u.name, email: u.email, createdAt: '2024-01-01T00:00:00.000Z' };
      rows.set(user.id, user);
      return user;
    },
    async update(id, p) {
      const u = rows.get(id);
      if (!u) return null;
      Object.assign(u, p);
      return u;
    },
    async health() {
      return { ok: true, checks: {} };
    },
    async close() {},
  };
  return { store, reads };
}

describe('read-your-writes', () => {
  it('sends a user to the primary for the window after a write, then back to replicas', async () => {
    let now = 1_000;
    const { store, reads } = fakeStore(true);
    const users = createUsers({ store, metrics: createMetrics('t'), cache: null, shared: null, rywMs: 2_000, log: () => {}, now: () => now });
    await users.read(1);
    expect(reads).toEqual(['replica']);
    await users.update(1, { name: 'uno' });
    now += 1_999;
    expect((await users.read(1))?.data.name).toBe('uno');
    expect(reads.at(-1)).toBe('primary');
    now += 1;
    await users.read(1);
    expect(reads.at(-1)).toBe('replica');
    await users.create({ id: 5, name: 'five', email: 'f@x' });
    await users.read(5);
    expect(reads.at(-1)).toBe('primary');
  });

  it('keeps other users on replicas, and does nothing without replicas', async () => {
    const { store, reads } = fakeStore(true);
    const users = createUsers({ store, metrics: createMetrics('t'), cache: null, shared: null, rywMs: 2_000, log: () => {} });
    await users.create({ id: 5, name: 'five', email: 'f@x' });
    await users.read(1);
    expect(reads).toEqual(['replica']);
    const plain = fakeStore(false);
    const u2 = createUsers({ store: plain.store, metrics: createMetrics('t'), cache: null, shared: null, rywMs: 2_000, log: () => {} });
    await u2.update(1, { name: 'x' });
    expect((await u2.read(1))?.source).toBe('database');
    expect((await u2.read(404)) ?? null).toBeNull();
  });
});

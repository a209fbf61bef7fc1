// Seeding: users 1..N with names and emails derived from (seed, id) alone, so the same seed gives
// the same rows whatever the batch size, shard count or order of the work. Also readBackUsers(),
// with which the write checker reads acknowledged writes back after a drill.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { DbEndpoint, StoreRuntimeConfig } from './config.ts';
import { ensureSchema as ensurePostgresSchema, pgConnection } from './store/postgres.ts';
import { createShardRouter, type IdRange, type ShardStrategy } from './store/shard-router.ts';
import { ensureSqliteSchema, openSqlite } from './store/sqlite.ts';

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Ken', 'Dennis', 'Margaret', 'Edsger', 'Donald', 'Frances', 'John', 'Radia', 'Tim', 'Hedy', 'Claude', 'Sophie', 'Guido', 'Anita', 'Bjarne', 'Katherine', 'Niklaus', 'Shafi', 'Leslie', 'Mary', 'Robin', 'Jean', 'Yukihiro', 'Joan', 'Vint', 'Karen', 'Fran'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Ritchie', 'Hamilton', 'Dijkstra', 'Knuth', 'Allen', 'McCarthy', 'Perlman', 'Lee', 'Lamarr', 'Shannon', 'Wilson', 'Rossum', 'Borg', 'Stroustrup', 'Johnson', 'Wirth', 'Goldwasser', 'Lamport', 'Keller', 'Milner', 'Sammet', 'Matsumoto', 'Clarke', 'Cerf', 'Jones', 'Bilas'];
const EPOCH_2024 = Date.UTC(2024, 0, 1);
const YEAR_S = 365 * 86_400;

/** A well-mixed 32-bit value of (seed, id, lane): murmur3's finaliser over the inputs. */
function mix(seed: number, id: number, lane: number): number {
  let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ lane;
  h = Math.imul(h ^ (id >>> 0), 0xcc9e2d51);
  h = Math.imul(h ^ Math.floor(id / 0x1_0000_0000), 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface SeededUser {
  id: number;
  name: string;
  email: string;
  /** ISO 8601, some time in 2024 */
  createdAt: string;
}

/** The row user `id` has under `seed`. Pure: the seeder and the tests agree without talking. */
export function seededUser(seed: number, id: number): SeededUser {
  const first = FIRST[mix(seed, id, 1) % FIRST.length];
  const last = LAST[mix(seed, id, 2) % LAST.length];
  return {
    id,
    name: `${first} ${last}`,
    email: `${first}.${last}.${id}@example.com`.toLowerCase(),
    createdAt: new Date(EPOCH_2024 + (mix(seed, id, 3) % YEAR_S) * 1_000).toISOString(),
  };
}

export interface SeedResult {
  rows: number;
  seconds: number;
  /** rows per shard name ('sqlite' for SQLite) */
  perShard: Record<string, number>;
}

const SQLITE_BATCH = 50_000;

/** Fills a SQLite store with users 1..users (replacing its rows), in batched transactions. */
export async function seedSqlite(path: string, users: number, seed: number, onProgress?: (done: number, total: number) => void): Promise<SeedResult> {
  const t0 = performance.now();
  const db = openSqlite(path);
  try {
    ensureSqliteSchema(db);
    // a crash mid-seed means seeding again anyway: skip the fsyncs
    db.pragma('synchronous = OFF');
    db.exec('DELETE FROM users');
    const insert = db.prepare('INSERT INTO users (id, name, email, created_at) VALUES (?, ?, ?, ?)');
    const batch = db.transaction((from: number, to: number) => {
      for (let id = from; id <= to; id++) {
        const u = seededUser(seed, id);
        insert.run(id, u.name, u.email, u.createdAt);
      }
    });
    for (let from = 1; from <= users; from += SQLITE_BATCH) {
      const to = Math.min(users, from + SQLITE_BATCH - 1);
      batch(from, to);
      onProgress?.(to, users);
    }
    db.pragma('synchronous = NORMAL');
    db.exec('ANALYZE');
  } finally {
    db.close();
  }
  return { rows: users, seconds: (performance.now() - t0) / 1000, perShard: { sqlite: users } };
}

/** A shard as the seeder needs it: its range (under 'range') and its primary. */
export interface SeedShard {
  name?: string;
  range: IdRange;
  primary: DbEndpoint;
}

/** The ids 1..users that shard `index` owns, ascending. */
function* idsOf(index: number, shards: readonly SeedShard[], strategy: ShardStrategy, users: number): Generator<number> {
  const router = createShardRouter(strategy, shards);
  let from = 1;
  let to = users;
  if (strategy === 'range') {
    // contiguous ranges: only this shard's window needs the router's confirmation
    if (index > 0) from = Math.max(1, shards[index].range[0]);
    const hi = shards[index].range[1];
    if (index < shards.length - 1 && hi !== null) to = Math.min(users, hi);
  }
  for (let id = from; id <= to; id++) if (router.indexFor(id) === index) yield id;
}

/** How seedPostgres loads a shard; the defaults are the fastest measured (docs/APP.md). */
export interface CopyOptions {
  /** binary COPY (no text parsing of ids and timestamps on the server) or text */
  format?: 'binary' | 'text';
  /** drop the primary key for the load and build it after (one sort) instead of row by row */
  indexAfter?: boolean;
}

/** Rows per COPY chunk: big enough that the per-chunk overhead vanishes, small enough for progress. */
const COPY_CHUNK_ROWS = 10_000;
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** The UTF-8 bytes of every name and e-mail prefix, encoded once instead of per row. */
const NAME_BYTES = FIRST.map((f) => LAST.map((l) => Buffer.from(`${f} ${l}`)));
const EMAIL_BYTES = FIRST.map((f) => LAST.map((l) => Buffer.from(`${f}.${l}.`.toLowerCase())));
const EMAIL_DOMAIN = Buffer.from('@example.com');

/**
 * Rows [from, to] of `ids` in PostgreSQL's binary COPY format (header when `header`), the same
 * values seededUser gives: (id bigint, name text, email text, created_at timestamptz).
 */
export function binaryCopyRows(seed: number, ids: readonly number[], header: boolean): Buffer {
  // 2 (fields) + 4+8 (id) + 4+name + 4+email + 4+8 (timestamp): names are under 40 bytes, emails under 60
  const buf = Buffer.allocUnsafe((header ? 19 : 0) + ids.length * 140);
  let o = 0;
  // big-endian by hand: Buffer's checked writers were half of the cost of a row
  const i32 = (v: number) => {
    buf[o] = v >>> 24;
    buf[o + 1] = v >>> 16;
    buf[o + 2] = v >>> 8;
    buf[o + 3] = v;
    o += 4;
  };
  // a loop beats Buffer.copy (a native call) for these few bytes
  const bytes = (b: Uint8Array) => {
    for (let j = 0; j < b.length; j++) buf[o++] = b[j]!;
  };
  if (header) {
    o += COPY_SIGNATURE.copy(buf, 0);
    i32(0); // flags
    i32(0); // header extension length
  }
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    const f = mix(seed, id, 1) % FIRST.length;
    const l = mix(seed, id, 2) % LAST.length;
    buf[o++] = 0;
    buf[o++] = 4;
    i32(8);
    i32(Math.floor(id / 0x1_0000_0000));
    i32(id >>> 0);
    const name = NAME_BYTES[f]![l]!;
    i32(name.length);
    bytes(name);
    const lenAt = o;
    o += 4;
    bytes(EMAIL_BYTES[f]![l]!);
    // the id's decimal digits (ASCII), most significant first
    const digits = String(id);
    for (let d = 0; d < digits.length; d++) buf[o++] = digits.charCodeAt(d);
    bytes(EMAIL_DOMAIN);
    const len = o - lenAt - 4;
    buf[lenAt] = 0;
    buf[lenAt + 1] = 0;
    buf[lenAt + 2] = len >>> 8;
    buf[lenAt + 3] = len;
    // microseconds since 2000-01-01 UTC: under 2^53, split into two 32-bit halves
    const us = (EPOCH_2024 - PG_EPOCH_MS + (mix(seed, id, 3) % YEAR_S) * 1_000) * 1_000;
    i32(8);
    i32(Math.floor(us / 0x1_0000_0000));
    i32(us % 0x1_0000_0000);
  }
  return buf.subarray(0, o);
}

/** The trailer that ends a binary COPY stream. */
const COPY_TRAILER = Buffer.from([0xff, 0xff]);

function textCopyRows(seed: number, ids: readonly number[]): Buffer {
  let text = '';
  for (const id of ids) {
    const u = seededUser(seed, id);
    text += `${id}\t${u.name}\t${u.email}\t${u.createdAt}\n`;
  }
  return Buffer.from(text);
}

/**
 * Fills Postgres shards with users 1..users (replacing their rows): each shard's primary gets
 * only its own ids, through one COPY in the transaction that truncates the table (so FREEZE
 * applies: the rows are written frozen and all-visible, and later reads do not rewrite every page
 * to set hint bits), all shards in parallel. By default binary COPY with the primary key built
 * after the load. Sets the id sequence past the seeded ids and analyses the table.
 * `onProgress(done, total)` after every chunk.
 */
export async function seedPostgres(
  shards: readonly SeedShard[],
  strategy: ShardStrategy,
  users: number,
  seed: number,
  onProgress?: (done: number, total: number) => void,
  options: CopyOptions = {},
): Promise<SeedResult> {
  const format = options.format ?? 'binary';
  const indexAfter = options.indexAfter ?? true;
  const t0 = performance.now();
  let done = 0;
  const perShard: Record<string, number> = {};
  await Promise.all(
    shards.map(async (shard, index) => {
      await ensurePostgresSchema(shard.primary);
      const client = new pg.Client({ ...pgConnection(shard.primary), application_name: 'bench-seed' });
      client.on('error', () => {});
      await client.connect();
      let rows = 0;
      try {
        // one commit at the end: a crash mid-seed means seeding again anyway
        await client.query('SET synchronous_commit = off');
        await client.query('BEGIN');
        await client.query('TRUNCATE users');
        let pkey: string | null = null;
        if (indexAfter) {
          const r = await client.query<{ conname: string }>("SELECT conname FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'p'");
          pkey = r.rows[0]?.conname ?? null;
          if (pkey) await client.query(`ALTER TABLE users DROP CONSTRAINT ${client.escapeIdentifier(pkey)}`);
        }
        const chunks = async function* () {
          let ids: number[] = [];
          let first = true;
          const flush = () => {
            const out = format === 'binary' ? binaryCopyRows(seed, ids, first) : textCopyRows(seed, ids);
            first = false;
            rows += ids.length;
            done += ids.length;
            onProgress?.(done, users);
            ids = [];
            return out;
          };
          for (const id of idsOf(index, shards, strategy, users)) {
            ids.push(id);
            if (ids.length === COPY_CHUNK_ROWS) yield flush();
          }
          if (ids.length > 0 || (first && format === 'binary')) yield flush();
          if (format === 'binary') yield COPY_TRAILER;
        };
        const copy = format === 'binary' ? 'COPY users (id, name, email, created_at) FROM STDIN WITH (FORMAT binary, FREEZE)' : 'COPY users (id, name, email, created_at) FROM STDIN WITH (FREEZE)';
        await pipeline(Readable.from(chunks()), client.query(copyStreams.from(copy)));
        if (pkey) await client.query(`ALTER TABLE users ADD CONSTRAINT ${client.escapeIdentifier(pkey)} PRIMARY KEY (id)`);
        await client.query("SELECT setval('users_id_seq', GREATEST((SELECT max(id) FROM users), 1))");
        await client.query('COMMIT');
        await client.query('ANALYZE users');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        await client.end().catch(() => {});
      }
      perShard[shard.name ?? `shard-${index}`] = rows;
    }),
  );
  return { rows: done, seconds: (performance.now() - t0) / 1000, perShard };
}

const READ_BACK_BATCH = 10_000;

/**
 * The names of those `ids` that exist, read from the primaries (never a replica: the write
 * checker wants what the system kept, not what a replica has replayed so far).
 */
export async function readBackUsers(store: StoreRuntimeConfig, ids: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (ids.length === 0) return out;
  if (store.kind === 'sqlite') {
    const db = openSqlite(store.path, { mustExist: true });
    try {
      const stmt = db.prepare<[number], { id: number; name: string }>('SELECT id, name FROM users WHERE id = ?');
      for (const id of ids) {
        const row = stmt.get(id);
        if (row) out.set(Number(row.id), row.name);
      }
    } finally {
      db.close();
    }
    return out;
  }
  const router = createShardRouter(store.strategy, store.shards);
  const byShard = new Map<number, number[]>();
  for (const id of ids) {
    const i = router.indexFor(id);
    const list = byShard.get(i) ?? [];
    list.push(id);
    byShard.set(i, list);
  }
  await Promise.all(
    [...byShard].map(async ([i, shardIds]) => {
      const client = new pg.Client({ ...pgConnection(store.shards[i].primary), connectionTimeoutMillis: 5_000, application_name: 'bench-readback' });
      client.on('error', () => {});
      await client.connect();
      try {
        for (let k = 0; k < shardIds.length; k += READ_BACK_BATCH) {
          const res = await client.query<{ id: string; name: string }>('SELECT id, name FROM users WHERE id = ANY($1::bigint[])', [shardIds.slice(k, k + READ_BACK_BATCH)]);
          for (const r of res.rows) out.set(Number(r.id), r.name);
        }
      } finally {
        await client.end().catch(() => {});
      }
    }),
  );
  return out;
}

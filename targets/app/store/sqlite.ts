// The embedded store of the monolith (phase 1): one SQLite file in WAL mode, prepared statements.
// better-sqlite3 is synchronous: a query blocks the event loop for its (short) duration, which is
// exactly the monolith's trade-off: no network hop, no concurrency beyond one core.
import Database from 'better-sqlite3';
import type { DbObserver } from '../metrics.ts';
import { DuplicateIdError, type NewUser, type StoreHealth, type User, type UserPatch, type UserStore } from './types.ts';

/** The label SQLite queries carry as `shard` in db_* metrics. */
export const SQLITE_SHARD = 'sqlite';

interface Row {
  id: number;
  name: string;
  email: string;
  created_at: string;
}

const toUser = (r: Row): User => ({ id: Number(r.id), name: r.name, email: r.email, createdAt: r.created_at });

/** Creates the users table if missing. INTEGER PRIMARY KEY is the rowid: no id = max(id) + 1. */
export function ensureSqliteSchema(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
}

/** Opens a SQLite file with the app's pragmas; creates it unless `mustExist`. */
export function openSqlite(path: string, options: { mustExist?: boolean } = {}): Database.Database {
  const db = new Database(path, { fileMustExist: options.mustExist ?? false });
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across an app crash in WAL mode; only an OS crash can lose the last commits
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 2000');
  return db;
}

/** Ensures the schema of a SQLite store file. */
export async function ensureSchema(path: string): Promise<void> {
  const db = openSqlite(path);
  try {
    ensureSqliteSchema(db);
  } finally {
    db.close();
  }
}

/** A UserStore over one SQLite file. */
export function createSqliteStore(path: string, observer: DbObserver): UserStore {
  const db = openSqlite(path);
  ensureSqliteSchema(db);
  const getStmt = db.prepare<[number], Row>('SELECT id, name, email, created_at FROM users WHERE id = ?');
  const insertWithId = db.prepare<[number, string, string], Row>(
    'INSERT INTO users (id, name, email) VALUES (?, ?, ?) RETURNING id, name, email, created_at',
  );
  const insertNoId = db.prepare<[string, string], Row>(
    'INSERT INTO users (name, email) VALUES (?, ?) RETURNING id, name, email, created_at',
  );
  const updateStmt = db.prepare<[string | null, string | null, number], Row>(
    'UPDATE users SET name = COALESCE(?, name), email = COALESCE(?, email) WHERE id = ? RETURNING id, name, email, created_at',
  );
  const ping = db.prepare('SELECT 1');

  const timed = <T>(op: 'get' | 'insert' | 'update', fn: () => T): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      observer.query('primary', SQLITE_SHARD, op, (performance.now() - t0) / 1000);
    }
  };

  return {
    kind: 'sqlite',
    readsFromReplica: () => false,
    async get(id) {
      const row = timed('get', () => getStmt.get(id));
      return row ? toUser(row) : null;
    },
    async create(user: NewUser) {
      try {
        const row = timed('insert', () =>
          user.id === undefined ? insertNoId.get(user.name, user.email) : insertWithId.get(user.id, user.name, user.email),
        );
        return toUser(row!);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateIdError(user.id!);
        throw e;
      }
    },
    async update(id, patch: UserPatch) {
      const row = timed('update', () => updateStmt.get(patch.name ?? null, patch.email ?? null, id));
      return row ? toUser(row) : null;
    },
    async health(): Promise<StoreHealth> {
      let ok = true;
      try {
        ping.get();
      } catch {
        ok = false;
      }
      return { ok, checks: { sqlite: ok } };
    },
    // one file, opened at start: nothing to keep ready
    openPools() {},
    // the schema is made when the file is opened
    async prepare() {},
    async close() {
      if (db.open) db.close();
    },
  };
}

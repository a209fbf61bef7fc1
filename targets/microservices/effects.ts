// Applying a side effect at most once per id (idempotent consumers), or every time (to show what
// happens without it). The check and the write share one transaction under an advisory lock on
// the id, so two deliveries of one message in two workers cannot both see "not yet applied".
import type pg from 'pg';

/** Runs `fn` in one transaction on a pooled connection: COMMIT when it returns, ROLLBACK when it
 *  throws (and rethrows); the connection goes back to the pool either way. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/**
 * Runs `apply` in a transaction unless `already` finds the id's effect (when idempotent).
 * Returns true when it applied the effect.
 */
export async function applyOnce(pool: pg.Pool, id: string, idempotent: boolean, already: (c: pg.PoolClient) => Promise<boolean>, apply: (c: pg.PoolClient) => Promise<void>): Promise<boolean> {
  return inTransaction(pool, async (c) => {
    if (idempotent) {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [id]);
      if (await already(c)) return false;
    }
    await apply(c);
    return true;
  });
}

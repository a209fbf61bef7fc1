// Applying a side effect at most once per id (idempotent consumers), or every time (to show what
// happens without it). The check and the write share one transaction under an advisory lock on
// the id, so two deliveries of one message in two workers cannot both see "not yet applied".
import type pg from 'pg';

/**
 * Runs `apply` in a transaction unless `already` finds the id's effect (when idempotent).
 * Returns true when it applied the effect.
 */
export async function applyOnce(pool: pg.Pool, id: string, idempotent: boolean, already: (c: pg.PoolClient) => Promise<boolean>, apply: (c: pg.PoolClient) => Promise<void>): Promise<boolean> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    if (idempotent) {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [id]);
      if (await already(c)) {
        await c.query('COMMIT');
        return false;
      }
    }
    await apply(c);
    await c.query('COMMIT');
    return true;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/**
 * One PostgreSQL transaction on a pooled client: BEGIN, fn, COMMIT; on any error ROLLBACK
 * (its own failure ignored: the connection may be what failed) and the error rethrown; the
 * client back to the pool either way. What fn returns is the transaction's result.
 */
import type pg from 'pg';

export async function pgTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

import type { Readable } from 'node:stream';
import type pg from 'pg';
import QueryStream from 'pg-query-stream';

/** SQL text with its positional parameters. */
export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * Rows come a batch at a time from a server-side cursor, and the stream only asks for the next
 * batch once the output has taken the last one, so memory stays flat whatever the table's size.
 */
const CURSOR_BATCH_ROWS = 200;

export function queryStream(client: pg.PoolClient, { text, values }: Statement): Readable {
  return client.query(new QueryStream(text, values, { batchSize: CURSOR_BATCH_ROWS }));
}

/**
 * Lends `work` a connection of its own and gives it back to the pool however `work` ends (a
 * destroyed stream closes its cursor).
 */
export async function withConnection<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    return await work(client);
  } catch (err) {
    // A connection that failed mid-protocol may be unusable: the pool discards it rather than reusing it.
    failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(failure);
  }
}

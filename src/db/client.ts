import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';
import type { Logger } from '../logger.js';

/** Drizzle over the pool; `$client` is the pool itself, for the page transaction's prepared statements. */
export type Db = NodePgDatabase<typeof schema> & { $client: pg.Pool };

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  maxConnections?: number;
  logger: Logger;
}

/** Opens a pool lazily (pg connects on first query); `close()` may be called any number of times. */
export function openDatabase({ url, maxConnections = 10, logger }: DatabaseOptions): Database {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, connectionTimeoutMillis: 10_000 });
  // A connection losing its server (Postgres restarted) must not crash the process. Idle ones are
  // reported on the pool, which replaces them; a checked-out one emits on the client itself, with
  // no listener unless we add one, and its next query fails and is retried by the caller.
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'idle Postgres connection lost'));
  pool.on('connect', (client) => {
    client.on('error', (err) => logger.warn({ err: { message: err.message } }, 'Postgres connection lost'));
  });
  const db = drizzle(pool, { schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    pool,
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}

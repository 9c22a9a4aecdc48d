import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';
import type { Logger } from '../logger.js';

export type Db = NodePgDatabase<typeof schema>;

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
  // An idle client losing its server (Postgres restarted) must not crash the process: the pool replaces it.
  pool.on('error', (err) => logger.warn({ err }, 'idle Postgres connection lost'));
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

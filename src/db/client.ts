import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { withReplicas } from 'drizzle-orm/pg-core';
import pg from 'pg';
import * as schema from './schema.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/**
 * Drizzle over the pool; `$client` is the pool itself, for the page transaction's statements.
 * `$namedStatements` says whether those may be named (prepared once per connection): not behind
 * a pooler in transaction mode without prepared-statement support (HA_PG_PREPARED_STATEMENTS).
 */
export type Db = NodePgDatabase<typeof schema> & { $client: pg.Pool; $namedStatements: boolean };

export interface Database {
  /** The primary: every write, and reads that must see them. */
  db: Db;
  pool: pg.Pool;
  /**
   * For read-only work that may lag a little (export, stats, the dashboard's reads): with a
   * replica, drizzle's withReplicas sends its selects there and everything else to the primary.
   * Without one, the primary.
   */
  reads: Db;
  /** The pool `reads` selects from, for queries outside drizzle (the export's cursor). */
  readPool: pg.Pool;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  /** DATABASE_REPLICA_URL; null or absent: reads go to the primary. */
  replicaUrl?: string | null;
  maxConnections?: number;
  /** false: send the page transaction's statements unnamed (HA_PG_PREPARED_STATEMENTS=false). */
  namedStatements?: boolean;
  logger: Logger;
}

/** Opens the pools lazily (pg connects on first query); `close()` may be called any number of times. */
export function openDatabase({ url, replicaUrl = null, maxConnections = 10, namedStatements = true, logger }: DatabaseOptions): Database {
  const pool = openPool(url, maxConnections, logger);
  const db = Object.assign(drizzle(pool, { schema }), { $namedStatements: namedStatements });
  const replicaPool = replicaUrl === null ? null : openPool(replicaUrl, maxConnections, logger.child({ replica: true }));
  const reads = replicaPool === null ? db : withReplicas(db, [Object.assign(drizzle(replicaPool, { schema }), { $namedStatements: namedStatements })]);
  let closing: Promise<void> | undefined;
  return {
    db,
    pool,
    reads,
    readPool: replicaPool ?? pool,
    close() {
      closing ??= Promise.all([pool.end(), replicaPool?.end()]).then(() => {});
      return closing;
    },
  };
}

/** The primary, the replica and the statements' naming as the configuration says. */
export function openConfiguredDatabase(
  config: Pick<Config, 'databaseUrl' | 'databaseReplicaUrl' | 'pgPreparedStatements'>,
  logger: Logger,
  maxConnections?: number,
): Database {
  return openDatabase({ url: config.databaseUrl, replicaUrl: config.databaseReplicaUrl, namedStatements: config.pgPreparedStatements, maxConnections, logger });
}

function openPool(url: string, maxConnections: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, connectionTimeoutMillis: 10_000 });
  // A connection losing its server (Postgres restarted) must not crash the process. Idle ones are
  // reported on the pool, which replaces them; a checked-out one emits on the client itself, with
  // no listener unless we add one, and its next query fails and is retried by the caller.
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'idle Postgres connection lost'));
  pool.on('connect', (client) => {
    client.on('error', (err) => logger.warn({ err: { message: err.message } }, 'Postgres connection lost'));
  });
  return pool;
}

import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConnection } from '../../src/queue/connection.js';
import { untaggedPrefix } from '../../src/queue/redis-keys.js';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';

/** The real services `scripts/services.sh` started (npm test exports their URLs). */
export const SERVICES = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://archiver:archiver@127.0.0.1:54329/archiver',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:63790',
  /** The cluster suite (vitest.cluster.config.ts) points REDIS_URL at a node of scripts/redis-cluster.sh's cluster. */
  redisCluster: process.env.HA_TEST_REDIS_CLUSTER === '1',
};

/** A plain connection to the services' Redis, or a cluster client in the cluster suite; the caller disconnects it. */
export function testRedis(options: RedisOptions = {}): RedisConnection {
  if (!SERVICES.redisCluster) return new Redis(SERVICES.redisUrl, options);
  const url = new URL(SERVICES.redisUrl);
  return new Cluster([{ host: url.hostname, port: Number(url.port) }], { redisOptions: options });
}

export const silentLogger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

export interface TestDatabase {
  url: string;
  name: string;
  database: Database;
  drop(): Promise<void>;
}

/** A database of its own for one test file, migrated, dropped afterwards. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `ha_test_${randomBytes(5).toString('hex')}`;
  await adminStatement(`CREATE DATABASE ${name}`);
  const url = new URL(SERVICES.databaseUrl);
  url.pathname = `/${name}`;
  const database = openDatabase({ url: url.toString(), logger: silentLogger });
  await runMigrations(database.db);
  return {
    url: url.toString(),
    name,
    database,
    async drop() {
      await database.close();
      await dropDatabase(name);
    },
  };
}

/** A hash-tagged queue prefix of its own, and a way to remove every key under it (API-key-scoped ones too, see redis-keys.ts). */
export function freshPrefix(): { prefix: string; clear(): Promise<void> } {
  const prefix = `{ha-test-${randomBytes(4).toString('hex')}}`;
  return {
    prefix,
    async clear() {
      const redis = testRedis();
      try {
        await deleteKeysUnder(redis, prefix);
        await deleteKeysUnder(redis, untaggedPrefix(prefix));
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** One statement on the services' main database (CREATE/DROP DATABASE cannot run inside one). */
export async function adminStatement(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVICES.databaseUrl });
  // A Postgres restart by another user of the services must fail the statement, not the process.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * FORCE ends our own stray connections; it is refused (42501) when an autovacuum worker is in
 * the database, and a plain DROP then waits for that worker to be cancelled.
 */
export async function dropDatabase(name: string): Promise<void> {
  try {
    await adminStatement(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    for (let attempt = 1; ; attempt++) {
      try {
        await adminStatement(`DROP DATABASE IF EXISTS ${name}`);
        return;
      } catch (retryErr) {
        if (attempt >= 10) throw retryErr;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
}

/** Every key under a prefix, in SCAN batches (KEYS would block a Redis shared with other work), on every master of a cluster. */
export async function forEachKeyUnder(redis: RedisConnection, prefix: string, visit: (keys: string[]) => Promise<void>): Promise<void> {
  // A cluster client knows its masters only once it has read the slots.
  if (redis instanceof Cluster && redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await visit(keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

/** One DEL per key: a cluster refuses a DEL of keys in several slots. */
export function deleteKeysUnder(redis: RedisConnection, prefix: string): Promise<void> {
  return forEachKeyUnder(redis, prefix, async (keys) => {
    await Promise.all(keys.map((key) => redis.del(key)));
  });
}

/** A config as the CLI would build it, pointed at this file's database, prefix and simulator. */
export function testConfig(overrides: Partial<Config> & Pick<Config, 'databaseUrl' | 'queuePrefix' | 'baseUrl'>): Config {
  return {
    ...loadConfig({}, { CRAWLORA_API_KEY: 'test-key', CRAWLORA_PLAN: 'enterprise', REDIS_URL: SERVICES.redisUrl }),
    redisCluster: SERVICES.redisCluster,
    ratePerMin: 100_000,
    attempts: 5,
    backoffCapMs: 200,
    concurrency: 4,
    // Files share a database across queue prefixes; a reconciler would adopt other prefixes' runs.
    reconcileEveryMs: 3_600_000,
    // Tests count requests and credits exactly; the coverage tests turn the lookups back on.
    coverageLookups: false,
    ...overrides,
  };
}

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';

/** The real services `scripts/services.sh` started (npm test exports their URLs). */
export const SERVICES = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://archiver:archiver@127.0.0.1:54329/archiver',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:63790',
};

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
  const admin = new pg.Client({ connectionString: SERVICES.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
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
      const client = new pg.Client({ connectionString: SERVICES.databaseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A hash-tagged queue prefix of its own, and a way to remove every key under it. */
export function freshPrefix(): { prefix: string; clear(): Promise<void> } {
  const prefix = `{ha-test-${randomBytes(4).toString('hex')}}`;
  return {
    prefix,
    async clear() {
      const redis = new Redis(SERVICES.redisUrl);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

/** A config as the CLI would build it, pointed at this file's database, prefix and simulator. */
export function testConfig(overrides: Partial<Config> & Pick<Config, 'databaseUrl' | 'queuePrefix' | 'baseUrl'>): Config {
  return {
    ...loadConfig({}, { CRAWLORA_API_KEY: 'test-key', CRAWLORA_PLAN: 'enterprise', REDIS_URL: SERVICES.redisUrl }),
    ratePerMin: 100_000,
    attempts: 5,
    backoffCapMs: 200,
    concurrency: 4,
    // Files share a database across queue prefixes; a reconciler would adopt other prefixes' runs.
    reconcileEveryMs: 3_600_000,
    ...overrides,
  };
}

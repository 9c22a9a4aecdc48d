import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { adminStatement, deleteKeysUnder, dropDatabase, forEachKeyUnder, SERVICES } from '../test/support/services.js';

/**
 * Fresh databases and queue prefixes on the services `scripts/services.sh up` started, each
 * registered for cleanup so an interrupted bench (Ctrl-C, a thrown error) leaves nothing behind.
 */

export { SERVICES };

export const benchLogger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn');

const cleanups = new Map<string, () => Promise<void>>();

/** Runs every registered cleanup once (databases dropped, Redis keys deleted), then sweeps every prefix made. */
export async function cleanupAll(): Promise<void> {
  const pending = [...cleanups.entries()];
  cleanups.clear();
  for (const [what, cleanup] of pending.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      process.stderr.write(`bench: cleanup of ${what} failed: ${String(err)}\n`);
    }
  }
  await sweepPrefixes().catch((err: unknown) => process.stderr.write(`bench: sweeping Redis prefixes failed: ${String(err)}\n`));
}

let signalsHooked = false;
/** Ctrl-C during a bench still stops its child processes (`stopChildren`) and drops its databases and keys. */
export function cleanupOnSignals(stopChildren: () => void): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, cleaning up\n`);
      stopChildren();
      // The interrupted crawl may still write a key or two (fire-and-forget counters) after its
      // prefix was cleared: sweep every prefix once more after they have landed.
      void cleanupAll()
        .then(() => new Promise((resolve) => setTimeout(resolve, 500)))
        .then(() => sweepPrefixes())
        .finally(() => process.exit(130));
    });
  }
}

export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A migrated database of its own, dropped by `drop()` or at the latest by `cleanupAll()`. */
export async function freshDatabase(): Promise<BenchDatabase> {
  const name = `ha_bench_${randomBytes(5).toString('hex')}`;
  const drop = async () => {
    cleanups.delete(name);
    await dropDatabase(name);
  };
  // Registered before it exists: an interruption during CREATE or the migrations still drops it.
  cleanups.set(name, drop);
  await adminStatement(`CREATE DATABASE ${name}`);
  const url = new URL(SERVICES.databaseUrl);
  url.pathname = `/${name}`;
  const database = openDatabase({ url: url.toString(), logger: benchLogger, maxConnections: 1 });
  try {
    await runMigrations(database.db);
  } finally {
    await database.close();
  }
  return { url: url.toString(), name, drop };
}

/** Every prefix this process made, for a last sweep. */
const madePrefixes = new Set<string>();

/** Deletes whatever is left under any prefix this process made. */
export async function sweepPrefixes(): Promise<void> {
  const redis = new Redis(SERVICES.redisUrl);
  try {
    for (const prefix of madePrefixes) await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

export interface BenchPrefix {
  prefix: string;
  /** Bytes Redis reports for the keys under the prefix (MEMORY USAGE), and how many keys. */
  usage(): Promise<{ keys: number; bytes: number }>;
  clear(): Promise<void>;
}

/** A hash-tagged queue prefix of its own; `clear()` deletes every key under it. */
export function freshPrefix(label = 'bench'): BenchPrefix {
  const prefix = `{ha-${label}-${randomBytes(4).toString('hex')}}`;
  madePrefixes.add(prefix);
  const eachKey = async (visit: (redis: Redis, keys: string[]) => Promise<void>) => {
    const redis = new Redis(SERVICES.redisUrl);
    try {
      await forEachKeyUnder(redis, prefix, (keys) => visit(redis, keys));
    } finally {
      redis.disconnect();
    }
  };
  const clear = async () => {
    cleanups.delete(prefix);
    await eachKey(async (redis, keys) => {
      await redis.del(...keys);
    });
  };
  cleanups.set(prefix, clear);
  return {
    prefix,
    async usage() {
      let keys = 0;
      let bytes = 0;
      await eachKey(async (redis, batch) => {
        const pipeline = redis.pipeline();
        for (const key of batch) pipeline.memory('USAGE', key);
        for (const [, value] of (await pipeline.exec()) ?? []) bytes += Number(value ?? 0);
        keys += batch.length;
      });
      return { keys, bytes };
    },
    clear,
  };
}

/** `used_memory` of the services' Redis (the whole server: other users of it count too). */
export async function redisUsedMemory(): Promise<number> {
  const redis = new Redis(SERVICES.redisUrl);
  try {
    const info = await redis.info('memory');
    return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
  } finally {
    redis.disconnect();
  }
}

/** A config as the CLI would build it, for a bench's own database, prefix and simulator. */
export function benchConfig(overrides: Partial<Config> & Pick<Config, 'databaseUrl' | 'queuePrefix' | 'baseUrl'>): Config {
  return {
    ...loadConfig({}, { CRAWLORA_API_KEY: 'bench-key', CRAWLORA_PLAN: 'enterprise', REDIS_URL: SERVICES.redisUrl, LOG_LEVEL: 'warn' }),
    ratePerMin: 100_000_000,
    // Each run's first page would look its hashtag's count up: a request the bench's page counts leave out.
    coverageLookups: false,
    ...overrides,
  };
}

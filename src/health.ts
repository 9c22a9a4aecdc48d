import type { RedisConnection } from './queue/connection.js';
import { maskUrl, type Config } from './config.js';
import type { Db } from './db/client.js';
import { sql } from 'drizzle-orm';

/** A service the program needs is not there: one line saying which, where, and what to do. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
}

const CHECK_TIMEOUT_MS = 5_000;

/**
 * Fails fast with a readable message instead of hanging: the queue's Redis client waits through
 * outages by design, which would make an unreachable server look like a frozen command.
 */
export async function checkServices(
  services: { db: Db; redis?: RedisConnection },
  config: Pick<Config, 'databaseUrl' | 'redisUrl' | 'redisSentinels' | 'redisSentinelName'>,
): Promise<void> {
  await withTimeout(services.db.execute(sql`select 1`), 'Postgres', maskUrl(config.databaseUrl), 'DATABASE_URL');
  if (!services.redis) return;
  // Through Sentinel, REDIS_URL names no server: the error names what was asked instead.
  const sentinels = config.redisSentinels.map(({ host, port }) => `${host}:${port}`).join(',');
  if (sentinels === '') await withTimeout(services.redis.ping(), 'Redis', maskUrl(config.redisUrl), 'REDIS_URL');
  else await withTimeout(services.redis.ping(), 'Redis', `master '${config.redisSentinelName}' of sentinels ${sentinels}`, 'REDIS_SENTINELS and REDIS_SENTINEL_NAME');
}

async function withTimeout(work: Promise<unknown>, what: string, where: string, variable: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([work, timeout]);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new ServiceUnavailableError(
      `cannot reach ${what} at ${where} (${reason}); start it with 'npm run services up' or set ${variable}`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
  }
}

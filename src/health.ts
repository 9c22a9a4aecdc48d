import type { RedisConnection } from './queue/connection.js';
import { maskUrl } from './config.js';
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
export async function checkServices(services: { db: Db; redis?: RedisConnection }, urls: { databaseUrl: string; redisUrl: string }): Promise<void> {
  await withTimeout(services.db.execute(sql`select 1`), 'Postgres', urls.databaseUrl, 'DATABASE_URL');
  if (services.redis) await withTimeout(services.redis.ping(), 'Redis', urls.redisUrl, 'REDIS_URL');
}

async function withTimeout(work: Promise<unknown>, what: string, url: string, variable: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([work, timeout]);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new ServiceUnavailableError(
      `cannot reach ${what} at ${maskUrl(url)} (${reason}); start it with 'npm run services up' or set ${variable}`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
  }
}

import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * BullMQ workers block on Redis and need `maxRetriesPerRequest: null`; commands then wait
 * through a Redis restart instead of failing, which is what a long crawl wants.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'Redis connection error'));
  return redis;
}

import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * BullMQ workers block on Redis and need `maxRetriesPerRequest: null`; commands then wait
 * through a Redis restart instead of failing, which is what a long crawl wants.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  // ioredis reports every failed reconnect; one line per outage is what an operator needs. Before
  // the first connection nothing is logged: the start-up check reports that case in one line.
  let down = false;
  let everReady = false;
  redis.on('error', (err) => {
    if (down || !everReady) return;
    down = true;
    logger.warn({ err: { message: err.message } }, 'Redis unreachable; retrying');
  });
  redis.on('ready', () => {
    everReady = true;
    if (!down) return;
    down = false;
    logger.info('Redis reachable again');
  });
  return redis;
}

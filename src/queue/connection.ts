import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** One Redis server, a Redis Cluster, or the master Sentinel names: the same commands either way. */
export type RedisConnection = Redis | Cluster;

type RedisTarget = Pick<Config, 'redisUrl' | 'redisCluster' | 'redisSentinels' | 'redisSentinelName'>;

/**
 * Asks the server REDIS_URL names whether it is a node of a Redis Cluster (`cluster_enabled:1`),
 * so that naming any node is all the setting a cluster needs. With Sentinel configured there is
 * nothing to ask. A server that does not answer is left to the start-up check, which reports it
 * in one line.
 */
export async function detectRedisCluster<T extends RedisTarget>(config: T): Promise<T> {
  if (config.redisSentinels.length > 0) return config;
  const probe = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 5_000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return { ...config, redisCluster: /^cluster_enabled:1\s*$/m.test(await probe.info('cluster')) };
  } catch {
    return config;
  } finally {
    probe.disconnect();
  }
}

/**
 * BullMQ workers block on Redis and need `maxRetriesPerRequest: null` (on a cluster, in each
 * node's options); commands then wait through a Redis restart or a failover instead of
 * failing, which is what a long crawl wants.
 */
export function createRedis(target: RedisTarget, logger: Logger): RedisConnection {
  const url = new URL(target.redisUrl);
  const auth: RedisOptions = {
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const redis: RedisConnection =
    target.redisSentinels.length > 0
      ? new Redis({ sentinels: target.redisSentinels, name: target.redisSentinelName!, ...auth, maxRetriesPerRequest: null, lazyConnect: true })
      : target.redisCluster
        ? new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], { redisOptions: { ...auth, maxRetriesPerRequest: null }, lazyConnect: true })
        : new Redis(target.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  // ioredis reports every failed reconnect; one line per outage is what an operator needs. Before
  // the first connection nothing is logged: the start-up check reports that case in one line.
  let down = false;
  let everReady = false;
  redis.on('error', (err: Error) => {
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

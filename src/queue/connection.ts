import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** One Redis server, a Redis Cluster, or the master Sentinel names: the same commands either way. */
export type RedisConnection = Redis | Cluster;

type RedisTarget = Pick<Config, 'redisUrl' | 'redisCluster' | 'redisClusterNodes' | 'redisSentinels' | 'redisSentinelName'>;

/**
 * Asks the server REDIS_URL names whether it is a node of a Redis Cluster (`cluster_enabled:1`),
 * so that naming any node is all the setting a cluster needs, and which nodes the cluster has.
 * ioredis reconnects a Cluster client from scratch (and BullMQ does so to a blocking connection
 * that stopped answering) through its startup nodes only: with REDIS_URL's node alone, a client
 * whose node died in a failover would retry that dead node for ever. With Sentinel configured
 * there is nothing to ask. A server that does not answer is left to the start-up check, which
 * reports it in one line.
 */
export async function detectRedisCluster<T extends RedisTarget>(config: T): Promise<T> {
  if (config.redisSentinels.length > 0) return config;
  const probe = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 5_000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    if (!/^cluster_enabled:1\s*$/m.test(await probe.info('cluster'))) return { ...config, redisCluster: false };
    const url = new URL(config.redisUrl);
    const named = { host: url.hostname, port: Number(url.port || 6379) };
    const others = clusterNodeAddresses(String(await probe.cluster('NODES'))).filter((node) => node.host !== named.host || node.port !== named.port);
    return { ...config, redisCluster: true, redisClusterNodes: [named, ...others] };
  } catch {
    return config;
  } finally {
    probe.disconnect();
  }
}

/**
 * The addresses in a `CLUSTER NODES` reply ("<id> <ip>:<port>@<bus port> <flags> …", one line a
 * node), leaving out nodes marked failed or without an address: a dead startup node only costs a
 * reconnect a refused connection, but there is no reason to list one.
 */
export function clusterNodeAddresses(reply: string): Array<{ host: string; port: number }> {
  return reply
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter(([, address, flags]) => address !== undefined && flags !== undefined && !/(^|,)(fail|noaddr|handshake)(,|$)/.test(flags))
    .map(([, address]) => {
      const hostPort = address!.split('@')[0]!;
      const colon = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
    })
    .filter((node) => node.host !== '' && node.port > 0);
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
        ? new Cluster(target.redisClusterNodes.length > 0 ? target.redisClusterNodes : [{ host: url.hostname, port: Number(url.port || 6379) }], { redisOptions: { ...auth, maxRetriesPerRequest: null }, lazyConnect: true })
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

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedis, detectRedisCluster } from '../../src/queue/connection.js';
import { useFailoverCrawl } from '../support/failover.js';
import { silentLogger } from '../support/services.js';

const BASE_PORT = process.env.HA_REDIS_FAILOVER_CLUSTER_PORT ?? '63910';
const t = useFailoverCrawl('redis-cluster.sh', { HA_REDIS_CLUSTER_PORT: BASE_PORT }, 7400);

/** The master serving the queue's slot, its process id and its replication state, asked of `port`. */
async function queueMaster(port: number, slotKey: string): Promise<{ port: number; pid: number; replication: string }> {
  const node = new Redis({ host: '127.0.0.1', port });
  try {
    const slot = Number(await node.cluster('KEYSLOT', slotKey));
    const ranges = await node.cluster('SLOTS');
    const [, , master] = ranges.find(([from, to]) => slot >= from && slot <= to)!;
    const owner = new Redis({ host: '127.0.0.1', port: Number(master![1]) });
    try {
      const pid = Number(/process_id:(\d+)/.exec(await owner.info('server'))![1]);
      return { port: Number(master![1]), pid, replication: await owner.info('replication') };
    } finally {
      owner.disconnect();
    }
  } finally {
    node.disconnect();
  }
}

describe('Redis Cluster failover mid-crawl', () => {
  it('the master holding the queue is SIGKILLed, its replica takes over: every run completes with exact ids, pages paid twice within the pages in flight', async () => {
    const crawl = t.crawl();
    // REDIS_URL names the very master that dies: the clients must find the cluster through the
    // nodes they learnt from it, not through the one node the configuration gave.
    const victim = await queueMaster(Number(BASE_PORT), crawl.prefix);
    // Detected as the CLI does at start: the cluster's six nodes become the clients' startup nodes.
    const config = await detectRedisCluster(crawl.config({ redisUrl: `redis://127.0.0.1:${victim.port}`, redisCluster: false }));
    expect(config.redisClusterNodes).toHaveLength(6);

    await crawl.crawlThroughKill(config, async () => {
      // A replica that never finished its first sync holds nothing and refuses to take over,
      // which is a dead slot range, not a failover; scripts/redis-cluster.sh up waits for the syncs.
      expect((await queueMaster(victim.port, crawl.prefix)).replication).toMatch(/^slave0:.*state=online/m);
      process.kill(victim.pid, 'SIGKILL');
    });

    // The replica took the slot over: the killed node no longer serves it.
    expect((await queueMaster(Number(BASE_PORT) === victim.port ? victim.port + 1 : Number(BASE_PORT), crawl.prefix)).port).not.toBe(victim.port);
    // A client connecting from scratch with this config, as ioredis does on a full reconnect and
    // BullMQ to a blocking connection that stopped answering, still reaches the queue.
    const fresh = createRedis(config, silentLogger);
    try {
      await fresh.connect();
      expect(await fresh.exists(`${crawl.prefix}:pages:meta`)).toBe(1);
    } finally {
      fresh.disconnect();
    }
  });
});

import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFingerprint } from '../../src/crawlora/api-key.js';
import { detectRedisCluster, type RedisConnection } from '../../src/queue/connection.js';
import { createCreditGate } from '../../src/queue/credit-gate.js';
import { createRateLimiter } from '../../src/queue/rate-limiter.js';
import { createRedisClock } from '../../src/queue/redis-clock.js';
import { untaggedPrefix } from '../../src/queue/redis-keys.js';
import { catalogueIds } from '../../src/sim/catalogue.js';
import { runCli } from '../support/cli.js';
import { useCrawlEnvironment } from '../support/environment.js';
import { archivedIds } from '../support/runs.js';
import { SERVICES, testRedis } from '../support/services.js';

const t = useCrawlEnvironment({ app: false, sim: { itemsPerHashtag: 90 } });
let redis: RedisConnection;

beforeAll(() => {
  redis = testRedis();
});
afterAll(() => {
  redis.disconnect();
});

/** The master serving a key's slot, as host:port. */
async function masterOf(key: string): Promise<string> {
  const slot = await redis.cluster('KEYSLOT', key);
  const ranges = await redis.cluster('SLOTS');
  const [, , master] = ranges.find(([from, to]) => slot >= from && slot <= to)!;
  return `${master![0]}:${master![1]}`;
}

describe('on a Redis Cluster', () => {
  it('is detected from the URL of any node, which lists every node as the client\'s startup nodes, and not from a standalone server', async () => {
    // "<id> 127.0.0.1:port@bus flags …", one line a node.
    const nodes = String(await redis.cluster('NODES')).trim().split('\n').map((line) => line.split(' ')[1]!.split('@')[0]!);
    expect(nodes.length).toBe(6);
    const target = { redisCluster: false, redisClusterNodes: [], redisSentinels: [], redisSentinelName: null };
    for (const node of nodes) {
      const detected = await detectRedisCluster({ ...target, redisUrl: `redis://${node}` });
      expect(detected.redisCluster).toBe(true);
      const listed = detected.redisClusterNodes.map(({ host, port }) => `${host}:${port}`);
      expect(listed[0]).toBe(node);
      expect([...listed].sort()).toEqual([...nodes].sort());
    }
    const standalone = await detectRedisCluster({ ...target, redisUrl: process.env.HA_TEST_STANDALONE_REDIS_URL! });
    expect(standalone.redisCluster).toBe(false);
    expect(standalone.redisClusterNodes).toEqual([]);
  });

  it("spreads many API keys' limiter and credit state over the masters, each script's keys in one slot", async () => {
    const prefix = `${t.prefix}-spread`;
    const limiter = createRateLimiter(redis, prefix, () => ({ ratePerMin: 600, windowMs: 60_000 }));
    const gate = createCreditGate(redis, prefix, async () => 0, createRedisClock(redis));
    const fingerprints = Array.from({ length: 12 }, (_, i) => keyFingerprint(`spread-key-${i}`));
    const masters = new Set<string>();
    for (const fingerprint of fingerprints) {
      // A CROSSSLOT error would reject these.
      expect((await limiter.tryAcquire(fingerprint)).admitted).toBe(true);
      await gate.reserve(fingerprint, 8, { dailyCredits: 1_000, monthlyCredits: 10_000 });
      const keys: string[] = [];
      for (const node of (redis as Cluster).nodes('master')) keys.push(...(await node.keys(`${untaggedPrefix(prefix)}:*{${fingerprint}}*`)));
      expect(keys.length).toBeGreaterThanOrEqual(2);
      const slots = new Set(await Promise.all(keys.map((key) => redis.cluster('KEYSLOT', key))));
      expect(slots.size).toBe(1);
      masters.add(await masterOf(keys[0]!));
    }
    expect(masters.size).toBe(3);
  });

  it('crawl --wait given only a node of the cluster as REDIS_URL archives exactly the ids served', async () => {
    const replicaNode = (redis as Cluster).nodes('slave')[0]!;
    const result = await runCli(
      ['crawl', '7301', '7302', '--wait'],
      t.cliEnv({ REDIS_URL: `redis://${replicaNode.options.host}:${replicaNode.options.port}`, CRAWLORA_API_KEY: 'cluster-key', CRAWLORA_PLAN: 'enterprise', CRAWLORA_RATE_PER_MIN: '100000' }),
      60_000,
    );
    expect(result.code, result.stderr).toBe(0);
    for (const hashtag of ['7301', '7302']) expect(await archivedIds(t.database.database.db, hashtag)).toEqual(catalogueIds(hashtag, 90).sort());
    expect(SERVICES.redisCluster).toBe(true);
  });
});

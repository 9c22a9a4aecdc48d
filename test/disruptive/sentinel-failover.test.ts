import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { useFailoverCrawl } from '../support/failover.js';

const BASE_PORT = process.env.HA_REDIS_FAILOVER_SENTINEL_PORT ?? '63920';
const t = useFailoverCrawl('redis-sentinel.sh', { HA_REDIS_SENTINEL_PORT: BASE_PORT }, 7500);

async function info(port: number, section: string): Promise<string> {
  const node = new Redis({ host: '127.0.0.1', port });
  try {
    return await node.info(section);
  } finally {
    node.disconnect();
  }
}

describe('Redis through Sentinel', () => {
  it('crawls through the master the sentinels name; it is SIGKILLed, they promote its replica: every run completes with exact ids, pages paid twice within the pages in flight', async () => {
    const crawl = t.crawl();
    const variables = Object.fromEntries((await t.setup('env')).split('\n').map((line) => line.split('=') as [string, string]));
    // Parsed as the CLI parses them; REDIS_URL names a port nothing listens on, so every
    // connection must come through the sentinels.
    const { redisSentinels, redisSentinelName } = loadConfig({}, { CRAWLORA_API_KEY: 'test-key', ...variables });
    const config = crawl.config({ redisUrl: 'redis://127.0.0.1:1', redisCluster: false, redisSentinels, redisSentinelName });
    const victim = Number(await t.setup('master'));

    await crawl.crawlThroughKill(config, async () => {
      // A replica that never finished its first sync holds nothing; scripts/redis-sentinel.sh up
      // waits for it, and the sentinels would not promote it anyway.
      const replication = await info(victim, 'replication');
      expect(replication).toMatch(/^slave0:.*state=online/m);
      expect(await info(victim, 'keyspace')).toMatch(/^db0:keys=\d+/m);
      process.kill(Number(/process_id:(\d+)/.exec(await info(victim, 'server'))![1]), 'SIGKILL');
    });

    // The sentinels moved the master, and the queue lives on the new one.
    const master = Number(await t.setup('master'));
    expect(master).not.toBe(victim);
    const promoted = new Redis({ host: '127.0.0.1', port: master });
    try {
      expect(await promoted.exists(`${crawl.prefix}:pages:meta`)).toBe(1);
    } finally {
      promoted.disconnect();
    }
  });
});

import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { createRedis, detectRedisCluster } from '../../src/queue/connection.js';
import { startCrawl } from '../../src/queue/start-crawl.js';
import { catalogueIds } from '../../src/sim/catalogue.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { archivedIds, waitForRuns } from '../support/runs.js';
import { freshDatabase, freshPrefix, silentLogger, testConfig, type TestDatabase } from '../support/services.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));
/** A cluster of its own (its first port), so the kill disturbs nothing else. */
const BASE_PORT = process.env.HA_REDIS_FAILOVER_CLUSTER_PORT ?? '63910';
const cluster = (command: string) => promisify(execFile)('bash', [SCRIPT, command], { env: { ...process.env, HA_REDIS_CLUSTER_PORT: BASE_PORT } });

const HASHTAGS = Array.from({ length: 6 }, (_, i) => String(7400 + i));
const PAGES = 12;
const WORKERS = 2;
const CONCURRENCY = 3;

let database: TestDatabase;
let sim: SimulatorHandle;
const prefix = freshPrefix();
const apps: App[] = [];

beforeAll(async () => {
  await cluster('up');
  database = await freshDatabase();
  sim = await startSimulator({ itemsPerHashtag: PAGES * 30, latencyMs: 40 });
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await sim?.close();
  await database?.drop();
  await cluster('up');
  await cluster('down');
});

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
    // REDIS_URL names the very master that dies: the clients must find the cluster through the
    // nodes they learnt from it, not through the one node the configuration gave.
    const victim = await queueMaster(Number(BASE_PORT), prefix.prefix);
    // Detected as the CLI does at start: the cluster's six nodes become the clients' startup nodes.
    const config = await detectRedisCluster(testConfig({
      databaseUrl: database.url,
      queuePrefix: prefix.prefix,
      baseUrl: sim.baseUrl,
      redisUrl: `redis://127.0.0.1:${victim.port}`,
      redisCluster: false,
      concurrency: CONCURRENCY,
      jobLockMs: 2_000,
      reconcileEveryMs: 2_000,
      attempts: 20,
    }));
    expect(config.redisClusterNodes).toHaveLength(6);
    for (let i = 0; i < WORKERS; i += 1) {
      const app = createApp(config, silentLogger);
      apps.push(app);
      app.startWorker();
    }
    const runs = await startCrawl(apps[0]!.database.db, apps[0]!.queue, { hashtagIds: HASHTAGS, maxPages: null, maxItems: null });

    // Mid-crawl: a third of the pages in.
    const committed = async () => Number((await database.database.db.execute<{ n: number }>(sql`select count(*)::int as n from crawl_pages`)).rows[0]!.n);
    while ((await committed()) < (HASHTAGS.length * PAGES) / 3) await sleep(50);
    // A replica that never finished its first sync holds nothing and refuses to take over, which
    // is a dead slot range, not a failover; scripts/redis-cluster.sh up waits for the syncs.
    expect((await queueMaster(victim.port, prefix.prefix)).replication).toMatch(/^slave0:.*state=online/m);
    process.kill(victim.pid, 'SIGKILL');

    const finished = await waitForRuns(database.database.db, runs.map((run) => run.id), 150_000);
    expect(finished.map((run) => run.status)).toEqual(HASHTAGS.map(() => 'completed'));
    for (const hashtag of HASHTAGS) expect(await archivedIds(database.database.db, hashtag)).toEqual(catalogueIds(hashtag, PAGES * 30).sort());
    const paidPages = sim.stats().creditsTotal / 8;
    expect(paidPages).toBeGreaterThanOrEqual(HASHTAGS.length * PAGES);
    expect(paidPages - HASHTAGS.length * PAGES).toBeLessThanOrEqual(WORKERS * CONCURRENCY);
    // The replica took the slot over: the killed node no longer serves it.
    expect((await queueMaster(Number(BASE_PORT) === victim.port ? victim.port + 1 : Number(BASE_PORT), prefix.prefix)).port).not.toBe(victim.port);
    // A client connecting from scratch with this config, as ioredis does on a full reconnect and
    // BullMQ to a blocking connection that stopped answering, still reaches the queue.
    const fresh = createRedis(config, silentLogger);
    try {
      await fresh.connect();
      expect(await fresh.exists(`${prefix.prefix}:pages:meta`)).toBe(1);
    } finally {
      fresh.disconnect();
    }
  });
});

import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { startCrawl } from '../../src/queue/start-crawl.js';
import { catalogueIds } from '../../src/sim/catalogue.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { archivedIds, waitForRuns } from './runs.js';
import { freshDatabase, freshPrefix, silentLogger, testConfig, type TestDatabase } from './services.js';

const PAGES = 12;
const WORKERS = 2;
const CONCURRENCY = 3;

/**
 * A failover test's hooks: one of scripts/'s Redis setups (redis-cluster.sh, redis-sentinel.sh,
 * on the ports `env` gives, so the kill disturbs nothing else) brought up, and a FailoverCrawl
 * whose hashtags start at `firstHashtag`; afterwards `up` again (the killed master comes back,
 * ready for a next run) and `down`. `setup` runs the script's other commands.
 */
export function useFailoverCrawl(script: string, env: Record<string, string>, firstHashtag: number): { setup: (command: string) => Promise<string>; crawl: () => FailoverCrawl } {
  const path = fileURLToPath(new URL(`../../scripts/${script}`, import.meta.url));
  const setup = async (command: string) => (await promisify(execFile)('bash', [path, command], { env: { ...process.env, ...env } })).stdout.trim();
  let crawl: FailoverCrawl | undefined;
  beforeAll(async () => {
    await setup('up');
    crawl = await openFailoverCrawl(firstHashtag);
  });
  afterAll(async () => {
    await crawl?.close();
    await setup('up');
    await setup('down');
  });
  return { setup, crawl: () => crawl! };
}

/**
 * The disruptive suite's failover tests: two workers crawl six hashtags of twelve pages while
 * the Redis master holding the queue is SIGKILLed, on a Redis setup of the test's own.
 */
export interface FailoverCrawl {
  prefix: string;
  /** A worker's config for this crawl; `redis` says how it reaches Redis. */
  config(redis: Partial<Config>): Config;
  /**
   * Starts the workers and the runs, calls `kill` once a third of the pages are in, and checks
   * that every run completes with exactly the ids served, pages paid twice within the pages in
   * flight (writes the old master acknowledged may be lost; the reconciler and crawl_pages
   * restore them).
   */
  crawlThroughKill(config: Config, kill: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

async function openFailoverCrawl(firstHashtag: number): Promise<FailoverCrawl> {
  const hashtags = Array.from({ length: 6 }, (_, i) => String(firstHashtag + i));
  const database: TestDatabase = await freshDatabase();
  const sim: SimulatorHandle = await startSimulator({ itemsPerHashtag: PAGES * 30, latencyMs: 40 });
  const prefix = freshPrefix().prefix;
  const apps: App[] = [];
  return {
    prefix,
    config: (redis) =>
      testConfig({
        databaseUrl: database.url,
        queuePrefix: prefix,
        baseUrl: sim.baseUrl,
        concurrency: CONCURRENCY,
        jobLockMs: 2_000,
        reconcileEveryMs: 2_000,
        attempts: 20,
        ...redis,
      }),
    async crawlThroughKill(config, kill) {
      for (let i = 0; i < WORKERS; i += 1) {
        const app = createApp(config, silentLogger);
        apps.push(app);
        app.startWorker();
      }
      const runs = await startCrawl(apps[0]!.database.db, apps[0]!.queue, { hashtagIds: hashtags, maxPages: null, maxItems: null });
      const committed = async () => Number((await database.database.db.execute<{ n: number }>(sql`select count(*)::int as n from crawl_pages`)).rows[0]!.n);
      while ((await committed()) < (hashtags.length * PAGES) / 3) await sleep(50);
      await kill();
      const finished = await waitForRuns(database.database.db, runs.map((run) => run.id), 150_000);
      expect(finished.map((run) => run.status)).toEqual(hashtags.map(() => 'completed'));
      for (const hashtag of hashtags) expect(await archivedIds(database.database.db, hashtag)).toEqual(catalogueIds(hashtag, PAGES * 30).sort());
      const paidPages = sim.stats().creditsTotal / 8;
      expect(paidPages).toBeGreaterThanOrEqual(hashtags.length * PAGES);
      expect(paidPages - hashtags.length * PAGES).toBeLessThanOrEqual(WORKERS * CONCURRENCY);
    },
    async close() {
      await Promise.all(apps.map((app) => app.close()));
      await sim.close();
      await database.drop();
    },
  };
}

import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { useCrawlEnvironment } from './support/environment.js';
import { startPgBouncer, type PgBouncer } from './support/pgbouncer.js';
import { archivedIds, crawlAndWait } from './support/runs.js';
import { testConfig } from './support/services.js';

const PAGES = 6;
const t = useCrawlEnvironment({ app: false, sim: { itemsPerHashtag: PAGES * 30 } });
let bouncer: PgBouncer;

beforeAll(async () => {
  bouncer = await startPgBouncer();
});

afterAll(async () => {
  await bouncer?.stop();
});

describe('behind PgBouncer in transaction mode (Debian 1.18: no prepared statements)', () => {
  it('crawls with HA_PG_PREPARED_STATEMENTS=false: every run completes with exactly the ids served, each page paid once', async () => {
    // Concurrency 4 over a pool of 2 server connections: consecutive transactions of one client
    // connection run on different server connections, where a named statement would be unknown.
    const warnings: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => void warnings.push(line) });
    const config = testConfig({ databaseUrl: bouncer.urlFor(t.database.name), queuePrefix: `${t.prefix}-bouncer`, baseUrl: t.sim.baseUrl, pgPreparedStatements: false, concurrency: 4 });
    const app = createApp(config, logger);
    try {
      app.startWorker();
      const hashtags = ['7101', '7102', '7103', '7104', '7105', '7106'];
      const runs = await crawlAndWait(app, hashtags);
      for (const run of runs) {
        expect(run).toMatchObject({ status: 'completed', pages: PAGES, items: PAGES * 30, credits: PAGES * 8 });
        expect(await archivedIds(t.database.database.db, run.hashtagId)).toEqual(catalogueIds(run.hashtagId, PAGES * 30).sort());
      }
      expect(t.sim.stats().creditsTotal).toBe(hashtags.length * PAGES * 8);
      const [snapshots] = (await t.database.database.db.execute<{ count: number }>(sql`select count(*)::int as count from video_snapshots`)).rows;
      expect(snapshots?.count).toBe(hashtags.length * PAGES * 30);
      // Named statements fail here ("prepared statement … does not exist"); retries would hide it
      // from the outcome above, not from the log.
      expect(warnings.map((line) => JSON.parse(line) as { msg: string; err?: { message: string } }).map(({ msg, err }) => `${msg}: ${err?.message.slice(0, 120)}`)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

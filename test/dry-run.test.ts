import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { crawlRuns, creditLedger } from '../src/db/schema.js';
import { createPagesQueue, type PagesQueue } from '../src/queue/pages-queue.js';
import { hashtagIdForName } from '../src/sim/server.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { SERVICES } from './support/services.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 95 }, app: false, cli: { CRAWLORA_RATE_PER_MIN: '6000', CRAWLORA_API_KEY: 'cli-key' } });
let redis: Redis;
let queue: PagesQueue;

beforeAll(() => {
  redis = new Redis(SERVICES.redisUrl, { maxRetriesPerRequest: null });
  queue = createPagesQueue(redis, { prefix: t.prefix, attempts: 1 });
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
});

beforeEach(() => t.sim.reset());

const db = () => t.database.database.db;

/** Nothing in Postgres or on the queue: no run was started and no page job exists. */
async function expectNothingEnqueued() {
  expect(await db().select().from(crawlRuns)).toEqual([]);
  const counts = await queue.getJobCounts();
  expect(Object.values(counts).every((count) => count === 0)).toBe(true);
}

describe('crawl --dry-run', () => {
  it('resolves the name once, prints pages and credits from its video count, and queues and fetches nothing', async () => {
    const id = hashtagIdForName('christmas');
    const first = await runCli(['crawl', '#Christmas', '--dry-run'], t.cliEnv());
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // The simulator reports 95 videos: ceil(95 / 30) = 4 pages, 32 credits.
    expect(first.stdout).toMatch(new RegExp(`│ #christmas\\s*│ ${id}\\s*│ 95\\s*│ 4\\s*│ 32\\s*│`));
    expect(first.stdout).toMatch(/resolving a name not cached yet costs 8 credits \(this dry run resolved 1: 8 credits\)/);
    // The free plan (the default): 500 credits a day, 8 of them spent on the name.
    expect(first.stdout).toMatch(/today\s+492 credits left: enough for all of it/);
    expect(first.stdout).toMatch(/month\s+8 of 2,000 included credits spent; 40 after this/);

    const second = await runCli(['crawl', 'christmas', '--dry-run', '--wait'], t.cliEnv());
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`│ #christmas\\s*│ ${id}\\s*│ 95\\s*│ 4\\s*│ 32\\s*│`));
    expect(second.stdout).not.toMatch(/this dry run resolved/);

    const stats = t.sim.stats();
    expect(stats.detailRequests).toBe(1);
    expect(stats.pageRequests).toEqual([]);
    await expectNothingEnqueued();
    const charges = await db().select().from(creditLedger);
    expect(charges).toEqual([expect.objectContaining({ endpoint: 'hashtag-detail', hashtagId: id, credits: 8, runId: null })]);
  });

  it('reads names and ids from --from-file and estimates ids it has no count for as unknown', async () => {
    const file = join(tmpdir(), `ha-dry-run-${process.pid}.txt`);
    await writeFile(file, '# holidays\n#NewYear\n3242  # by id\n');
    const result = await runCli(['crawl', '--from-file', file, '--dry-run'], t.cliEnv());
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`│ #newyear\\s*│ ${hashtagIdForName('newyear')}\\s*│ 95\\s*│ 4\\s*│ 32\\s*│`));
    expect(result.stdout).toMatch(/│ 3242\s*│ 3242\s*│ unknown\s*│ -/);
    expect(t.sim.stats().pageRequests).toEqual([]);
    await expectNothingEnqueued();
  });
});

describe('hashtags refused before crawling', () => {
  it('refuses an unknown hashtag in one line naming it, and starts nothing', async () => {
    const result = await runCli(['crawl', 'unknownfoo', '--wait'], t.cliEnv());
    expectOneLineError(result, /^error: hashtag 'unknownfoo' does not exist on TikTok \(Crawlora status 10205: hashtag not found\)/, 2);
    expect(t.sim.stats().pageRequests).toEqual([]);
    await expectNothingEnqueued();
  });

  it('refuses an invalid name in one line before any request', async () => {
    expectOneLineError(await runCli(['crawl', 'christmas', 'merry christmas!'], t.cliEnv()), /^error: hashtag 'merry christmas!' is neither a numeric id nor a name/, 2);
    const file = join(tmpdir(), `ha-invalid-${process.pid}.txt`);
    await writeFile(file, 'christmas\nho-ho-ho\n');
    expectOneLineError(await runCli(['crawl', '--from-file', file, '--dry-run'], t.cliEnv()), /line 2: 'ho-ho-ho'/, 2);
    expectOneLineError(await runCli(['resolve', 'new year'], t.cliEnv()), /^error: hashtag 'new year' is neither/, 2);
    expect(t.sim.stats().detailRequests).toBe(0);
    await expectNothingEnqueued();
  });
});

import { eq, sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { crawlPages, hashtagVideos, videos } from '../src/db/schema.js';
import { enqueuePage } from '../src/queue/pages-queue.js';
import { catalogueIds, catalogueItem } from '../src/sim/catalogue.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds as archivedIdsIn, crawlAndWait, requestsFor as requestsIn } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 1_000, rejectKeys: ['revoked-key'] } });

beforeEach(() => t.sim.reset());

const db = () => t.app.database.db;
const crawl = (hashtagIds: string[], limits: { maxPages?: number; maxItems?: number } = {}) => crawlAndWait(t.app, hashtagIds, limits);
const archivedIds = (hashtagId: string) => archivedIdsIn(db(), hashtagId);
const requestsFor = (hashtagId: string) => requestsIn(t.sim, hashtagId);

describe('crawl pipeline on real Redis, Postgres and the simulator', () => {
  it('archives exactly the ids the simulator served for 3 hashtags of 1,000 items, one request per page', async () => {
    const hashtags = ['1001', '1002', '1003'];
    const runs = await crawl(hashtags);
    for (const run of runs) {
      expect(run).toMatchObject({ status: 'completed', stopReason: 'end', pages: 34, items: 1_000, newItems: 1_000, credits: 34 * 8 });
      const expected = catalogueIds(run.hashtagId, 1_000).sort();
      expect(await archivedIds(run.hashtagId)).toEqual(expected);
      expect([...t.sim.stats().idsServed[run.hashtagId]!].sort()).toEqual(expected);
      expect(requestsFor(run.hashtagId).map((request) => request.cursor)).toEqual(Array.from({ length: 34 }, (_, page) => page * 30));
    }
    const [{ count }] = (await db().execute<{ count: number }>(sql`select count(*)::int as count from videos`)).rows as [{ count: number }];
    expect(count).toBe(3_000);
  });

  it('a re-crawl updates counts in place: no duplicate rows, no new items, last_run_id moves on', async () => {
    const [first] = await crawl(['2001']);
    t.sim.configure({ epoch: 2 });
    const [second] = await crawl(['2001']);
    t.sim.configure({ epoch: 1 });
    expect(second).toMatchObject({ status: 'completed', items: 1_000, newItems: 0 });
    expect(await archivedIds('2001')).toHaveLength(1_000);
    const id = catalogueIds('2001', 1)[0]!;
    const [row] = await db().select().from(videos).where(eq(videos.id, id));
    const expectedStats = (catalogueItem('2001', 0, 2, true) as { stats: { playCount: number } }).stats;
    expect(row!.playCount).toBe(expectedStats.playCount);
    expect(row!.playCount).not.toBe((catalogueItem('2001', 0, 1, true) as { stats: { playCount: number } }).stats.playCount);
    const [link] = await db().select().from(hashtagVideos).where(eq(hashtagVideos.videoId, id));
    expect(link).toMatchObject({ runId: first!.id, lastRunId: second!.id });
  });

  it('stores each video once when upstream repeats items within and across pages', async () => {
    t.sim.configure({ hashtags: { '3001': { size: 200, duplicatesWithinPage: true, duplicatesAcrossPages: true } } });
    const [run] = await crawl(['3001']);
    expect(run).toMatchObject({ status: 'completed', newItems: 200 });
    expect(await archivedIds('3001')).toEqual(catalogueIds('3001', 200).sort());
  });

  it('keeps items with missing fields, string createTime and NUL characters, stripping the NULs', async () => {
    t.sim.configure({ hashtags: { '4001': { size: 60 } } });
    await crawl(['4001']);
    const items = Array.from({ length: 60 }, (_, index) => catalogueItem('4001', index, 1, true) as Record<string, unknown>);
    const withStringTime = items.find((item) => typeof item.createTime === 'string')!;
    const withNul = items.find((item) => String(item.desc).includes('\u0000'))!;
    const withoutChallenges = items.find((item) => item.challenges === undefined)!;
    expect(withStringTime && withNul && withoutChallenges).toBeTruthy();

    const [timed] = await db().select().from(videos).where(eq(videos.id, String(withStringTime.id)));
    expect(timed!.createTime!.getTime()).toBe(Number(withStringTime.createTime) * 1000);
    const [nul] = await db().select().from(videos).where(eq(videos.id, String(withNul.id)));
    expect(nul!.description).toBe(String(withNul.desc).replaceAll('\u0000', ''));
    expect(JSON.stringify(nul!.raw)).not.toContain('\\u0000');
    const [bare] = await db().select().from(videos).where(eq(videos.id, String(withoutChallenges.id)));
    expect(bare!.raw).not.toHaveProperty('challenges');
  });

  it('ends a run whose hasMore never turns false, with a bounded number of requests', async () => {
    t.sim.configure({ hashtags: { '5001': { size: 90, hasMoreForever: true } } });
    const [run] = await crawl(['5001']);
    expect(run!.status).toBe('completed');
    expect(['cursor-stalled', 'empty-pages']).toContain(run!.stopReason);
    expect(requestsFor('5001').length).toBeLessThanOrEqual(3 + 3);
    expect(await archivedIds('5001')).toHaveLength(90);
  });

  it('stops early at --max-pages and --max-items', async () => {
    const [byPages] = await crawl(['6001'], { maxPages: 2 });
    expect(byPages).toMatchObject({ status: 'completed', stopReason: 'max-pages', pages: 2, items: 60 });
    const [byItems] = await crawl(['6002'], { maxItems: 75 });
    expect(byItems).toMatchObject({ status: 'completed', stopReason: 'max-items', pages: 3, items: 90 });
    expect(requestsFor('6001')).toHaveLength(2);
    expect(requestsFor('6002')).toHaveLength(3);
  });

  it('fails a run on 400 with a clear message and never retries it', async () => {
    t.sim.configure({ faults: [{ kind: '400', hashtagId: '7001' }] });
    const [run] = await crawl(['7001']);
    t.sim.configure({ faults: [] });
    expect(run!.status).toBe('failed');
    expect(run!.lastError).toMatch(/invalid input \(400.*hashtag 7001 at cursor 0 will not be retried/);
    expect(requestsFor('7001')).toHaveLength(1);
  });

  it('a job repeated for a committed page fetches nothing and forks nothing', async () => {
    const [run] = await crawl(['8001'], { maxPages: 5 });
    const before = requestsFor('8001').length;
    await enqueuePage(t.app.queue, { runId: run!.id, hashtagId: '8001', pageNumber: 2, cursor: '60', emptyStreak: 0, generation: 2 });
    await t.app.queue.add('page', { runId: run!.id, hashtagId: '8001', pageNumber: 2, cursor: '60', emptyStreak: 0, generation: 1 }, { jobId: 'replayed-page-2' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(requestsFor('8001')).toHaveLength(before);
    const pages = await db().select().from(crawlPages).where(eq(crawlPages.runId, run!.id));
    expect(pages).toHaveLength(5);
  });
});

describe('a refused API key', () => {
  it('fails the run with a message that names the key problem, after one request', async () => {
    const revoked = t.newApp('revoked', { apiKeys: ['revoked-key'] });
    try {
      revoked.startWorker();
      const [run] = await crawlAndWait(revoked, ['9001']);
      expect(run!.status).toBe('failed');
      expect(run!.lastError).toMatch(/API key was refused by Crawlora \(401\/403\)/);
      expect(requestsFor('9001')).toHaveLength(1);
    } finally {
      // Its keys live under this file's prefix, which afterAll clears.
      await revoked.close();
    }
  });
});

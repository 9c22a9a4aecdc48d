import { and, eq, isNotNull } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { crawlPages, hashtagVideos } from '../src/db/schema.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds, crawlAndWait } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 300 } });
const db = () => t.app.database.db;

beforeEach(() => t.sim.reset());

async function missingIds(hashtagId: string): Promise<string[]> {
  const rows = await db()
    .select({ id: hashtagVideos.videoId })
    .from(hashtagVideos)
    .where(and(eq(hashtagVideos.hashtagId, hashtagId), isNotNull(hashtagVideos.missingSince)));
  return rows.map((row) => row.id).sort();
}

describe('what the upstream says about each page', () => {
  it('stores each page log id and fatal item ids exactly as served, and archives the rest', async () => {
    t.sim.configure({ hashtags: { '17001': { size: 120, fatalEvery: 7 } } });
    const [run] = await crawlAndWait(t.app, ['17001']);
    expect(run).toMatchObject({ status: 'completed', stopReason: 'end', pages: 4 });

    const served = t.sim.stats().pagesServed.filter((page) => page.hashtagId === '17001');
    const stored = await db().select().from(crawlPages).where(eq(crawlPages.runId, run!.id)).orderBy(crawlPages.pageNumber);
    expect(stored.map((page) => ({ cursor: Number(page.cursor), logId: page.logId, fatalItemIds: page.fatalItemIds }))).toEqual(
      served.map((page) => ({ cursor: page.cursor, logId: page.logId, fatalItemIds: page.fatalItemIds })),
    );
    const fatal = served.flatMap((page) => page.fatalItemIds);
    expect(fatal).toHaveLength(17);
    expect(new Set(stored.map((page) => page.logId)).size).toBe(4);
    const all = catalogueIds('17001', 120);
    expect(await archivedIds(db(), '17001')).toEqual(all.filter((id) => !fatal.includes(id)).sort());
  });
});

describe('taken down or gone from the feed', () => {
  it('marks exactly the videos a complete full crawl no longer lists, and clears them once listed again', async () => {
    const all = catalogueIds('17101', 200);
    t.sim.configure({ hashtags: { '17101': { size: 200 } } });
    await crawlAndWait(t.app, ['17101']);
    expect(await missingIds('17101')).toEqual([]);

    const takenDown = [0, 3, 29, 30, 77, 100, 101, 150, 198, 199];
    t.sim.configure({ hashtags: { '17101': { size: 200, takenDown } } });
    const [second] = await crawlAndWait(t.app, ['17101']);
    expect(second).toMatchObject({ status: 'completed', stopReason: 'end', newItems: 0 });
    expect(await missingIds('17101')).toEqual(takenDown.map((index) => all[index]!).sort());
    // Nothing archived is deleted.
    expect(await archivedIds(db(), '17101')).toEqual([...all].sort());

    t.sim.configure({ hashtags: { '17101': { size: 200 } } });
    await crawlAndWait(t.app, ['17101']);
    expect(await missingIds('17101')).toEqual([]);
  });

  it('marks nothing after a crawl that did not reach the end, nor items listed as fatal', async () => {
    const all = catalogueIds('17201', 90);
    t.sim.configure({ hashtags: { '17201': { size: 90 } } });
    await crawlAndWait(t.app, ['17201']);

    t.sim.configure({ hashtags: { '17201': { size: 90, takenDown: [1, 2] } } });
    const [short] = await crawlAndWait(t.app, ['17201'], { maxPages: 2 });
    expect(short).toMatchObject({ status: 'completed', stopReason: 'max-pages' });
    expect(await missingIds('17201')).toEqual([]);

    // Every 10th item failed to load: still listed, so not gone; the two taken down are.
    t.sim.configure({ hashtags: { '17201': { size: 90, takenDown: [1, 2], fatalEvery: 10 } } });
    const [full] = await crawlAndWait(t.app, ['17201']);
    expect(full).toMatchObject({ status: 'completed', stopReason: 'end' });
    expect(await missingIds('17201')).toEqual([all[1]!, all[2]!].sort());
  });
});

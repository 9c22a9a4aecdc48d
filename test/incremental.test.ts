import { beforeEach, describe, expect, it } from 'vitest';
import type { CrawlOptions } from '../src/queue/start-crawl.js';
import { catalogueIds, catalogueItem } from '../src/sim/catalogue.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds as archivedIdsIn, crawlAndWait, requestsFor } from './support/runs.js';

const PAGE_SIZE = 30;

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 300, pageSize: PAGE_SIZE } });

beforeEach(() => {
  t.sim.configure({ hashtags: {} });
  t.sim.reset();
});

async function crawl(hashtagId: string, options: Partial<CrawlOptions> = {}) {
  const [run] = await crawlAndWait(t.app, [hashtagId], options);
  return run!;
}

/** Cursors the simulator was asked for, for this hashtag, since the last reset. */
function cursorsRequested(hashtagId: string): number[] {
  return requestsFor(t.sim, hashtagId).map((request) => request.cursor);
}

const archivedIds = (hashtagId: string) => archivedIdsIn(t.app.database.db, hashtagId);

/** Archives the hashtag in full at this catalogue size, then forgets the simulator's stats. */
async function archive(hashtagId: string, size: number) {
  t.sim.configure({ hashtags: { [hashtagId]: { size } } });
  expect(await crawl(hashtagId)).toMatchObject({ status: 'completed', stopReason: 'end', newItems: size });
  t.sim.reset();
}

describe('incremental re-crawls', () => {
  it('stop after HA_STALE_PAGES pages in a row without a new video, having asked for exactly those pages', async () => {
    const stalePages = t.app.config.stalePagesLimit;
    expect(stalePages).toBe(3);
    await archive('610001', 300);
    const run = await crawl('610001', { mode: 'incremental' });
    expect(run).toMatchObject({ status: 'completed', stopReason: 'no-new-videos', pages: stalePages, items: stalePages * PAGE_SIZE, newItems: 0 });
    expect(cursorsRequested('610001')).toEqual([0, 30, 60]);
  });

  it("take a run's own stale-pages limit over the configured one", async () => {
    await archive('610002', 300);
    const run = await crawl('610002', { mode: 'incremental', stalePagesLimit: 1 });
    expect(run).toMatchObject({ stopReason: 'no-new-videos', pages: 1 });
    expect(cursorsRequested('610002')).toEqual([0]);
  });

  it('find the new videos of a grown catalogue when they show up within the stale-pages limit', async () => {
    await archive('610003', 60);
    t.sim.configure({ hashtags: { '610003': { size: 150 } } });
    const run = await crawl('610003', { mode: 'incremental' });
    // Two known pages (stale streak 2 < 3), then the new videos reset the streak and the run reaches the end.
    expect(run).toMatchObject({ status: 'completed', stopReason: 'end', pages: 5, newItems: 90 });
    expect(cursorsRequested('610003')).toEqual([0, 30, 60, 90, 120]);
    expect(await archivedIds('610003')).toEqual(catalogueIds('610003', 150).sort());
  });

  it('miss new videos listed behind more known pages than the limit: the heuristic trusts the feed to list new videos first', async () => {
    // The simulator appends a grown catalogue's videos at the end of the listing (and they are
    // older), so an incremental run meets three known pages first and stops before reaching them.
    await archive('610004', 90);
    t.sim.configure({ hashtags: { '610004': { size: 150 } } });
    const run = await crawl('610004', { mode: 'incremental' });
    expect(run).toMatchObject({ status: 'completed', stopReason: 'no-new-videos', pages: 3, newItems: 0 });
    expect(await archivedIds('610004')).toEqual(catalogueIds('610004', 90).sort());
    // A full re-crawl is what finds them.
    expect(await crawl('610004')).toMatchObject({ stopReason: 'end', newItems: 60 });
  });
});

describe('--since', () => {
  it('stops after the first page whose newest video was created before the date', async () => {
    // Listings go from newest to oldest; item 100 sits on the page at cursor 90.
    const since = new Date(Number(catalogueItem('620001', 100, 1, false).createTime) * 1000);
    const run = await crawl('620001', { since });
    // The page at cursor 90 still holds videos newer than `since`; the one at 120 holds none and ends the run.
    expect(run).toMatchObject({ status: 'completed', stopReason: 'since', pages: 5, items: 150 });
    expect(cursorsRequested('620001')).toEqual([0, 30, 60, 90, 120]);
  });

  it('stops an incremental run on the date even while its pages bring new videos', async () => {
    const since = new Date(Number(catalogueItem('620002', 40, 1, false).createTime) * 1000);
    const run = await crawl('620002', { mode: 'incremental', since });
    expect(run).toMatchObject({ status: 'completed', stopReason: 'since', pages: 3, newItems: 90 });
  });
});

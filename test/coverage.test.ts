import { and, eq, isNotNull } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { hashtagCoverage } from '../src/db/coverage.js';
import { runsOfSeries } from '../src/db/runs.js';
import { creditLedger, crawlPages, hashtagVideos } from '../src/db/schema.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds, crawlAndWait, waitForRuns } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 300 }, config: { coverageLookups: true } });
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

    const exported = await runCli(['export', '17101', '--format', 'jsonl', '--missing'], t.cliEnv());
    expect(exported.stderr).toBe('');
    expect(exported.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(takenDown.map((index) => all[index]!).sort());
    expect(await hashtagCoverage(db(), '17101')).toMatchObject({ archived: 200, missing: 10 });

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

describe('coverage of a hashtag', () => {
  it('a feed cut at 150 of 600 shows coverage 0.25 with the reason, the count looked up once through the detail endpoint', async () => {
    t.sim.configure({ hashtags: { '17301': { size: 600, feedEndsAt: 150 } } });
    const [run] = await crawlAndWait(t.app, ['17301']);
    expect(run).toMatchObject({ status: 'completed', stopReason: 'end', pages: 5, items: 150 });
    // Named by its items' challenges (tag17301), looked up by that name: one request, 8 credits in the ledger.
    expect(t.sim.stats().detailRequests).toBe(1);
    const charges = await db().select().from(creditLedger).where(and(eq(creditLedger.endpoint, 'hashtag-detail'), eq(creditLedger.hashtagId, '17301')));
    expect(charges.map((charge) => charge.credits)).toEqual([8]);

    const result = await runCli(['stats', '17301', '--json'], t.cliEnv());
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).coverage).toMatchObject({
      reported: 600,
      archived: 150,
      ratio: 0.25,
      estimatedTotal: null,
      fatalItems: 0,
      explanation: 'feed ended at page 5 with hasMore false: 150 of ~600 reported',
    });
    const text = await runCli(['stats', '17301'], t.cliEnv());
    expect(text.stdout).toContain('coverage     150 / ~600 (25 %); feed ended at page 5 with hasMore false: 150 of ~600 reported');

    // Within the day, a second crawl looks nothing up again.
    const [again] = await crawlAndWait(t.app, ['17301']);
    expect(t.sim.stats().detailRequests).toBe(1);

    // `runs` shows it beside the hashtag's latest run only.
    const runs = await runCli(['runs'], t.cliEnv());
    const rowsOf = (runId: number) => runs.stdout.split('\n').filter((line) => new RegExp(`^│ ${runId} +│`).test(line));
    expect(rowsOf(again!.id)[0]).toContain('150 / ~600 (25 %)');
    expect(runs.stdout).toContain('feed ended at page 5 with hasMore false: 150 of ~600 reported');
    expect(rowsOf(run!.id)[0]).not.toContain('150 / ~600');
  });

  it('looks nothing up with HA_COVERAGE=off: the reported count stays unknown', async () => {
    const app = t.newApp('off', { coverageLookups: false });
    try {
      app.startWorker();
      t.sim.configure({ hashtags: { '17302': { size: 60 } } });
      await crawlAndWait(app, ['17302']);
      expect(t.sim.stats().detailRequests).toBe(0);
      expect(await hashtagCoverage(db(), '17302')).toMatchObject({ reported: null, archived: 60, ratio: null, explanation: null });
    } finally {
      await app.close();
    }
  });

  it('counts fatal items not archived as gaps', async () => {
    t.sim.configure({ hashtags: { '17303': { size: 100, fatalEvery: 10 } } });
    await crawlAndWait(t.app, ['17303']);
    expect(await hashtagCoverage(db(), '17303')).toMatchObject({ reported: 100, archived: 90, fatalItems: 10, missing: 0 });
  });
});

describe('crawl --passes', () => {
  const crawlPasses = async (hashtagId: string, passes: number, minNewRatio: number) => {
    const [first] = await startCrawl(db(), t.app.queue, { hashtagIds: [hashtagId], maxPages: null, maxItems: null, passes, minNewRatio });
    for (let ids = [first!.id]; ; ) {
      await waitForRuns(db(), ids, 90_000);
      const series = await runsOfSeries(db(), ids);
      if (series.length === ids.length) return series;
      ids = series.map((run) => run.id);
    }
  };

  it('six passes over a feed serving 60 % each time archive at least 97 % and estimate its size within 10 %', async () => {
    const size = 1_000;
    t.sim.configure({ hashtags: { '17401': { size, passFraction: 0.6 } } });
    const series = await crawlPasses('17401', 6, 0);
    expect(series.map((run) => [run.passNumber, run.status, run.stopReason, run.passGroup])).toEqual(
      [1, 2, 3, 4, 5, 6].map((pass) => [pass, 'completed', 'end', series[0]!.id]),
    );
    const archived = await archivedIds(db(), '17401');
    expect(archived.length).toBeGreaterThanOrEqual(0.97 * size);
    const coverage = await hashtagCoverage(db(), '17401');
    expect(Math.abs(coverage.estimatedTotal! - size)).toBeLessThanOrEqual(0.1 * size);
    const last = series.at(-1)!;
    expect(coverage.creditsPerNewVideo).toBe(last.newItems === 0 ? null : last.credits / last.newItems);
    // Each pass listed a different part: no single pass saw everything that was archived.
    expect(Math.max(...series.map((run) => run.items))).toBeLessThan(archived.length);
  });

  it('ends the series after a pass that adds fewer new videos than --min-new', async () => {
    t.sim.configure({ hashtags: { '17402': { size: 120 } } });
    const series = await crawlPasses('17402', 5, 0.01);
    expect(series.map((run) => [run.passNumber, run.newItems])).toEqual([
      [1, 120],
      [2, 0],
    ]);
  });
});

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { itemsJsonbForPostgres } from '../src/db/items-json.js';
import { commitPage } from '../src/db/pages.js';
import { createRuns, failRun, getRun, pauseRun, reopenRun } from '../src/db/runs.js';
import { crawlPages } from '../src/db/schema.js';
import { decideAfterPage } from '../src/queue/decide.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds, requestsFor, waitForRuns } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 90 } });
const db = () => t.app.database.db;

/** Holds a lock that lets readers through but makes every page commit wait, until released. */
async function blockPageCommits(): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE crawl_pages IN SHARE MODE');
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await client.query('COMMIT');
    await client.end();
  };
}

async function waitForRequests(hashtagId: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (requestsFor(t.sim, hashtagId).length < count && Date.now() < deadline) await sleep(10);
}

let release: () => Promise<void> = async () => {};
beforeEach(() => t.sim.reset());
afterEach(() => release());

describe('fetching the next page while the previous one commits', () => {
  it('fetches every page of a full run while no commit can finish, and completes it only once all are in', async () => {
    release = await blockPageCommits();
    const [run] = await startCrawl(db(), t.app.queue, { hashtagIds: ['101'], maxPages: null, maxItems: null });
    await waitForRequests('101', 3);
    expect(requestsFor(t.sim, '101').map((request) => request.cursor)).toEqual([0, 30, 60]);
    expect(await getRun(db(), run!.id)).toMatchObject({ pages: 0, finishedAt: null });
    expect((await getRun(db(), run!.id))!.status).not.toBe('completed');

    await release();
    const [finished] = await waitForRuns(db(), [run!.id]);
    expect(finished).toMatchObject({ status: 'completed', stopReason: 'end', pages: 3, items: 90 });
    expect(await archivedIds(db(), '101')).toEqual(catalogueIds('101', 90).sort());
  });

  it('an incremental run waits for each commit before it asks for the next page', async () => {
    release = await blockPageCommits();
    const [run] = await startCrawl(db(), t.app.queue, { hashtagIds: ['102'], maxPages: null, maxItems: null, mode: 'incremental' });
    await waitForRequests('102', 1);
    await sleep(500);
    expect(requestsFor(t.sim, '102')).toHaveLength(1);

    await release();
    const [finished] = await waitForRuns(db(), [run!.id]);
    expect(finished).toMatchObject({ status: 'completed', pages: 3 });
    expect(requestsFor(t.sim, '102')).toHaveLength(3);
  });
});

describe('pages committed out of order', () => {
  const rowsFor = (hashtagId: string, page: number) =>
    catalogueIds(hashtagId, 90)
      .slice(page * 30, page * 30 + 30)
      .map((id) => ({ id, author_id: null, author_unique_id: null, description: null, create_time: null, play_count: null, digg_count: null, comment_count: null, share_count: null, collect_count: null, music_id: null }));
  const limits = { maxPages: null, maxItems: null, maxEmptyPages: 3, mode: 'full' as const, stalePagesLimit: 3, sinceMs: null };
  const commit = (runId: number, pageNumber: number, hasMore: boolean) =>
    commitPage(db(), {
      runId,
      hashtagId: '201',
      pageNumber,
      cursor: String(pageNumber * 30),
      hasMore,
      logId: null,
      fatalItemIds: null,
      keyFingerprint: 'test-key',
      chargeId: randomUUID(),
      chargedAt: new Date(),
      rows: rowsFor('201', pageNumber),
      itemsJson: itemsJsonbForPostgres(Buffer.from(JSON.stringify({ data: { itemList: rowsFor('201', pageNumber).map(({ id }) => ({ id })) } })), []),
      credits: 8,
      decide: (newItems) =>
        decideAfterPage(
          { cursor: String(pageNumber * 30), nextCursor: String(pageNumber * 30 + 30), hasMore, itemCount: 30, newItems, newestCreatedAtMs: null },
          { pages: pageNumber, items: pageNumber * 30, emptyStreak: 0, staleStreak: 0 },
          limits,
        ),
    });

  it('a run whose last page is in before an earlier one completes only with that earlier page, and a resume starts at the gap', async () => {
    const [run] = await createRuns(db(), [{ hashtagId: '201', maxPages: null, maxItems: null, mode: 'full' }]);
    await commit(run!.id, 2, false);
    await commit(run!.id, 0, true);
    expect(await getRun(db(), run!.id)).toMatchObject({ status: 'queued', pages: 2, stopReason: null });

    // Page 1 failed for good meanwhile: the resume goes back to it, not past the last page.
    await failRun(db(), run!.id, 'page 1 gave up');
    const point = await reopenRun(db(), run!.id);
    expect(point).toMatchObject({ pageNumber: 1, cursor: '30' });

    await commit(run!.id, 1, true);
    expect(await getRun(db(), run!.id)).toMatchObject({ status: 'completed', stopReason: 'end', pages: 3, items: 90 });
  });

  it('a run paused while its pages came in stays paused, and its resume completes it without fetching anything', async () => {
    const [run] = await createRuns(db(), [{ hashtagId: '201', maxPages: null, maxItems: null, mode: 'full' }]);
    await pauseRun(db(), run!.id, 'user');
    await commit(run!.id, 1, false);
    await commit(run!.id, 0, true);
    expect(await getRun(db(), run!.id)).toMatchObject({ status: 'paused', pages: 2 });
    expect(await reopenRun(db(), run!.id)).toMatchObject({ kind: 'completed', run: { status: 'completed', stopReason: 'end', pages: 2 } });
    expect(await reopenRun(db(), run!.id)).toBeNull();
    expect(await db().select().from(crawlPages).where(eq(crawlPages.runId, run!.id))).toHaveLength(2);
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuns, getRun, pauseRun } from '../../src/db/runs.js';
import { enqueuePages } from '../../src/queue/pages-queue.js';
import type { ReconcileTick } from '../../src/queue/reconciler.js';
import { pause, resume } from '../../src/queue/run-control.js';
import { startCrawl } from '../../src/queue/start-crawl.js';
import { listSchedules, upsertSchedule } from '../../src/schedules/schedules-queue.js';
import { startCrawlEnvironment, type CrawlEnvironment } from '../support/environment.js';
import { requestsFor, waitForRuns } from '../support/runs.js';
import { SERVICES } from '../support/services.js';

const PAGES = 20;
let t: CrawlEnvironment;
/** Every reconcile the app ran, in order. */
const ticks: ReconcileTick[] = [];

const SCHEDULE = { hashtagId: '1099', cadence: { kind: 'every', ms: 3_600_000 }, mode: 'full', maxPages: null } as const;

beforeAll(async () => {
  t = await startCrawlEnvironment({
    sim: { itemsPerHashtag: PAGES * 30, latencyMs: 20 },
    // A request may take 12 s: the slowed page below stays in flight past the 5 s after which a
    // silent worker is taken for dead, so only its claim, written again, keeps it from being bought twice.
    config: { reconcileEveryMs: 10_000, requestTimeoutMs: 12_000, jobLockMs: 2_000 },
    appOptions: { onReconcile: (tick) => ticks.push(tick) },
  });
  await upsertSchedule(t.app.schedules, SCHEDULE);
  // A reconcile, so the worker has seen the schedule.
  while (!ticks.some((tick) => tick.reconciled)) await sleep(50);
});
afterAll(() => t?.close());

/** Every page of a hashtag the simulator answered 200, as cursors, in order of arrival. */
const servedCursors = (hashtagId: string) => requestsFor(t.sim, hashtagId).filter((request) => request.status === 200).map((request) => request.cursor);

describe('Redis loses everything mid-crawl (FLUSHALL)', () => {
  it('queued, running and cap-paused runs recover from Postgres and complete; a user-paused run stays paused and resumes; no page is bought twice; the live plan and the schedules are written back', async () => {
    const db = t.app.database.db;
    // A page whose request is in flight when the data goes: its job vanishes with it.
    t.sim.configure({ faults: [{ kind: 'slow', hashtagId: '1003', cursor: 150, delayMs: 8_000, times: 1 }] });
    const running = await startCrawl(db, t.app.queue, { hashtagIds: ['1001', '1002', '1003', '1004'], maxPages: null, maxItems: null });
    const [userPaused] = await startCrawl(db, t.app.queue, { hashtagIds: ['1005'], maxPages: null, maxItems: null });
    // A run waiting out a daily cap in a delayed job, as the page job leaves it.
    const [capPaused] = await createRuns(db, [{ hashtagId: '1006', maxPages: null, maxItems: null, mode: 'full' }]);
    await pauseRun(db, capPaused!.id, 'daily-cap', 'the run continues by itself at midnight');
    const capPage = { runId: capPaused!.id, hashtagId: '1006', generation: capPaused!.generation, pageNumber: 0, cursor: '0', emptyStreak: 0, staleStreak: 0 };
    await enqueuePages(t.app.queue, [capPage], 3_600_000);

    const deadline = Date.now() + 20_000;
    while (!requestsFor(t.sim, '1003').some((request) => request.cursor === 150) && Date.now() < deadline) await sleep(5);
    await pause(db, userPaused!.id);
    // A plan changed while workers run (`hashtag-archiver plan`) must survive the loss.
    await t.app.settings.set({ ratePerMin: 54_321 });
    const redis = new Redis(SERVICES.redisUrl);
    try {
      await redis.flushall();
    } finally {
      redis.disconnect();
    }
    const ticksAtFlush = ticks.length;
    // The cap-paused run's only job was a delayed one, lost with the rest: its first request is the reconciler's doing.
    while (requestsFor(t.sim, '1006').length === 0) await sleep(20);
    const ticksToRecover = ticks.slice(ticksAtFlush);

    const finished = await waitForRuns(db, [...running.map((run) => run.id), capPaused!.id], 60_000);
    expect(finished.map((run) => [run.hashtagId, run.status, run.pages])).toEqual([
      ['1001', 'completed', PAGES],
      ['1002', 'completed', PAGES],
      ['1003', 'completed', PAGES],
      ['1004', 'completed', PAGES],
      ['1006', 'completed', PAGES],
    ]);
    expect(await t.app.redis.hget(`${t.prefix}:plan-settings`, 'ratePerMin')).toBe('54321');
    expect((await listSchedules(t.app.schedules)).map((entry) => entry.schedule)).toEqual([SCHEDULE]);
    expect(t.app.settings.current().ratePerMin).toBe(54_321);
    const stillPaused = await getRun(db, userPaused!.id);
    expect(stillPaused).toMatchObject({ status: 'paused', stopReason: 'user' });
    const cursorsBefore = servedCursors('1005');
    await resume(db, t.app.queue, userPaused!.id);
    expect(await waitForRuns(db, [userPaused!.id], 30_000)).toMatchObject([{ status: 'completed', pages: PAGES }]);

    // Recovered within one reconcile period, counted in reconciles: the first after the flush (a
    // worker's beat noticing it was missing, or the interval) found the loss and re-added the jobs,
    // and at most one interval passed before they ran.
    const reconciles = ticksToRecover.filter((tick) => tick.reconciled);
    expect(reconciles[0]).toMatchObject({ dataLost: true });
    expect(reconciles[0]!.requeued).toBeGreaterThanOrEqual(1);
    expect(ticksToRecover.filter((tick) => tick.trigger === 'period').length).toBeLessThanOrEqual(1);
    expect(ticks.slice(ticksAtFlush).filter((tick) => tick.dataLost)).toHaveLength(1);

    const allPages = Array.from({ length: PAGES }, (_, page) => page * 30);
    // Every request the simulator saw, answered or not: the slowed page was asked for once.
    expect(requestsFor(t.sim, '1003').map((request) => request.cursor)).toEqual(allPages);
    for (const hashtagId of ['1001', '1002', '1003', '1004', '1005', '1006']) expect(servedCursors(hashtagId)).toEqual(allPages);
    expect(servedCursors('1005').slice(0, cursorsBefore.length)).toEqual(cursorsBefore);
    const [ledger] = (await db.execute<{ credits: number }>(sql`SELECT coalesce(sum(credits), 0)::int AS credits FROM credit_ledger`)).rows;
    expect(ledger!.credits).toBe(t.sim.stats().creditsTotal);
    expect(t.sim.stats().creditsTotal).toBe(6 * PAGES * 8);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { renderUsage } from '../src/cli/usage.js';
import { keyFingerprint } from '../src/crawlora/api-key.js';
import { recordCharge } from '../src/db/ledger.js';
import { getRuns } from '../src/db/runs.js';
import { getUsage } from '../src/db/usage.js';
import { flushPendingCharges } from '../src/queue/charge-flush.js';
import { pageJobId } from '../src/queue/names.js';
import { createPaidAnswers } from '../src/queue/paid-answers.js';
import { pause, resume } from '../src/queue/run-control.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { useCrawlEnvironment, usePerTestApps } from './support/environment.js';
import { deleteKeysUnder } from './support/services.js';
import { untaggedPrefix } from '../src/queue/redis-keys.js';
import { archivedIds, pollRun, requestsFor, waitForRuns } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 300 }, app: false });
const makeApp = usePerTestApps(t, () => {
  t.sim.reset();
  t.sim.configure({ faults: [], latencyMs: 0, billAbandoned: false, limits: { ratePerMin: 1_000_000, dailyCredits: null } });
});

type LedgerTotals = { certain: number; uncertain: number; entries: number };

async function ledgerOf(app: App, runId: number): Promise<LedgerTotals> {
  const [row] = (
    await app.database.db.execute<LedgerTotals>(sql`select
        coalesce(sum(credits) filter (where not uncertain), 0)::int as certain,
        coalesce(sum(credits) filter (where uncertain), 0)::int as uncertain,
        count(*)::int as entries
      from credit_ledger where run_id = ${runId}`)
  ).rows;
  return row!;
}

/** The pages of a hashtag the simulator answered 200, by cursor: each should appear once. */
function servedCursors(hashtagId: string): number[] {
  return requestsFor(t.sim, hashtagId)
    .filter((request) => request.status === 200)
    .map((request) => request.cursor)
    .sort((a, b) => a - b);
}

/**
 * Makes Postgres refuse the commit of chosen pages, with a chosen SQLSTATE, until the row is
 * deleted: a Postgres that does not answer (class 08) or a page it rejects, for as long as a test needs.
 */
async function refusePages(app: App): Promise<{ refuse(runId: number, pageNumber: number, sqlstate: string): Promise<void>; allow(): Promise<void> }> {
  const db = app.database.db;
  await db.execute(sql.raw(`CREATE TABLE IF NOT EXISTS refused_pages (run_id int, page_number int, sqlstate text);
    CREATE OR REPLACE FUNCTION refuse_page() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE state text;
    BEGIN
      SELECT r.sqlstate INTO state FROM refused_pages r WHERE r.run_id = NEW.run_id AND r.page_number = NEW.page_number;
      IF state IS NOT NULL THEN RAISE EXCEPTION 'page % of run % refused by the test', NEW.page_number, NEW.run_id USING ERRCODE = state; END IF;
      RETURN NEW;
    END $$;
    CREATE OR REPLACE TRIGGER refuse_page BEFORE INSERT ON crawl_pages FOR EACH ROW EXECUTE FUNCTION refuse_page();`));
  return {
    refuse: async (runId, pageNumber, sqlstate) => {
      await db.execute(sql`insert into refused_pages values (${runId}, ${pageNumber}, ${sqlstate})`);
    },
    allow: async () => {
      await db.execute(sql`delete from refused_pages`);
    },
  };
}

/** A `hashtag-archiver worker` process of its own on this file's database and simulator. */
function spawnWorker(queuePrefix: string, apiKey: string, extra: Record<string, string> = {}): ChildProcess {
  const bin = fileURLToPath(new URL('../bin/hashtag-archiver.js', import.meta.url));
  const env = { ...process.env, ...t.cliEnv({ HA_QUEUE_PREFIX: queuePrefix, CRAWLORA_API_KEY: apiKey, CRAWLORA_PLAN: 'enterprise', LOG_LEVEL: 'warn', ...extra }) };
  return spawn(process.execPath, [bin, 'worker'], { env, stdio: 'ignore' });
}

describe('a page paid for is bought once, and its charge recorded once', () => {
  it('a commit failing past the in-place retry commits the held answer: no page bought twice, ledger = upstream charge, no attempt spent on an outage', async () => {
    const app = makeApp();
    const refused = await refusePages(app);
    // Run A: Postgres "not answering" (08006) on page 2; run B: Postgres rejecting page 2 (P0001).
    const runs = await startCrawl(app.database.db, app.queue, { hashtagIds: ['4101', '4102'], maxPages: 4, maxItems: null });
    const [outage, rejected] = runs as [(typeof runs)[number], (typeof runs)[number]];
    await refused.refuse(outage.id, 2, '08006');
    await refused.refuse(rejected.id, 2, 'P0001');
    app.startWorker();
    // Longer than the ~13 s the commit is retried in place.
    await sleep(16_000);
    await refused.allow();

    const finished = await waitForRuns(app.database.db, [outage.id, rejected.id], 60_000);
    expect(finished.map((run) => run.status)).toEqual(['completed', 'completed']);
    for (const [run, hashtagId] of [
      [outage, '4101'],
      [rejected, '4102'],
    ] as const) {
      expect(servedCursors(hashtagId)).toEqual([0, 30, 60, 90]);
      expect(await archivedIds(app.database.db, hashtagId)).toEqual(catalogueIds(hashtagId, 300).slice(0, 120).sort());
      expect(await ledgerOf(app, run.id)).toEqual({ certain: 32, uncertain: 0, entries: 4 });
    }
    expect(finished.map((run) => run.credits)).toEqual([32, 32]);
    expect(t.sim.stats().creditsTotal).toBe(64);
    // Waiting for Postgres spends no attempt (BullMQ counts the completing one): the page whose
    // commit Postgres rejected spent one, on a commit, not on a purchase.
    const attemptsOf = async (runId: number) => (await app.queue.getJob(pageJobId(runId, 1, 2)))?.attemptsMade;
    expect([await attemptsOf(outage.id), await attemptsOf(rejected.id)]).toEqual([1, 2]);
  }, 90_000);

  it('Redis loses its data while Postgres refuses a commit: the worker writes its held answer back, and the page is committed from it, not bought again', async () => {
    const app = makeApp();
    const refused = await refusePages(app);
    const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: ['4151'], maxPages: 4, maxItems: null });
    await refused.refuse(run!.id, 2, '08006');
    app.startWorker();
    // Past the in-place retry: the answer is held only in Redis while its job waits out the "outage".
    const heldKey = `${app.config.queuePrefix}:held-answer:${run!.id}:2`;
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; await sleep(100)) {
      if ((await app.redis.exists(heldKey)) === 1 && (await app.queue.getJobState(pageJobId(run!.id, 1, 2))) === 'delayed') break;
    }
    // Everything of this queue prefix goes, as with a FLUSHALL (which would take other files' queues too).
    await deleteKeysUnder(app.redis, app.config.queuePrefix);
    await deleteKeysUnder(app.redis, untaggedPrefix(app.config.queuePrefix));
    for (const deadline = Date.now() + 10_000; (await app.redis.exists(heldKey)) === 0 && Date.now() < deadline; ) await sleep(100);
    await refused.allow();

    const [finished] = await waitForRuns(app.database.db, [run!.id], 60_000);
    expect(finished).toMatchObject({ status: 'completed', pages: 4 });
    expect(requestsFor(t.sim, '4151').map((request) => request.cursor)).toEqual([0, 30, 60, 90]);
    expect(await archivedIds(app.database.db, '4151')).toEqual(catalogueIds('4151', 300).slice(0, 120).sort());
    expect(await ledgerOf(app, run!.id)).toEqual({ certain: 32, uncertain: 0, entries: 4 });
    expect(t.sim.stats().creditsTotal).toBe(32);
  }, 120_000);

  it('pause → resume while a page is in flight: the resumed job waits for that answer instead of buying the page again', async () => {
    t.sim.configure({ faults: [{ kind: 'slow', hashtagId: '4201', cursor: 0, delayMs: 1_500, times: 1 }] });
    const app = makeApp();
    app.startWorker();
    const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: ['4201'], maxPages: 3, maxItems: null });
    await pollRun(app.database.db, run!.id, () => requestsFor(t.sim, '4201').length > 0);
    await pause(app.database.db, run!.id);
    await resume(app.database.db, app.queue, run!.id);

    const [finished] = await waitForRuns(app.database.db, [run!.id]);
    expect(finished).toMatchObject({ status: 'completed', pages: 3 });
    // Every request the simulator saw, answered or not yet: a duplicate still waiting at the simulator counts.
    expect(requestsFor(t.sim, '4201').map((request) => request.cursor)).toEqual([0, 30, 60]);
    expect(servedCursors('4201')).toEqual([0, 30, 60]);
    expect(await archivedIds(app.database.db, '4201')).toEqual(catalogueIds('4201', 300).slice(0, 90).sort());
    expect(await ledgerOf(app, run!.id)).toEqual({ certain: 24, uncertain: 0, entries: 3 });
    expect(finished!.credits).toBe(24);
    expect(t.sim.stats().creditsTotal).toBe(24);
  });

  it('kill -9 of a worker with a request in flight: the charge it may have cost is in the ledger as uncertain; the page is bought again once and committed as certain', async () => {
    t.sim.configure({ billAbandoned: true, faults: [{ kind: 'slow', hashtagId: '4251', cursor: 30, delayMs: 60_000, times: 1 }] });
    const queuePrefix = `${t.prefix}-sigkill`;
    // A short job lock, so the killed worker's job comes back soon; its claim outlives it unless taken over.
    const producer = makeApp({ queuePrefix, jobLockMs: 2_000 });
    const [run] = await startCrawl(producer.database.db, producer.queue, { hashtagIds: ['4251'], maxPages: 3, maxItems: null });
    const worker = spawnWorker(queuePrefix, 'sigkill-key', { HA_JOB_LOCK_MS: '2000' });
    // Page 0 in (its commit overlaps page 1's request), page 1's request waiting at the simulator.
    await pollRun(producer.database.db, run!.id, (current) => current.pages === 1 && requestsFor(t.sim, '4251').some((request) => request.cursor === 30), 20_000);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));

    producer.startWorker();
    const [finished] = await waitForRuns(producer.database.db, [run!.id]);
    expect(finished).toMatchObject({ status: 'completed', pages: 3 });
    expect(servedCursors('4251')).toEqual([0, 30, 60]);
    // What the killed worker had noted reaches the ledger once its owner is seen dead (the reconcile period's flush).
    const answers = createPaidAnswers(producer.redis, queuePrefix, { claimTtlMs: 60_000 });
    const rules = { billedForMs: 30_000, inFlightForMs: 60_000 };
    let ledger = await ledgerOf(producer, run!.id);
    for (const deadline = Date.now() + 20_000; ledger.uncertain === 0 && Date.now() < deadline; ledger = await ledgerOf(producer, run!.id)) {
      await flushPendingCharges(producer.database.db, answers, rules);
      await sleep(200);
    }
    // Upstream billed the request the kill cut (as Crawlora usually does), and the page again.
    expect(t.sim.stats().creditsTotal).toBe(32);
    expect(ledger).toEqual({ certain: 24, uncertain: 8, entries: 4 });
    expect(ledger.certain + ledger.uncertain).toBeGreaterThanOrEqual(t.sim.stats().creditsTotal);
    expect((await getRuns(producer.database.db, [run!.id]))[0]!.credits).toBe(32);
    // A second flush changes nothing: the ledger has one row a charge.
    await flushPendingCharges(producer.database.db, answers, rules);
    expect(await ledgerOf(producer, run!.id)).toEqual(ledger);
  }, 90_000);

  it('SIGTERM with a request in flight: the request is cut before the close deadline and recorded as uncertain; another worker completes the run', async () => {
    t.sim.configure({ billAbandoned: true, faults: [{ kind: 'slow', hashtagId: '4301', cursor: 30, delayMs: 60_000, times: 1 }] });
    const queuePrefix = `${t.prefix}-sigterm`;
    const producer = makeApp({ queuePrefix });
    const [run] = await startCrawl(producer.database.db, producer.queue, { hashtagIds: ['4301'], maxPages: 3, maxItems: null });
    const worker = spawnWorker(queuePrefix, 'sigterm-key');
    await pollRun(producer.database.db, run!.id, () => requestsFor(t.sim, '4301').some((request) => request.cursor === 30), 20_000);
    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(Date.now() - signalledAt).toBeLessThan(30_000);

    producer.startWorker();
    const [finished] = await waitForRuns(producer.database.db, [run!.id]);
    expect(finished).toMatchObject({ status: 'completed', pages: 3 });
    // The cut request was billed (this simulator bills abandoned requests, as Crawlora usually does): it is in the ledger, as uncertain.
    expect(await ledgerOf(producer, run!.id)).toEqual({ certain: 24, uncertain: 8, entries: 4 });
    expect(t.sim.stats().creditsTotal).toBe(32);
  }, 60_000);
});

describe('timeouts the upstream bills anyway', () => {
  it('a timed-out request counts against the daily cap, is in the ledger as uncertain, and usage shows it', async () => {
    t.sim.configure({ billAbandoned: true, faults: [{ kind: 'slow', hashtagId: '4401', cursor: 30, delayMs: 2_000, times: 1 }] });
    // A cap of 5 requests: 4 pages and the one that timed out.
    const app = makeApp({ apiKeys: ['cap-key'], requestTimeoutMs: 300, dailyCredits: 40 });
    app.startWorker();
    const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: ['4401'], maxPages: null, maxItems: null });
    // The last page paid for may commit just after the run paused.
    const paused = await pollRun(app.database.db, run!.id, (current) => current.status === 'paused' && current.pages >= 4, 20_000);
    expect(paused).toMatchObject({ status: 'paused', stopReason: 'daily-cap', pages: 4 });

    const billed = t.sim.stats().creditsByKey['cap-key'];
    expect(billed).toBe(40);
    expect(await ledgerOf(app, run!.id)).toEqual({ certain: 32, uncertain: 8, entries: 5 });
    expect(paused!.credits).toBe(40);
    const usage = await getUsage(app.database.db, 'enterprise', 40);
    expect(usage.keys.find((key) => key.keyFingerprint === keyFingerprint('cap-key'))).toMatchObject({ todayCredits: 40, monthCredits: 40, uncertainCredits: 8 });
    expect(renderUsage(usage)).toMatch(/\(\d+ uncertain: requests that timed out, counted as billed\)/);
  });
});

describe('one ledger row a charge', () => {
  it('a charge recorded as uncertain (its worker taken for dead) and then committed certain is one certain row, counted once', async () => {
    const app = makeApp();
    const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: ['4501'], maxPages: 1, maxItems: null });
    const charge = { chargeId: randomUUID(), keyFingerprint: 'key_0123456789', endpoint: 'hashtags' as const, hashtagId: '4501', runId: run!.id, credits: 8 };
    await recordCharge(app.database.db, { ...charge, uncertain: true });
    expect(await ledgerOf(app, run!.id)).toEqual({ certain: 0, uncertain: 8, entries: 1 });
    await recordCharge(app.database.db, charge);
    await recordCharge(app.database.db, { ...charge, uncertain: true });
    expect(await ledgerOf(app, run!.id)).toEqual({ certain: 8, uncertain: 0, entries: 1 });
    expect((await getRuns(app.database.db, [run!.id]))[0]!.credits).toBe(8);
  });
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { getRun } from '../src/db/runs.js';
import { pageJobId } from '../src/queue/names.js';
import { reconcileRuns } from '../src/queue/reconciler.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { useCrawlEnvironment, usePerTestApps } from './support/environment.js';
import { archivedIds as archivedIdsIn, waitForRuns } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 300 }, app: false });
const makeApp = usePerTestApps(t, () => {
  t.sim.reset();
  t.sim.configure({ faults: [], latencyMs: 0 });
});

const archivedIds = (app: App, hashtagId: string) => archivedIdsIn(app.database.db, hashtagId);

async function ledgerCredits(app: App): Promise<{ certain: number; uncertain: number }> {
  const [row] = (
    await app.database.db.execute<{ certain: number; uncertain: number }>(
      sql`select coalesce(sum(credits) filter (where not uncertain), 0)::int as certain, coalesce(sum(credits) filter (where uncertain), 0)::int as uncertain from credit_ledger`,
    )
  ).rows;
  return row!;
}

describe('upstream faults', () => {
  it('completes every crawl with exact ids when 20 % of answers are 500, 429, slow, truncated, empty or statusCode 10201', async () => {
    t.sim.configure({
      seed: 7,
      faults: [
        { kind: '500', rate: 0.04 },
        { kind: '429', rate: 0.03 },
        { kind: 'slow', rate: 0.03, delayMs: 1_000 },
        { kind: 'truncated', rate: 0.04 },
        { kind: 'empty', rate: 0.03 },
        { kind: 'status10201', rate: 0.03 },
      ],
    });
    const app = makeApp({ requestTimeoutMs: 300, attempts: 10, chargedRetries: 5, concurrency: 6 });
    app.startWorker();
    const hashtags = ['101', '102', '103', '104', '105'];
    const runs = await startCrawl(app.database.db, app.queue, { hashtagIds: hashtags, maxPages: null, maxItems: null });
    const finished = await waitForRuns(app.database.db, runs.map((run) => run.id), 50_000);
    expect(finished.map((run) => run.status)).toEqual(hashtags.map(() => 'completed'));
    for (const hashtagId of hashtags) expect(await archivedIds(app, hashtagId)).toEqual(catalogueIds(hashtagId, 300).sort());
    const byStatus = t.sim.stats().byStatus;
    expect((byStatus['500'] ?? 0) + (byStatus['429'] ?? 0)).toBeGreaterThan(0);
    // Billed failures (truncated, empty, 10201) are in the ledger and the runs' credits too: nothing
    // is hidden. Timed-out requests are there as uncertain: the simulator bills one only when its
    // answer was sent before the client gave up, which on a loaded machine happens to an ordinary
    // answer too. So what it charged lies between the certain credits and the certain plus the
    // uncertain, never outside.
    const credits = finished.reduce((sum, run) => sum + run.credits, 0);
    const ledger = await ledgerCredits(app);
    const charged = t.sim.stats().creditsTotal;
    expect(ledger.certain).toBeLessThanOrEqual(charged);
    expect(ledger.certain + ledger.uncertain).toBeGreaterThanOrEqual(charged);
    expect(ledger.uncertain).toBeGreaterThan(0);
    expect(credits).toBe(ledger.certain + ledger.uncertain);
    expect(credits).toBeGreaterThanOrEqual(hashtags.length * 10 * 8);
  });
});

describe('reconciler', () => {
  it('re-adds the next page job of a live run whose job was lost, and the run completes', async () => {
    const app = makeApp();
    const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: ['201'], maxPages: 3, maxItems: null });
    const lost = await app.queue.getJob(pageJobId(run!.id, 1, 0));
    await lost!.remove();
    expect(await app.queue.getJobCounts('waiting', 'delayed', 'active')).toMatchObject({ waiting: 0, delayed: 0, active: 0 });

    expect(await reconcileRuns(app.database.db, app.queue)).toMatchObject({ requeued: 1 });
    expect(await reconcileRuns(app.database.db, app.queue)).toMatchObject({ requeued: 0 });
    app.startWorker();
    const [finished] = await waitForRuns(app.database.db, [run!.id]);
    expect(finished).toMatchObject({ status: 'completed', pages: 3 });
  });

  it('marks failed a run whose page job failed for good while the run still says running', async () => {
    t.sim.configure({ faults: [{ kind: '400', hashtagId: '202' }] });
    const app = makeApp();
    app.startWorker();
    const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: ['202'], maxPages: null, maxItems: null });
    await waitForRuns(app.database.db, [run!.id]);
    // As if Postgres had been down when the job gave up: the job is failed, the run never heard.
    await app.database.db.execute(sql`update crawl_runs set status = 'running', last_error = null where id = ${run!.id}`);

    expect(await reconcileRuns(app.database.db, app.queue)).toMatchObject({ failed: 1 });
    expect(await getRun(app.database.db, run!.id)).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/invalid input \(400/) });
  });
});

describe('SIGTERM', () => {
  it('lets in-flight pages finish, exits within 30 s, and another worker completes the runs with no page fetched twice', async () => {
    t.sim.configure({ latencyMs: 300 });
    const queuePrefix = `${t.prefix}-sigterm`;
    const producer = makeApp({ queuePrefix });
    const runs = await startCrawl(producer.database.db, producer.queue, { hashtagIds: ['301', '302'], maxPages: null, maxItems: null });
    const bin = fileURLToPath(new URL('../bin/hashtag-archiver.js', import.meta.url));
    const env = {
      ...process.env,
      ...t.cliEnv({ HA_QUEUE_PREFIX: queuePrefix, CRAWLORA_API_KEY: 'sigterm-key', CRAWLORA_PLAN: 'enterprise', HA_CONCURRENCY: '2', LOG_LEVEL: 'warn' }),
    };
    const worker = spawn(process.execPath, [bin, 'worker'], { env, stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    while (t.sim.stats().pageRequests.filter((request) => request.status === 200).length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => worker.once('exit', (exitCode) => resolve(exitCode)));
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    expect(code).toBe(143);
    const inFlightAtExit = t.sim.stats().pageRequests.filter((request) => request.status === 0);
    expect(inFlightAtExit).toEqual([]);

    producer.startWorker();
    const finished = await waitForRuns(producer.database.db, runs.map((run) => run.id));
    expect(finished.map((run) => run.status)).toEqual(['completed', 'completed']);
    const served = t.sim.stats().pageRequests.filter((request) => request.status === 200).map((request) => `${request.hashtagId}@${request.cursor}`);
    expect(new Set(served).size).toBe(served.length);
    expect(served).toHaveLength(20);
  });
});

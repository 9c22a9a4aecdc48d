import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { App, AppOptions } from '../src/app.js';
import type { Config } from '../src/config.js';
import { getRun } from '../src/db/runs.js';
import { reconcileRuns } from '../src/queue/reconciler.js';
import { pause, resume } from '../src/queue/run-control.js';
import { startCrawl, type CrawlOptions } from '../src/queue/start-crawl.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment, usePerTestApps } from './support/environment.js';
import { pollRun, requestsFor, waitForRuns } from './support/runs.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 300 }, app: false });
const makeApp = usePerTestApps(t, () => {
  t.sim.reset();
  t.sim.configure({ faults: [] });
});

function startApp(overrides: Partial<Config> = {}, options: AppOptions = {}): App {
  const app = makeApp(overrides, options);
  app.startWorker();
  return app;
}

async function crawl(app: App, hashtagId: string, options: Partial<CrawlOptions> = {}) {
  const [run] = await startCrawl(app.database.db, app.queue, { hashtagIds: [hashtagId], maxPages: null, maxItems: null, ...options });
  return run!;
}

const servedCursors = (hashtagId: string) => requestsFor(t.sim, hashtagId).filter((request) => request.status === 200).map((request) => request.cursor);

describe('runs that could never finish', () => {
  it('a run paused while its final page is in flight completes on resume, fetching nothing again', async () => {
    t.sim.configure({ faults: [{ kind: 'slow', hashtagId: '81', cursor: 60, delayMs: 1_500 }] });
    const app = startApp();
    const run = await crawl(app, '81', { maxPages: 3 });
    const deadline = Date.now() + 10_000;
    while (!requestsFor(t.sim, '81').some((request) => request.cursor === 60) && Date.now() < deadline) await sleep(10);
    await pause(app.database.db, run.id);
    const paused = await pollRun(app.database.db, run.id, (r) => r.pages === 3);
    expect(paused).toMatchObject({ status: 'paused', pages: 3 });

    const reopened = await resume(app.database.db, app.queue, run.id);
    expect(reopened.kind).toBe('completed');
    expect(await getRun(app.database.db, run.id)).toMatchObject({ status: 'completed', stopReason: 'max-pages', pages: 3, lastError: null });
    expect(servedCursors('81')).toEqual([0, 30, 60]);
  });

  it('resume --budget-credits gives a run paused on its budget room for more pages; without it the resume is refused in one line', async () => {
    const app = startApp();
    const run = await crawl(app, '82', { budgetCredits: 16 });
    expect(await pollRun(app.database.db, run.id, (r) => r.status === 'paused' && r.pages === 2)).toMatchObject({ stopReason: 'budget', credits: 16 });
    const env = t.cliEnv({ HA_QUEUE_PREFIX: app.config.queuePrefix });

    expectOneLineError(await runCli(['resume', String(run.id)], env), /run \d+ has spent 16 credits.*--budget-credits 24 or more/);
    const resumed = await runCli(['resume', String(run.id), '--budget-credits', '40'], env);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toMatch(/resumes at page 2 .*with a budget of 40 credits/);
    const again = await pollRun(app.database.db, run.id, (r) => r.status === 'paused' && r.pages === 5);
    expect(again).toMatchObject({ status: 'paused', stopReason: 'budget', credits: 40, budgetCredits: 40 });
    expect(servedCursors('82')).toEqual([0, 30, 60, 90, 120]);
  });

  it('a run paused on its daily cap whose delayed job was removed is picked up by the reconciler and continues after the reset', async () => {
    // The app's clock starts two seconds before a UTC midnight and runs at real speed.
    const startedMs = Date.now();
    const fakeStartMs = Date.UTC(2031, 0, 1) - 2_000;
    const clock = () => new Date(fakeStartMs + (Date.now() - startedMs));
    const app = startApp({ apiKeys: ['reconciled-daily-key'], dailyCredits: 16 }, { clock });
    const run = await crawl(app, '83', { maxPages: 4 });
    expect(await pollRun(app.database.db, run.id, (r) => r.status === 'paused' && r.pages === 2)).toMatchObject({ stopReason: 'daily-cap' });
    let delayed = await app.queue.getDelayed();
    for (const until = Date.now() + 5_000; delayed.length === 0 && Date.now() < until; delayed = await app.queue.getDelayed()) await sleep(20);
    expect(delayed).toHaveLength(1);
    // As a user removing it in Bull Board would.
    await delayed[0]!.remove();

    // Past the reset the run would have gone on by itself, had its job been there.
    while (clock().getTime() < Date.UTC(2031, 0, 1) + 500) await sleep(50);
    expect(await getRun(app.database.db, run.id)).toMatchObject({ status: 'paused', stopReason: 'daily-cap' });
    expect(await reconcileRuns(app.database.db, app.queue)).toMatchObject({ requeued: 1 });
    const [finished] = await waitForRuns(app.database.db, [run.id], 15_000);
    expect(finished).toMatchObject({ status: 'completed', pages: 4 });
    expect(servedCursors('83')).toEqual([0, 30, 60, 90]);
  });
});

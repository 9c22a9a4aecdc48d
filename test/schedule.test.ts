import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { cancelRun, createRuns, pauseRun } from '../src/db/runs.js';
import { crawlRuns, hashtagVideos, scheduleEvents, type CrawlRun } from '../src/db/schema.js';
import { parseCadence, type Cadence } from '../src/schedules/cadence.js';
import {
  createSchedulesQueue,
  listSchedules,
  removeSchedule,
  schedulerIdOf,
  upsertSchedule,
  type FiringJob,
  type SchedulesQueue,
} from '../src/schedules/schedules-queue.js';
import { processFiring, type FiringDeps } from '../src/schedules/worker.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { waitForRuns } from './support/runs.js';
import { SERVICES, silentLogger } from './support/services.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 90 }, scheduler: true });

const db = () => t.app.database.db;
/** Seconds: only tests go below the one-minute minimum. */
const everySecond = parseCadence({ every: '1s' }, { minimumMs: 1_000 });
const hourly: Cadence = { kind: 'every', ms: 3_600_000 };

async function eventsOf(hashtagId: string) {
  return db().select().from(scheduleEvents).where(eq(scheduleEvents.hashtagId, hashtagId)).orderBy(scheduleEvents.firedAt, scheduleEvents.id);
}

async function runsOf(hashtagId: string): Promise<CrawlRun[]> {
  return db().select().from(crawlRuns).where(eq(crawlRuns.hashtagId, hashtagId)).orderBy(crawlRuns.id);
}

/** Polls until `check` returns something truthy; fails the test after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** What BullMQ hands the worker for a firing due at `dueMs`. */
function firingJob(hashtagId: string, dueMs: number, maxPages: number | null = null): FiringJob {
  return { id: `repeat:${schedulerIdOf(hashtagId)}:${dueMs}`, data: { hashtagId, mode: 'full', maxPages } } as FiringJob;
}

async function expectOneSchedulerAndOneFiringEach(queue: SchedulesQueue, hashtagIds: string[]) {
  const schedulers = await queue.getJobSchedulers();
  expect(schedulers.map((scheduler) => scheduler.key).sort()).toEqual(hashtagIds.map(schedulerIdOf).sort());
  const pending = [...(await queue.getDelayed()), ...(await queue.getWaiting())];
  expect(pending.map((job) => job.id).sort()).toEqual(schedulers.map((scheduler) => `repeat:${scheduler.key}:${scheduler.next}`).sort());
}

describe('schedulers in Redis', () => {
  it('concurrent adds from several processes, and remove-then-add, leave one scheduler and one pending firing per hashtag', async () => {
    const ownPrefix = `${t.prefix}-upserts`;
    const connections = Array.from({ length: 5 }, () => new Redis(SERVICES.redisUrl, { maxRetriesPerRequest: null }));
    const queues = connections.map((connection) => createSchedulesQueue(connection, ownPrefix));
    const hashtagIds = Array.from({ length: 12 }, (_, index) => String(50_000 + index));
    const cadences: Cadence[] = [hourly, { kind: 'every', ms: 7_200_000 }, { kind: 'cron', pattern: '0 */6 * * *' }];
    try {
      await Promise.all(
        queues.flatMap((queue, q) =>
          hashtagIds.map((hashtagId, h) => upsertSchedule(queue, { hashtagId, cadence: cadences[(q + h) % cadences.length]!, mode: 'full', maxPages: null })),
        ),
      );
      await expectOneSchedulerAndOneFiringEach(queues[0]!, hashtagIds);

      await Promise.all(
        hashtagIds.map(async (hashtagId, h) => {
          await removeSchedule(queues[h % queues.length]!, hashtagId);
          await upsertSchedule(queues[(h + 1) % queues.length]!, { hashtagId, cadence: hourly, mode: 'incremental', maxPages: 3 });
        }),
      );
      await expectOneSchedulerAndOneFiringEach(queues[0]!, hashtagIds);
      const listed = await listSchedules(queues[0]!);
      expect(listed.map((entry) => entry.schedule)).toEqual(
        expect.arrayContaining(hashtagIds.map((hashtagId) => ({ hashtagId, cadence: hourly, mode: 'incremental', maxPages: 3 }))),
      );

      // Adding again is an update: the pending firing is replaced, not joined by another.
      await upsertSchedule(queues[2]!, { hashtagId: hashtagIds[0]!, cadence: { kind: 'cron', pattern: '30 1 * * *' }, mode: 'full', maxPages: null });
      await expectOneSchedulerAndOneFiringEach(queues[0]!, hashtagIds);
      const [updated] = (await listSchedules(queues[0]!)).filter((entry) => entry.schedule.hashtagId === hashtagIds[0]);
      expect(updated!.schedule.cadence).toEqual({ kind: 'cron', pattern: '30 1 * * *' });
      expect(updated!.nextRunAt!.toISOString()).toMatch(/T01:30:00\.000Z$/);
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
      for (const connection of connections) connection.disconnect();
    }
  });
});

describe('firings', () => {
  it('a schedule fires and crawls: the run is recorded as started by the schedule and archives the hashtag', async () => {
    const hashtagId = '71001';
    await upsertSchedule(t.app.schedules, { hashtagId, cadence: everySecond, mode: 'full', maxPages: null });
    const started = await until('a started firing', async () => (await eventsOf(hashtagId)).find((event) => event.outcome === 'started'));
    await removeSchedule(t.app.schedules, hashtagId);

    const [run] = await waitForRuns(db(), [started.runId!]);
    expect(run).toMatchObject({ hashtagId, trigger: 'schedule', mode: 'full', status: 'completed', stopReason: 'end', items: 90 });
    const archived = await db().select().from(hashtagVideos).where(eq(hashtagVideos.hashtagId, hashtagId));
    expect(archived).toHaveLength(90);
    expect(started.reason).toBeNull();
  });

  it('skips firings while a run of the hashtag is still running, and records why; runs never overlap', async () => {
    const hashtagId = '71002';
    // Each page takes 1.5 s, so firings every second keep finding the run unfinished.
    t.sim.configure({ faults: [{ kind: 'slow', hashtagId, delayMs: 1_500 }] });
    try {
      await upsertSchedule(t.app.schedules, { hashtagId, cadence: everySecond, mode: 'full', maxPages: 2 });
      const events = await until('two skipped firings', async () => {
        const all = await eventsOf(hashtagId);
        return all.filter((event) => event.outcome === 'skipped').length >= 2 && all;
      });
      await removeSchedule(t.app.schedules, hashtagId);

      const first = events.find((event) => event.outcome === 'started')!;
      const skippedWhileFirstRan = events.filter((event) => event.outcome === 'skipped' && event.reason?.startsWith(`run #${first.runId} `));
      expect(skippedWhileFirstRan.length).toBeGreaterThanOrEqual(2);
      for (const event of skippedWhileFirstRan) {
        expect(event.runId).toBeNull();
        expect(event.reason).toMatch(new RegExp(`^run #${first.runId} of this hashtag is still (queued|running)$`));
      }
      const runs = await waitForRuns(db(), (await runsOf(hashtagId)).map((run) => run.id));
      for (let i = 1; i < runs.length; i++) expect(runs[i]!.createdAt.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finishedAt!.getTime());
    } finally {
      t.sim.configure({ faults: [] });
    }
  });

  it('a paused run holds the schedule back until it is cancelled', async () => {
    const hashtagId = '71003';
    const [paused] = await createRuns(db(), [{ hashtagId }]);
    await pauseRun(db(), paused!.id, 'user', 'paused by a user');
    await upsertSchedule(t.app.schedules, { hashtagId, cadence: everySecond, mode: 'incremental', maxPages: null });
    await until('a skipped firing', async () => (await eventsOf(hashtagId)).some((event) => event.outcome === 'skipped'));
    await cancelRun(db(), paused!.id);
    const started = await until('a started firing', async () => (await eventsOf(hashtagId)).find((event) => event.outcome === 'started'));
    await removeSchedule(t.app.schedules, hashtagId);

    const skipped = (await eventsOf(hashtagId)).filter((event) => event.outcome === 'skipped' && event.firedAt < started.firedAt);
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    for (const event of skipped) expect(event.reason).toBe(`run #${paused!.id} of this hashtag is still paused (user)`);
    const [run] = await waitForRuns(db(), [started.runId!]);
    expect(run).toMatchObject({ trigger: 'schedule', mode: 'incremental', status: 'completed' });
  });

  it('firings of one hashtag racing in several scheduler processes start exactly one run', async () => {
    const hashtagId = '71004';
    // The run stays unfinished for the whole race: its first page takes 5 s.
    t.sim.configure({ faults: [{ kind: 'slow', hashtagId, delayMs: 5_000 }] });
    await upsertSchedule(t.app.schedules, { hashtagId, cadence: hourly, mode: 'full', maxPages: 1 });
    const pools = Array.from({ length: 4 }, () => openDatabase({ url: t.database.url, logger: silentLogger, maxConnections: 6 }));
    try {
      const deps: FiringDeps[] = pools.map((pool) => ({ db: pool.db, pages: t.app.queue, schedules: t.app.schedules, logger: silentLogger }));
      const dueBase = Date.now();
      const outcomes = await Promise.all(Array.from({ length: 16 }, (_, i) => processFiring(firingJob(hashtagId, dueBase + i), deps[i % deps.length]!)));

      expect(outcomes.filter((outcome) => outcome === 'started')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'skipped')).toHaveLength(15);
      const runs = await runsOf(hashtagId);
      expect(runs).toHaveLength(1);
      expect(await eventsOf(hashtagId)).toHaveLength(16);
      for (const run of runs) await cancelRun(db(), run.id);
    } finally {
      t.sim.configure({ faults: [] });
      await removeSchedule(t.app.schedules, hashtagId);
      await Promise.all(pools.map((pool) => pool.close()));
    }
  });

  it('a firing processed twice (a stalled job retried) is recorded once and starts one run', async () => {
    const hashtagId = '71005';
    await upsertSchedule(t.app.schedules, { hashtagId, cadence: hourly, mode: 'full', maxPages: 1 });
    const job = firingJob(hashtagId, Date.now());
    const deps: FiringDeps = { db: db(), pages: t.app.queue, schedules: t.app.schedules, logger: silentLogger };
    expect(await processFiring(job, deps)).toBe('started');
    expect(await processFiring(job, deps)).toBe('started');
    await removeSchedule(t.app.schedules, hashtagId);

    expect(await eventsOf(hashtagId)).toHaveLength(1);
    const runs = await runsOf(hashtagId);
    expect(runs).toHaveLength(1);
    await waitForRuns(db(), [runs[0]!.id]);
  });

  it('a firing that was already due when its schedule was removed starts nothing', async () => {
    const hashtagId = '71006';
    await upsertSchedule(t.app.schedules, { hashtagId, cadence: hourly, mode: 'full', maxPages: null });
    await removeSchedule(t.app.schedules, hashtagId);
    const deps: FiringDeps = { db: db(), pages: t.app.queue, schedules: t.app.schedules, logger: silentLogger };
    expect(await processFiring(firingJob(hashtagId, Date.now()), deps)).toBe('skipped');
    expect(await runsOf(hashtagId)).toHaveLength(0);
    expect((await eventsOf(hashtagId)).map((event) => event.reason)).toEqual(['the schedule was removed before this firing ran']);
  });
});

describe('hashtag-archiver schedule', () => {
  const cliEnv = () => t.cliEnv({ HA_QUEUE_PREFIX: `${t.prefix}-cli` });

  it('adds, updates, lists and removes schedules', async () => {
    const added = await runCli(['schedule', 'add', '81001', '81002', '--every', '6h', '--mode', 'incremental', '--max-pages', '5'], cliEnv());
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/^hashtag 81001: every 6h, incremental; next run \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nhashtag 81002: every 6h/);
    const updated = await runCli(['schedule', 'add', '81002', '--cron', '0 */6 * * *'], cliEnv());
    expect(updated.stdout).toMatch(/^hashtag 81002: cron 0 \*\/6 \* \* \* \(UTC\), full; next run \d{4}-\d\d-\d\dT(00|06|12|18):00:00Z\n$/);

    const listed = await runCli(['schedule', 'list'], cliEnv());
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/│ 81001\s+│ every 6h\s+│ incremental │ 5\s+│ \S+Z\s+│ -\s+│ -\s+│/);
    expect(listed.stdout).toMatch(/│ 81002\s+│ cron 0 \*\/6 \* \* \* \(UTC\) │ full\s+│\s+│ \S+Z\s+│ -\s+│ -\s+│/);

    const removed = await runCli(['schedule', 'remove', '81001', '81002', '81003'], cliEnv());
    expect(removed.stdout).toBe('hashtag 81001: schedule removed\nhashtag 81002: schedule removed\nhashtag 81003 had no schedule\n');
    expect((await runCli(['schedule', 'list'], cliEnv())).stdout).toMatch(/^no schedules; add one with/);
  });

  it('lists the last run, the last firing and the coverage of a schedule', async () => {
    const hashtagId = '81004';
    const [run] = await startedFiring(hashtagId);
    const listed = await runCli(['schedule', 'list'], t.cliEnv());
    await removeSchedule(t.app.schedules, hashtagId);
    expect(listed.stdout).toMatch(new RegExp(`│ ${hashtagId}\\s+│ every 1h\\s+│ full\\s+│ 1\\s+│ \\S+Z\\s+│ #${run!.id} completed \\(max-pages\\)\\s+│ started \\S+Z\\s+│ 30 \\/ \\?\\s+│`));
  });

  it('refuses bad intervals and patterns with one line, before touching anything', async () => {
    expectOneLineError(await runCli(['schedule', 'add', '81005', '--every', '10s'], cliEnv()), /^error: --every: '10s' is shorter than 1m; give 1m or more$/, 2);
    expectOneLineError(await runCli(['schedule', 'add', '81005', '--every', 'often'], cliEnv()), /^error: --every: 'often' is not an interval/, 2);
    expectOneLineError(await runCli(['schedule', 'add', '81005', '--cron', '0 */6 * * mon-xyz'], cliEnv()), /^error: --cron: '0 \*\/6 \* \* mon-xyz' is not a cron pattern/, 2);
    expectOneLineError(await runCli(['schedule', 'add', '81005'], cliEnv()), /^error: give exactly one of --every/, 2);
    expectOneLineError(await runCli(['schedule', 'add', 'tag!', '--every', '1h'], cliEnv()), /^error: hashtag 'tag!' is neither a numeric id nor a name/, 2);
    expect((await runCli(['schedule', 'list'], cliEnv())).stdout).toMatch(/^no schedules/);
  });
});

/** One firing processed and its run finished, for the list to show. */
async function startedFiring(hashtagId: string): Promise<CrawlRun[]> {
  await upsertSchedule(t.app.schedules, { hashtagId, cadence: hourly, mode: 'full', maxPages: 1 });
  const deps: FiringDeps = { db: db(), pages: t.app.queue, schedules: t.app.schedules, logger: silentLogger };
  expect(await processFiring(firingJob(hashtagId, Date.now(), 1), deps)).toBe('started');
  return waitForRuns(db(), (await runsOf(hashtagId)).map((run) => run.id));
}

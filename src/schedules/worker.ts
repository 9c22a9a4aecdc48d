import { Worker } from 'bullmq';
import type { RedisConnection } from '../queue/connection.js';
import type { Db } from '../db/client.js';
import { recordFiring, type ScheduleEvent } from '../db/schedule-events.js';
import type { Logger } from '../logger.js';
import type { PagesQueue } from '../queue/pages-queue.js';
import { startCrawl } from '../queue/start-crawl.js';
import { decideFiring } from './firing.js';
import { firingDueAt, scheduleExists, SCHEDULES_QUEUE, type FiringJob, type FiringJobData, type SchedulesQueue } from './schedules-queue.js';

export interface FiringDeps {
  db: Db;
  pages: PagesQueue;
  schedules: SchedulesQueue;
  logger: Logger;
}

export type FiringOutcome = ScheduleEvent['outcome'];
export type ScheduleWorker = Worker<FiringJobData, FiringOutcome>;

/** A due schedule: start a run of its hashtag, or skip because one is still going; either way it is recorded. */
export async function processFiring(job: FiringJob, deps: FiringDeps): Promise<FiringOutcome> {
  const { hashtagId, mode, maxPages } = job.data;
  const exists = await scheduleExists(deps.schedules, hashtagId);
  const { event, replayed } = await recordFiring(
    deps.db,
    { hashtagId, dueAt: firingDueAt(job) },
    (unfinishedRuns) => decideFiring({ scheduleExists: exists, unfinishedRuns }),
    async () => {
      const [run] = await startCrawl(deps.db, deps.pages, { hashtagIds: [hashtagId], mode, maxPages, maxItems: null, trigger: 'schedule' });
      return run!;
    },
  );
  if (!replayed) {
    const log = deps.logger.child({ hashtagId, dueAt: event.firedAt });
    if (event.outcome === 'started') log.info({ runId: event.runId, mode }, 'schedule fired: run started');
    else log.info({ reason: event.reason }, 'schedule fired: skipped');
  }
  return event.outcome;
}

/**
 * Firings take milliseconds, so one at a time per process is plenty, and it bounds what a firing
 * holds: a pooled connection for its lock, and a second one while it starts the run. Running this
 * worker in several processes is safe (see recordFiring).
 */
export function createScheduleWorker(connection: RedisConnection, deps: FiringDeps, options: { prefix: string }): ScheduleWorker {
  const worker = new Worker<FiringJobData, FiringOutcome>(SCHEDULES_QUEUE, (job) => processFiring(job, deps), {
    connection,
    prefix: options.prefix,
    concurrency: 1,
    autorun: false,
  });
  worker.on('failed', (job, err) => {
    if (job) deps.logger.warn({ jobId: job.id, attemptsMade: job.attemptsMade, err: { message: err.message } }, 'schedule firing failed');
  });
  worker.on('error', (err) => deps.logger.error({ err: { message: err.message } }, 'scheduler error'));
  return worker;
}

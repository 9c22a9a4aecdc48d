import { Queue, type Job, type JobsOptions, type RepeatOptions } from 'bullmq';
import type { RedisConnection } from '../queue/connection.js';
import type { CrawlMode } from '../db/schema.js';
import { CRON_TIME_ZONE, type Cadence } from './cadence.js';

/** Next to the pages queue, under the same prefix: a firing job per due schedule. */
export const SCHEDULES_QUEUE = 'schedules';

/** What a firing starts: one run of one hashtag. */
export interface FiringJobData {
  hashtagId: string;
  mode: CrawlMode;
  maxPages: number | null;
}

export interface Schedule extends FiringJobData {
  cadence: Cadence;
}

export interface ScheduleEntry {
  schedule: Schedule;
  nextRunAt: Date | null;
}

export type SchedulesQueue = Queue<FiringJobData>;
export type FiringJob = Job<FiringJobData>;

const FIRING_JOB_NAME = 'fire';

const FIRING_JOB_OPTIONS: JobsOptions = {
  // A firing that failed (Postgres away) is retried; schedule_events keeps what each one did.
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  // BullMQ derives a firing's job id from its due time; a finished job left behind under the id of
  // a coming firing would block that firing, so finished firings are not kept.
  removeOnComplete: true,
  removeOnFail: true,
};

export function createSchedulesQueue(connection: RedisConnection, prefix: string): SchedulesQueue {
  return new Queue<FiringJobData>(SCHEDULES_QUEUE, { connection, prefix });
}

/** One scheduler per hashtag, so adding a hashtag again updates its schedule instead of adding another. */
export function schedulerIdOf(hashtagId: string): string {
  return `hashtag-${hashtagId}`;
}

/**
 * The only place schedulers are written. BullMQ's upsert is one Redis script, so concurrent adds
 * from several processes converge on one scheduler with one pending firing; the tests hold it to that.
 * Returns when the schedule fires next.
 */
export async function upsertSchedule(queue: SchedulesQueue, schedule: Schedule, nowMs = Date.now()): Promise<Date | null> {
  const { cadence, ...data } = schedule;
  const schedulerId = schedulerIdOf(schedule.hashtagId);
  await queue.upsertJobScheduler(schedulerId, repeatOptions(cadence, nowMs), { name: FIRING_JOB_NAME, data, opts: FIRING_JOB_OPTIONS });
  const next = (await queue.getJobScheduler(schedulerId))?.next;
  return next ? new Date(next) : null;
}

/** Returns false when the hashtag had no schedule. */
export async function removeSchedule(queue: SchedulesQueue, hashtagId: string): Promise<boolean> {
  return queue.removeJobScheduler(schedulerIdOf(hashtagId));
}

export async function scheduleExists(queue: SchedulesQueue, hashtagId: string): Promise<boolean> {
  return (await queue.getJobScheduler(schedulerIdOf(hashtagId))) !== undefined;
}

/** Soonest first. */
export async function listSchedules(queue: SchedulesQueue): Promise<ScheduleEntry[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  return schedulers.flatMap((scheduler) => {
    const data = scheduler.template?.data;
    if (!data) return [];
    const cadence: Cadence = scheduler.pattern ? { kind: 'cron', pattern: scheduler.pattern } : { kind: 'every', ms: Number(scheduler.every) };
    return [{ schedule: { ...data, cadence }, nextRunAt: scheduler.next ? new Date(scheduler.next) : null }];
  });
}

/**
 * When the firing was due. BullMQ names a scheduler's jobs `repeat:<schedulerId>:<due ms>`, so
 * every retry of one firing gives the same time: that is what makes a retried firing recognisable.
 */
export function firingDueAt(job: FiringJob): Date {
  const dueMs = /:(\d+)$/.exec(job.id ?? '')?.[1];
  if (dueMs === undefined) throw new Error(`schedules job ${job.id} was not made by a job scheduler`);
  return new Date(Number(dueMs));
}

/**
 * An interval schedule first fires one interval after it is added, as a cron schedule fires at its
 * next slot: adding a schedule never starts a crawl by itself. Updating one with the same interval
 * keeps its slot (BullMQ ignores startDate then).
 */
function repeatOptions(cadence: Cadence, nowMs: number): Omit<RepeatOptions, 'key'> {
  return cadence.kind === 'every' ? { every: cadence.ms, startDate: nowMs + cadence.ms } : { pattern: cadence.pattern, tz: CRON_TIME_ZONE };
}

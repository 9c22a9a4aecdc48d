import { Queue, type JobsOptions } from 'bullmq';
import type { RedisConnection } from './connection.js';
import { PAGES_QUEUE, pageJobId } from './names.js';
import type { PageJobData } from './payloads.js';

export type PagesQueue = Queue<PageJobData>;

export interface PagesQueueOptions {
  prefix: string;
  attempts: number;
}

/** Named so BullMQ calls our own strategy (see worker.ts), which knows the plan's pace. */
export const BACKOFF_TYPE = 'crawlora';

export function createPagesQueue(connection: RedisConnection, options: PagesQueueOptions): PagesQueue {
  const defaultJobOptions: JobsOptions = {
    attempts: options.attempts,
    backoff: { type: BACKOFF_TYPE },
    // Bounded history: a long archive must not grow Redis without end. Postgres keeps the record.
    removeOnComplete: { count: 1_000, age: 24 * 3600 },
    removeOnFail: { count: 10_000, age: 14 * 24 * 3600 },
  };
  return new Queue<PageJobData>(PAGES_QUEUE, { connection, prefix: options.prefix, defaultJobOptions });
}

/** Idempotent: the job id is derived from run, generation and page, so adding it twice adds it once. */
export async function enqueuePage(queue: PagesQueue, data: PageJobData): Promise<void> {
  await queue.add(PAGE_JOB_NAME, data, jobOptions(data));
}

/** `delayMs`: the jobs wait that long before a worker may take them. */
/** The job of a run's first page. */
export function firstPageJob(run: { id: number; hashtagId: string; generation: number }, priority: number | undefined): PageJobData {
  return {
    runId: run.id,
    hashtagId: run.hashtagId,
    pageNumber: 0,
    cursor: '0',
    emptyStreak: 0,
    staleStreak: 0,
    generation: run.generation,
    ...(priority === undefined ? {} : { priority }),
  };
}

export async function enqueuePages(queue: PagesQueue, pages: PageJobData[], delayMs = 0): Promise<void> {
  await queue.addBulk(pages.map((data) => ({ name: PAGE_JOB_NAME, data, opts: { ...jobOptions(data), ...(delayMs > 0 ? { delay: delayMs } : {}) } })));
}

const PAGE_JOB_NAME = 'page';

function jobOptions(data: PageJobData): JobsOptions {
  return {
    jobId: pageJobId(data.runId, data.generation, data.pageNumber),
    ...(data.priority === undefined ? {} : { priority: data.priority }),
  };
}

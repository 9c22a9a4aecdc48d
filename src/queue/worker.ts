import { Worker } from 'bullmq';
import type { RedisConnection } from './connection.js';
import { backoffDelayMs } from './backoff.js';
import { PAGES_QUEUE } from './names.js';
import { processPageJob, type PageJobDeps, type PageJobOutcome } from './page-job.js';
import { BACKOFF_TYPE } from './pages-queue.js';
import type { PageJobData } from './payloads.js';

export interface PageWorkerOptions {
  prefix: string;
  concurrency: number;
  backoffCapMs: number;
  /** How long a job stays locked to a worker that stopped renewing it (crashed) before another takes it. */
  jobLockMs: number;
}

export type PageWorker = Worker<PageJobData, PageJobOutcome>;

/**
 * A BullMQ worker running page jobs. Crashed workers' jobs come back through BullMQ's stall
 * check; the page job's own idempotence makes that safe, so stalls may repeat many times.
 */
export function createPageWorker(connection: RedisConnection, deps: PageJobDeps, options: PageWorkerOptions): PageWorker {
  const worker = new Worker<PageJobData, PageJobOutcome>(PAGES_QUEUE, (job, token) => processPageJob(job, token, deps), {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    autorun: false,
    lockDuration: options.jobLockMs,
    stalledInterval: Math.max(1_000, Math.floor(options.jobLockMs / 2)),
    maxStalledCount: 20,
    settings: {
      backoffStrategy: (attemptsMade, type) =>
        type === BACKOFF_TYPE
          ? backoffDelayMs(attemptsMade, { ratePerMin: deps.settings().ratePerMin, capMs: options.backoffCapMs })
          : 0,
    },
  });
  const log = deps.logger.child({ component: 'worker' });
  worker.on('failed', (job, err) => {
    if (job) log.warn({ jobId: job.id, attemptsMade: job.attemptsMade, err: { message: err.message } }, 'page job failed');
  });
  worker.on('error', (err) => log.error({ err: { message: err.message } }, 'worker error'));
  return worker;
}

import type { Db } from '../db/client.js';
import { createRuns, type NewRun } from '../db/runs.js';
import type { CrawlRun } from '../db/schema.js';
import { enqueuePages, firstPageJob, type PagesQueue } from './pages-queue.js';

export type CrawlOptions = Omit<NewRun, 'hashtagId'> & {
  /** BullMQ priority of every page of these runs: 1 goes first; none at all goes before any prioritized job. */
  priority?: number;
};

export interface CrawlRequest extends CrawlOptions {
  hashtagIds: string[];
}

/** Rows per INSERT and jobs per addBulk: far below Postgres's 65,534 parameters, and Redis round trips stay short. */
const CHUNK = 1_000;

/** A run per hashtag, and each run's first page on the queue; the workers do the rest. */
export async function startCrawl(db: Db, queue: PagesQueue, request: CrawlRequest): Promise<CrawlRun[]> {
  const { hashtagIds, priority, ...options } = request;
  const all: CrawlRun[] = [];
  for (let start = 0; start < hashtagIds.length; start += CHUNK) {
    const runs = await createRuns(db, hashtagIds.slice(start, start + CHUNK).map((hashtagId) => ({ ...options, hashtagId })));
    await enqueuePages(queue, runs.map((run) => firstPageJob(run, priority)));
    all.push(...runs);
  }
  return all;
}

import type { Db } from '../db/client.js';
import { createRuns } from '../db/runs.js';
import type { CrawlRun } from '../db/schema.js';
import { enqueuePages, type PagesQueue } from './pages-queue.js';

export interface CrawlRequest {
  hashtagIds: string[];
  maxPages: number | null;
  maxItems: number | null;
}

/** A run per hashtag, and each run's first page on the queue; the workers do the rest. */
export async function startCrawl(db: Db, queue: PagesQueue, request: CrawlRequest): Promise<CrawlRun[]> {
  const runs = await createRuns(
    db,
    request.hashtagIds.map((hashtagId) => ({ hashtagId, maxPages: request.maxPages, maxItems: request.maxItems })),
  );
  await enqueuePages(
    queue,
    runs.map((run) => ({ runId: run.id, hashtagId: run.hashtagId, pageNumber: 0, cursor: '0', emptyStreak: 0, generation: run.generation })),
  );
  return runs;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/db/client.js';
import { FINISHED_STATUSES, getRuns } from '../../src/db/runs.js';
import { hashtagVideos, type CrawlRun } from '../../src/db/schema.js';
import { startCrawl, type CrawlOptions } from '../../src/queue/start-crawl.js';
import type { SimulatorHandle } from '../../src/sim/server.js';

/** Polls Postgres until every run has ended (completed, failed, cancelled); fails the test after `timeoutMs`. */
export async function waitForRuns(db: Db, runIds: number[], timeoutMs = 45_000): Promise<CrawlRun[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await getRuns(db, runIds);
    if (runs.length === runIds.length && runs.every((run) => FINISHED_STATUSES.includes(run.status))) return runs;
    if (Date.now() > deadline) {
      throw new Error(`runs still live after ${timeoutMs} ms: ${JSON.stringify(runs.map((r) => [r.id, r.status, r.pages, r.lastError]))}`);
    }
    await sleep(50);
  }
}

/** Polls one run until `until` holds, returning it then; after `timeoutMs` returns the run as it last was. */
export async function pollRun(db: Db, runId: number, until: (run: CrawlRun) => boolean, timeoutMs = 10_000): Promise<CrawlRun | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [run] = await getRuns(db, [runId]);
    if ((run && until(run)) || Date.now() > deadline) return run;
    await sleep(10);
  }
}

/** Most tests crawl and then look at the finished runs: starts the runs (no page or item limit unless given) and waits for them. */
export async function crawlAndWait(app: Pick<App, 'database' | 'queue'>, hashtagIds: string[], options: Partial<CrawlOptions> = {}): Promise<CrawlRun[]> {
  const runs = await startCrawl(app.database.db, app.queue, { hashtagIds, maxPages: null, maxItems: null, ...options });
  return waitForRuns(app.database.db, runs.map((run) => run.id));
}

/** The video ids archived under a hashtag, sorted, to compare with what the simulator served. */
export async function archivedIds(db: Db, hashtagId: string): Promise<string[]> {
  const rows = await db.select({ id: hashtagVideos.videoId }).from(hashtagVideos).where(eq(hashtagVideos.hashtagId, hashtagId));
  return rows.map((row) => row.id).sort();
}

/** The page requests the simulator saw for one hashtag since its last reset, oldest first. */
export function requestsFor(sim: Pick<SimulatorHandle, 'stats'>, hashtagId: string) {
  return sim.stats().pageRequests.filter((request) => request.hashtagId === hashtagId);
}

import { desc, eq, type SQL } from 'drizzle-orm';
import type { Coverage } from '../coverage/coverage.js';
import type { Db } from '../db/client.js';
import { coverageOfLatestRuns } from '../db/coverage.js';
import { crawlRuns, hashtags, type CrawlRun, type RunStatus } from '../db/schema.js';
import { runPace, type RunPace } from './run-pace.js';

/**
 * A run as the dashboard and the API show it: its row, the hashtag's name when resolved, its pace,
 * and — on the newest run of its hashtag in the list — the hashtag's coverage.
 */
export type RunView = CrawlRun & RunPace & { hashtagName: string | null; coverage: Coverage | null };

export async function latestRuns(db: Db, filter: { limit: number; status?: RunStatus | undefined }, nowMs = Date.now()): Promise<RunView[]> {
  return selectRuns(db, filter.status === undefined ? undefined : eq(crawlRuns.status, filter.status), filter.limit, nowMs);
}

export async function runView(db: Db, runId: number, nowMs = Date.now()): Promise<RunView | undefined> {
  const [run] = await selectRuns(db, eq(crawlRuns.id, runId), 1, nowMs);
  return run;
}

async function selectRuns(db: Db, where: SQL | undefined, limit: number, nowMs: number): Promise<RunView[]> {
  const rows = await db
    .select({ run: crawlRuns, hashtagName: hashtags.name })
    .from(crawlRuns)
    .leftJoin(hashtags, eq(hashtags.id, crawlRuns.hashtagId))
    .where(where)
    .orderBy(desc(crawlRuns.id))
    .limit(limit);
  const coverage = await coverageOfLatestRuns(db, rows.map(({ run }) => run));
  return rows.map(({ run, hashtagName }) => ({ ...run, hashtagName, ...runPace(run, nowMs), coverage: coverage.get(run.id) ?? null }));
}

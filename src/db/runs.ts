import { and, desc, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { firstMissingPage } from './pages.js';
import { crawlPages, crawlRuns, type CrawlRun, type RunStatus } from './schema.js';

export const FINISHED_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];
/** The states `resume` takes a run from. */
export const REOPENABLE_STATUSES: readonly RunStatus[] = ['failed', 'paused', 'cancelled'];

export type NewRun = Pick<
  typeof crawlRuns.$inferInsert,
  'hashtagId' | 'maxPages' | 'maxItems' | 'mode' | 'since' | 'stalePagesLimit' | 'budgetCredits' | 'trigger' | 'passes' | 'minNewRatio'
>;

/** Runs with `passes` are the first pass of their series: numbered 1, their own id as pass_group. */
export async function createRuns(db: Db, runs: NewRun[]): Promise<CrawlRun[]> {
  if (runs.length === 0) return [];
  if (runs.every((run) => run.passes == null)) return db.insert(crawlRuns).values(runs).returning();
  return db.transaction(async (tx) => {
    const created = await tx
      .insert(crawlRuns)
      .values(runs.map((run) => (run.passes == null ? run : { ...run, passNumber: 1 })))
      .returning();
    const firstPasses = created.filter((run) => run.passNumber === 1).map((run) => run.id);
    const grouped = await tx.update(crawlRuns).set({ passGroup: sql`${crawlRuns.id}` }).where(inArray(crawlRuns.id, firstPasses)).returning();
    const byId = new Map(grouped.map((run) => [run.id, run]));
    return created.map((run) => byId.get(run.id) ?? run);
  });
}

export async function getRun(db: Db, runId: number): Promise<CrawlRun | undefined> {
  const [run] = await db.select().from(crawlRuns).where(eq(crawlRuns.id, runId)).limit(1);
  return run;
}

export async function getRuns(db: Db, runIds: number[]): Promise<CrawlRun[]> {
  if (runIds.length === 0) return [];
  return db.select().from(crawlRuns).where(inArray(crawlRuns.id, runIds)).orderBy(crawlRuns.id);
}

/** These runs and every other pass of their `--passes` series, oldest first. */
export async function runsOfSeries(db: Db, runIds: number[]): Promise<CrawlRun[]> {
  if (runIds.length === 0) return [];
  const groups = db.select({ group: crawlRuns.passGroup }).from(crawlRuns).where(and(inArray(crawlRuns.id, runIds), isNotNull(crawlRuns.passGroup)));
  return db
    .select()
    .from(crawlRuns)
    .where(or(inArray(crawlRuns.id, runIds), inArray(crawlRuns.passGroup, groups)))
    .orderBy(crawlRuns.id);
}

export async function listRuns(db: Db, limit: number): Promise<CrawlRun[]> {
  return db.select().from(crawlRuns).orderBy(desc(crawlRuns.id)).limit(limit);
}

/** queued → running, once; a run in any other state is left alone. */
export async function markRunning(db: Db, runId: number): Promise<void> {
  await db
    .update(crawlRuns)
    .set({ status: 'running', startedAt: sql`coalesce(${crawlRuns.startedAt}, now())` })
    .where(and(eq(crawlRuns.id, runId), eq(crawlRuns.status, 'queued')));
}

/** Ends a live run as failed, keeping everything it committed so `resume` can go on from there. */
export async function failRun(db: Db, runId: number, error: string): Promise<void> {
  await db
    .update(crawlRuns)
    .set({ status: 'failed', lastError: error, finishedAt: sql`now()` })
    .where(and(eq(crawlRuns.id, runId), inArray(crawlRuns.status, ['queued', 'running'])));
}

/** Records a failure that will be retried, so `runs` shows why a run is slow. */
export async function noteError(db: Db, runId: number, error: string): Promise<void> {
  await db.update(crawlRuns).set({ lastError: error }).where(eq(crawlRuns.id, runId));
}

export interface ResumePoint {
  kind: 'resumed';
  run: CrawlRun;
  pageNumber: number;
  cursor: string;
  emptyStreak: number;
  staleStreak: number;
}

/** A reopened run: it goes on from a page, or every page it needed was already in and it completed. */
export type Reopened = ResumePoint | { kind: 'completed'; run: CrawlRun };

export interface ReopenChanges {
  /** A new --budget-credits for the run. */
  budgetCredits?: number;
}

/**
 * Reopens a failed, paused or cancelled run under a new generation (older jobs of the run become
 * stale) and says where to go on: the first page not committed yet (pages committed past it are
 * skipped when the chain reaches them). A run whose stopping page and every page before it are in
 * (its last page committed while it was paused) has nothing left to fetch: it completes instead.
 * Null when the run is in none of those states.
 */
export async function reopenRun(db: Db, runId: number, changes: ReopenChanges = {}): Promise<Reopened | null> {
  return db.transaction(async (tx) => {
    const [last] = await tx
      .select()
      .from(crawlPages)
      .where(and(eq(crawlPages.runId, runId), eq(crawlPages.pageNumber, sql`${firstMissingPage(sql`${runId}::int`)} - 1`)))
      .limit(1);
    const reopenable = and(eq(crawlRuns.id, runId), inArray(crawlRuns.status, [...REOPENABLE_STATUSES]));
    if (last && last.nextCursor === null) {
      const [run] = await tx
        .update(crawlRuns)
        .set({ status: 'completed', stopReason: last.stopReason, lastError: null, finishedAt: sql`now()`, ...changes })
        .where(reopenable)
        .returning();
      return run ? { kind: 'completed' as const, run } : null;
    }
    const [run] = await tx
      .update(crawlRuns)
      .set({
        status: 'queued',
        generation: sql`${crawlRuns.generation} + 1`,
        lastError: null,
        stopReason: null,
        finishedAt: null,
        ...changes,
      })
      .where(reopenable)
      .returning();
    if (!run) return null;
    return {
      kind: 'resumed' as const,
      run,
      pageNumber: last ? last.pageNumber + 1 : 0,
      cursor: last?.nextCursor ?? '0',
      emptyStreak: last?.emptyStreak ?? 0,
      staleStreak: last?.staleStreak ?? 0,
    };
  });
}

/** Why a run is paused; the cap reasons lift by themselves when the cap resets. */
export type PauseReason = 'user' | 'budget' | 'daily-cap' | 'monthly-credits';
export const SELF_RESUMING_PAUSES: readonly PauseReason[] = ['daily-cap', 'monthly-credits'];

/** Pauses a live run; its chain stops at the next page job. Returns false when the run was not live. */
export async function pauseRun(db: Db, runId: number, reason: PauseReason, message: string | null = null): Promise<boolean> {
  const paused = await db
    .update(crawlRuns)
    .set({ status: 'paused', stopReason: reason, lastError: message })
    .where(and(eq(crawlRuns.id, runId), inArray(crawlRuns.status, ['queued', 'running'])))
    .returning({ id: crawlRuns.id });
  return paused.length > 0;
}

/** Ends a run for good (it can still be resumed explicitly). Returns false when it had already ended. */
export async function cancelRun(db: Db, runId: number): Promise<boolean> {
  const cancelled = await db
    .update(crawlRuns)
    .set({ status: 'cancelled', finishedAt: sql`now()`, stopReason: 'cancelled' })
    .where(and(eq(crawlRuns.id, runId), inArray(crawlRuns.status, ['queued', 'running', 'paused'])))
    .returning({ id: crawlRuns.id });
  return cancelled.length > 0;
}

/** A run paused on a credit cap goes on once its delayed page job comes due after the reset. */
export async function resumeAfterCap(db: Db, runId: number): Promise<void> {
  await db
    .update(crawlRuns)
    .set({ status: 'running', stopReason: null, lastError: null })
    .where(and(eq(crawlRuns.id, runId), eq(crawlRuns.status, 'paused'), inArray(crawlRuns.stopReason, [...SELF_RESUMING_PAUSES])));
}

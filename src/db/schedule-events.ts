import { and, desc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { FiringDecision, UnfinishedRun } from '../schedules/firing.js';
import type { Db } from './client.js';
import { FINISHED_STATUSES } from './runs.js';
import { crawlRuns, scheduleEvents, type CrawlRun } from './schema.js';

export type ScheduleEvent = typeof scheduleEvents.$inferSelect;

export interface Firing {
  hashtagId: string;
  /** When the firing was due; the same on every retry of it. */
  dueAt: Date;
}

export interface FiringRecord {
  event: ScheduleEvent;
  /** True when an earlier attempt of this same firing had already recorded it. */
  replayed: boolean;
}

/**
 * Decides and records one firing while holding a lock on the hashtag, so two scheduler workers
 * firing for one hashtag at once cannot both see "nothing unfinished" and both start a run.
 * `start` runs under the lock but commits on its own (startCrawl enqueues the first page, and a
 * page job must find its run committed), so whoever takes the lock next sees the run.
 * A retried firing (its job stalled after the commit) finds its event and records nothing twice.
 */
export async function recordFiring(
  db: Db,
  firing: Firing,
  decide: (unfinishedRuns: UnfinishedRun[]) => FiringDecision,
  start: () => Promise<CrawlRun>,
): Promise<FiringRecord> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${firing.hashtagId}))`);
    const [earlier] = await tx
      .select()
      .from(scheduleEvents)
      .where(and(eq(scheduleEvents.hashtagId, firing.hashtagId), eq(scheduleEvents.firedAt, firing.dueAt)))
      .limit(1);
    if (earlier) return { event: earlier, replayed: true };

    const unfinishedRuns = await tx
      .select({ id: crawlRuns.id, status: crawlRuns.status, stopReason: crawlRuns.stopReason })
      .from(crawlRuns)
      .where(and(eq(crawlRuns.hashtagId, firing.hashtagId), notInArray(crawlRuns.status, [...FINISHED_STATUSES])))
      .orderBy(crawlRuns.id);
    const decision = decide(unfinishedRuns);
    const run = decision.kind === 'start' ? await start() : null;
    const [event] = await tx
      .insert(scheduleEvents)
      .values({
        hashtagId: firing.hashtagId,
        firedAt: firing.dueAt,
        outcome: run ? 'started' : 'skipped',
        runId: run?.id ?? null,
        reason: decision.kind === 'skip' ? decision.reason : null,
      })
      .returning();
    return { event: event!, replayed: false };
  });
}

export interface ScheduleHistory {
  lastFiring: ScheduleEvent | null;
  /** The newest run a firing started, as it is now. */
  lastRun: CrawlRun | null;
}

/** Per hashtag, what its schedule did last; hashtags never fired map to nulls. */
export async function scheduleHistories(db: Db, hashtagIds: string[]): Promise<Map<string, ScheduleHistory>> {
  const histories = new Map<string, ScheduleHistory>(hashtagIds.map((id) => [id, { lastFiring: null, lastRun: null }]));
  if (hashtagIds.length === 0) return histories;
  const newestFirst = [scheduleEvents.hashtagId, desc(scheduleEvents.firedAt), desc(scheduleEvents.id)] as const;
  const lastFirings = await db
    .selectDistinctOn([scheduleEvents.hashtagId])
    .from(scheduleEvents)
    .where(inArray(scheduleEvents.hashtagId, hashtagIds))
    .orderBy(...newestFirst);
  const lastStarts = await db
    .selectDistinctOn([scheduleEvents.hashtagId], { hashtagId: scheduleEvents.hashtagId, run: crawlRuns })
    .from(scheduleEvents)
    .innerJoin(crawlRuns, eq(crawlRuns.id, scheduleEvents.runId))
    .where(and(inArray(scheduleEvents.hashtagId, hashtagIds), eq(scheduleEvents.outcome, 'started')))
    .orderBy(...newestFirst);
  for (const event of lastFirings) histories.get(event.hashtagId)!.lastFiring = event;
  for (const start of lastStarts) histories.get(start.hashtagId)!.lastRun = start.run;
  return histories;
}


import { sql } from 'drizzle-orm';
import type { RedisConnection } from './connection.js';
import type { Db } from '../db/client.js';
import { firstMissingPage } from '../db/pages.js';
import { failRun, SELF_RESUMING_PAUSES } from '../db/runs.js';
import type { Logger } from '../logger.js';
import type { ScheduleMemory } from '../schedules/schedule-memory.js';
import { pageJobId } from './names.js';
import { enqueuePages, type PagesQueue } from './pages-queue.js';
import type { PageJobData } from './payloads.js';
import { WORKER_SILENT_MS } from './worker-liveness.js';

type LiveRunHead = {
  id: number;
  hashtag_id: string;
  generation: number;
  page_number: number | null;
  next_cursor: string | null;
  empty_streak: number | null;
  stale_streak: number | null;
};

export interface ReconcileReport {
  checked: number;
  requeued: number;
  failed: number;
}

const BATCH = 200;

/**
 * Makes sure every live run, and every run paused on a credit cap (it waits in a delayed job),
 * has its next page job. Normally it does: a chain re-adds itself, and a crashed worker's job
 * comes back through BullMQ's stall check. This covers what those cannot: a job lost with a
 * Redis that died before its AOF reached the disk or lost everything, a delayed job removed by
 * hand, or a job that failed for good while Postgres was down, so its run could not be marked
 * failed. Re-adding is safe: job ids are deterministic, so an existing job is left alone. A
 * cap-paused run's job re-added now finds the cap still reached (the counters are seeded from
 * the ledger) and waits for the reset again, or goes on when the reset has passed.
 */
export async function reconcileRuns(db: Db, queue: PagesQueue, requeueDelayMs = 0): Promise<ReconcileReport> {
  const heads = (
    await db.execute<LiveRunHead>(sql`
      SELECT r.id, r.hashtag_id, r.generation, p.page_number, p.next_cursor, p.empty_streak, p.stale_streak
      FROM crawl_runs r
      LEFT JOIN LATERAL (
        SELECT page_number, next_cursor, empty_streak, stale_streak FROM crawl_pages
        WHERE run_id = r.id AND page_number = ${firstMissingPage(sql`r.id`)} - 1
      ) p ON true
      WHERE r.status IN ('queued', 'running')
        OR (r.status = 'paused' AND r.stop_reason IN (${sql.join(SELF_RESUMING_PAUSES.map((reason) => sql`${reason}`), sql`, `)}))`)
  ).rows;
  const report: ReconcileReport = { checked: heads.length, requeued: 0, failed: 0 };
  for (let start = 0; start < heads.length; start += BATCH) {
    const missing: PageJobData[] = [];
    await Promise.all(
      heads.slice(start, start + BATCH).map(async (head) => {
        if (head.page_number !== null && head.next_cursor === null) return;
        const next = nextPageJob(head);
        const state = await queue.getJobState(pageJobId(next.runId, next.generation, next.pageNumber));
        if (state === 'unknown') missing.push(next);
        if (state === 'failed') {
          const job = await queue.getJob(pageJobId(next.runId, next.generation, next.pageNumber));
          await failRun(db, head.id, job?.failedReason ?? 'its page job failed');
          report.failed += 1;
        }
      }),
    );
    if (missing.length > 0) await enqueuePages(queue, missing, requeueDelayMs);
    report.requeued += missing.length;
  }
  return report;
}

function nextPageJob(head: LiveRunHead): PageJobData {
  return {
    runId: head.id,
    hashtagId: head.hashtag_id,
    generation: head.generation,
    pageNumber: head.page_number === null ? 0 : head.page_number + 1,
    cursor: head.next_cursor ?? '0',
    emptyStreak: head.empty_streak ?? 0,
    staleStreak: head.stale_streak ?? 0,
  };
}

/** What one reconcile did, for tests and operators. */
export interface ReconcileTick extends ReconcileReport {
  /** false: another process (or this one's last tick) holds this interval's lock; nothing was checked here. */
  reconciled: boolean;
  /** Redis had lost its data since the last reconcile. */
  dataLost: boolean;
  /** 'period': the interval; 'rejoin': a worker found itself missing from the live set (worker-liveness.ts). */
  trigger: 'period' | 'rejoin';
}

export interface ReconcilerOptions {
  everyMs: number;
  /** What else Redis alone held, re-created after a loss (the schedules). */
  schedules: ScheduleMemory;
  onTick?: (tick: ReconcileTick) => void;
}

export interface Reconciler {
  /** Reconciles now rather than at the next interval (the lock still lets one process of the fleet do it). */
  now(): void;
  stop(): void;
}

/**
 * Runs `reconcileRuns` every `everyMs` in this process, and whenever `now()` is called; a Redis
 * lock lets one process of the fleet do it per interval.
 *
 * A marker key, set by the first reconcile and never expiring, tells whether Redis lost its data
 * (FLUSHALL, a replacement without persistence) since the last one. Then every job is gone,
 * including those of pages whose request is still in flight in some worker: their job id is free
 * again, and so is their claim (paid-answers.ts), so a job re-added at once would buy the page a
 * second time. Each live worker writes its claims again at its first beat after the loss (and
 * calls `now()`, so the loss is noticed within a beat, not an interval); a worker that has not
 * beaten within WORKER_SILENT_MS is dead and its claims would be taken over anyway. So the
 * missing jobs are re-added delayed by WORKER_SILENT_MS: when they run, a page still in flight is
 * claimed, and one that landed meanwhile is found committed and only chained. The schedules this
 * process last saw are upserted again.
 */
export function scheduleReconciler(redis: RedisConnection, keyPrefix: string, db: Db, queue: PagesQueue, options: ReconcilerOptions, logger: Logger): Reconciler {
  const lockKey = `${keyPrefix}:reconcile-lock`;
  const intactKey = `${keyPrefix}:redis-intact`;
  const tick = async (trigger: ReconcileTick['trigger']) => {
    if ((await redis.set(lockKey, String(process.pid), 'PX', options.everyMs, 'NX')) !== 'OK') {
      options.onTick?.({ checked: 0, requeued: 0, failed: 0, reconciled: false, dataLost: false, trigger });
      return options.schedules.remember();
    }
    const dataLost = (await redis.set(intactKey, '1', 'NX')) === 'OK';
    if (dataLost) {
      const restored = await options.schedules.restore();
      if (restored > 0) logger.warn({ restored }, 'Redis had lost its data; schedules re-created from what this worker last saw');
    }
    await options.schedules.remember();
    const report = await reconcileRuns(db, queue, dataLost ? WORKER_SILENT_MS : 0);
    options.onTick?.({ ...report, reconciled: true, dataLost, trigger });
    if (report.requeued > 0 || report.failed > 0) {
      const why = dataLost ? `Redis had lost its data; jobs re-added to run in ${WORKER_SILENT_MS} ms, once live workers have written their claims again` : 'reconciled runs that had lost their page job';
      logger.warn(report, why);
    }
  };
  const run = (trigger: ReconcileTick['trigger']) => void tick(trigger).catch((err: unknown) => logger.warn({ err }, 'reconcile failed; next interval retries'));
  const timer = setInterval(() => run('period'), options.everyMs);
  timer.unref();
  return {
    now: () => run('rejoin'),
    stop: () => clearInterval(timer),
  };
}
